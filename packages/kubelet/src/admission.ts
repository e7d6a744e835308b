/**
 * The kubelet's own pod admission (lifecycle.PredicateAdmitHandler with GeneralPredicates): a pod
 * bound to this node that does not fit its allocatable resources or its pod count, or that the
 * eviction or shutdown manager refuses, is not started: it becomes Failed with kube's reason
 * (OutOfcpu, OutOfmemory, OutOfpods, Evicted, NodeShutdown) and message.
 */
import { type Pod, parseQuantity } from "@skiff/api";
import type { KubeletPodStatus } from "./api-types.js";

export interface Rejection {
  reason: string;
  message: string;
  status: KubeletPodStatus;
}

/** The pod's effective requests: max(sum of containers, each init container) (kube's PodRequests). */
export function podRequests(pod: Pod): Record<string, number> {
  const sum: Record<string, number> = {};
  for (const c of pod.spec.containers ?? [])
    for (const [k, v] of Object.entries(c.resources?.requests ?? {}))
      sum[k] = (sum[k] ?? 0) + parseQuantity(v);
  for (const c of pod.spec.initContainers ?? [])
    for (const [k, v] of Object.entries(c.resources?.requests ?? {}))
      sum[k] = Math.max(sum[k] ?? 0, parseQuantity(v));
  for (const [k, v] of Object.entries(pod.spec.overhead ?? {})) sum[k] = (sum[k] ?? 0) + parseQuantity(v);
  return sum;
}

function rejection(pod: Pod, reason: string, message: string): Rejection {
  return {
    reason,
    message,
    status: {
      phase: "Failed",
      reason,
      message,
      conditions: [...(pod.status?.conditions ?? [])],
      ...(pod.status?.startTime === undefined ? {} : { startTime: pod.status.startTime }),
    },
  };
}

const show = (resource: string, n: number) => (resource === "cpu" ? Math.round(n * 1000) : Math.round(n));

export function admitPod(
  pod: Pod,
  active: readonly Pod[],
  o: { allocatable: Record<string, string>; maxPods: number; extra?: { reason: string; message: string } },
): Rejection | undefined {
  if (o.extra !== undefined) return rejection(pod, o.extra.reason, o.extra.message);
  const others = active.filter((p) => p.metadata.uid !== pod.metadata.uid);
  if (others.length + 1 > o.maxPods)
    return rejection(
      pod,
      "OutOfpods",
      `Pod was rejected: Node didn't have enough resource: pods, requested: 1, used: ${others.length}, capacity: ${o.maxPods}`,
    );
  const want = podRequests(pod);
  const used: Record<string, number> = {};
  for (const p of others) for (const [k, v] of Object.entries(podRequests(p))) used[k] = (used[k] ?? 0) + v;
  for (const [resource, requested] of Object.entries(want)) {
    const cap = o.allocatable[resource];
    if (cap === undefined || requested === 0) continue;
    const capacity = parseQuantity(cap);
    if ((used[resource] ?? 0) + requested > capacity)
      return rejection(
        pod,
        `OutOf${resource}`,
        `Pod was rejected: Node didn't have enough resource: ${resource}, requested: ${show(resource, requested)}, used: ${show(resource, used[resource] ?? 0)}, capacity: ${show(resource, capacity)}`,
      );
  }
  return undefined;
}
