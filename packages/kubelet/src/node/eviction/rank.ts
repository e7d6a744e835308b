/**
 * Which pod the eviction manager evicts first, and what it tells it (pkg/kubelet/eviction/
 * helpers.go): rankMemoryPressure orders by exceedMemoryRequests, then priority, then usage above
 * requests; rankDiskPressure the same with ephemeral-storage; evictionMessage words the reason.
 * Critical pods (kubelettypes.IsCriticalPod) are never evicted.
 */
import type { Container, Pod } from "@skiff/api";
import { parseQuantity } from "@skiff/api";
import { formatBytes } from "../machine.js";

/** kube's Reason for evicted pods (status.reason). */
export const evictedReason = "Evicted";
/** scheduling.SystemCriticalPriority. */
export const systemCriticalPriority = 2_000_000_000;

/** Memory working set per container name, bytes (the summary API's containers[].memory). */
export type ContainerUsage = Readonly<Record<string, number>>;

/** IsCriticalPod: a static pod, a mirror pod, or priority at or above system-critical. */
export function isCriticalPod(pod: Pod): boolean {
  const a = pod.metadata.annotations ?? {};
  const source = a["kubernetes.io/config.source"];
  if (source !== undefined && source !== "api") return true;
  if (a["kubernetes.io/config.mirror"] !== undefined) return true;
  return (pod.spec.priority ?? 0) >= systemCriticalPriority;
}

function request(c: Container, resource: string): number {
  const q = c.resources?.requests?.[resource];
  return q === undefined ? 0 : parseQuantity(q);
}

/** podRequest: the containers' sum, or the largest init container's if larger. */
export function podRequest(pod: Pod, resource: string): number {
  const sum = pod.spec.containers.reduce((s, c) => s + request(c, resource), 0);
  const init = Math.max(0, ...(pod.spec.initContainers ?? []).map((c) => request(c, resource)));
  return Math.max(sum, init);
}

/** A pod's usage of the resource being reclaimed; undefined: no stats. */
export type UsageOf = (pod: Pod) => number | undefined;

/** cmpBool: true sorts before false. */
function cmpBool(a: boolean, b: boolean): number {
  return a === b ? 0 : a ? -1 : 1;
}

/**
 * orderedBy(exceedRequests, priority, usageAboveRequests): pods without stats first, then those
 * using more than they request, then lower priority, then larger usage above the request.
 */
export function rankByResource(pods: readonly Pod[], usage: UsageOf, resource: string): Pod[] {
  const stats = new Map(pods.map((p) => [p, usage(p)]));
  const cmp = (p1: Pod, p2: Pod): number => {
    const u1 = stats.get(p1);
    const u2 = stats.get(p2);
    if (u1 === undefined || u2 === undefined) return cmpBool(u1 === undefined, u2 === undefined);
    const r1 = podRequest(p1, resource);
    const r2 = podRequest(p2, resource);
    const exceed = cmpBool(u1 > r1, u2 > r2);
    if (exceed !== 0) return exceed;
    const prio = (p1.spec.priority ?? 0) - (p2.spec.priority ?? 0);
    if (prio !== 0) return Math.sign(prio);
    return Math.sign(u2 - r2 - (u1 - r1));
  };
  return [...pods].sort(cmp);
}

/** rankPIDPressure: by priority only (no per-pod usage here). */
export function rankByPriority(pods: readonly Pod[]): Pod[] {
  return [...pods].sort((a, b) => (a.spec.priority ?? 0) - (b.spec.priority ?? 0));
}

/**
 * evictionMessage: "The node was low on resource: memory. Threshold quantity: 100Mi, available:
 * 50Mi. Container c was using 200Mi, request is 0, has larger consumption of memory. ", with
 * kube's trailing spaces, one container sentence per container using more than it requests.
 */
export function evictionMessage(
  resource: string,
  pod: Pod,
  threshold: { quantity: string; available: string } | undefined,
  containerUsage: ContainerUsage | undefined,
): string {
  let message = `The node was low on resource: ${resource}. `;
  if (threshold !== undefined)
    message += `Threshold quantity: ${threshold.quantity}, available: ${threshold.available}. `;
  if (containerUsage === undefined) return message;
  for (const c of pod.spec.containers) {
    const used = containerUsage[c.name];
    if (used === undefined) continue;
    const req = c.resources?.requests?.[resource];
    if (used > (req === undefined ? 0 : parseQuantity(req)))
      message += `Container ${c.name} was using ${formatBytes(used)}, request is ${req ?? "0"}, has larger consumption of ${resource}. `;
  }
  return message;
}

/** GetPodQOS's BestEffort: no container requests or limits cpu or memory. */
export function isBestEffort(pod: Pod): boolean {
  const all = [...pod.spec.containers, ...(pod.spec.initContainers ?? [])];
  return all.every((c) => {
    const r = { ...c.resources?.requests, ...c.resources?.limits };
    return r.cpu === undefined && r.memory === undefined;
  });
}
