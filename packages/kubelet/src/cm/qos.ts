/**
 * A pod's QoS class as kube's v1qos (pkg/apis/core/v1/helper/qos) computes it: BestEffort when
 * no container (init containers included) has a cpu or memory request or limit; Guaranteed when
 * every container has cpu and memory limits and the pod's summed requests equal its summed
 * limits; Burstable otherwise. Requests missing where a limit is set count as the limit, as the
 * API server's defaulting (SetDefaults_Pod) would have filled them.
 */
import type { Container, Pod } from "@skiff/api";
import { parseQuantity } from "@skiff/api";
import type { QOSClass } from "./cgroups.js";

/** The compute resources QoS looks at (isSupportedQoSComputeResource). */
const QOS_RESOURCES = ["cpu", "memory"] as const;

/** A container's requests and limits as numbers, requests defaulted from limits. */
export function containerResources(c: Container): {
  requests: Map<string, number>;
  limits: Map<string, number>;
} {
  const limits = new Map<string, number>();
  const requests = new Map<string, number>();
  for (const [name, q] of Object.entries(c.resources?.limits ?? {}))
    limits.set(name, parseQuantity(String(q)));
  for (const [name, q] of Object.entries(c.resources?.requests ?? {}))
    requests.set(name, parseQuantity(String(q)));
  for (const [name, v] of limits) if (!requests.has(name)) requests.set(name, v);
  return { requests, limits };
}

/** ComputePodQOS: the class from the spec alone. */
export function computePodQOS(pod: Pod): QOSClass {
  const requests = new Map<string, number>();
  const limits = new Map<string, number>();
  let isGuaranteed = true;
  // Ephemeral containers cannot declare resources and do not count, as upstream.
  const all = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])];
  for (const c of all) {
    const r = containerResources(c);
    for (const name of QOS_RESOURCES) {
      const req = r.requests.get(name);
      if (req !== undefined && req > 0) requests.set(name, (requests.get(name) ?? 0) + req);
    }
    const found = new Set<string>();
    for (const name of QOS_RESOURCES) {
      const lim = r.limits.get(name);
      if (lim !== undefined && lim > 0) {
        found.add(name);
        limits.set(name, (limits.get(name) ?? 0) + lim);
      }
    }
    if (!found.has("cpu") || !found.has("memory")) isGuaranteed = false;
  }
  if (requests.size === 0 && limits.size === 0) return "BestEffort";
  if (isGuaranteed)
    for (const [name, req] of requests)
      if (limits.get(name) !== req) {
        isGuaranteed = false;
        break;
      }
  return isGuaranteed && requests.size === limits.size ? "Guaranteed" : "Burstable";
}

/** GetPodQOS: status.qosClass once the kubelet recorded it (it never changes), else computed. */
export function getPodQOS(pod: Pod): QOSClass {
  const recorded = (pod.status as { qosClass?: unknown } | undefined)?.qosClass;
  if (recorded === "Guaranteed" || recorded === "Burstable" || recorded === "BestEffort") return recorded;
  return computePodQOS(pod);
}
