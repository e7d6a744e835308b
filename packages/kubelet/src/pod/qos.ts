/**
 * A pod's QoS class as kube's GetPodQOS (pkg/apis/core/v1/helper/qos) computes it from the
 * cpu and memory requests and limits of its containers (init containers included). The API
 * server writes status.qosClass at create; this serves pods that lack it (static pods, tests).
 */
import { type Container, type Pod, parseQuantity } from "@skiff/api";
import type { QOSClass } from "../cm/cgroups.js";

const COMPUTE = ["cpu", "memory"] as const;

export function getPodQOS(pod: Pod): QOSClass {
  const known = pod.status?.qosClass as QOSClass | undefined;
  if (known !== undefined) return known;
  const containers: Container[] = [...(pod.spec.initContainers ?? []), ...pod.spec.containers];
  const requests = new Map<string, number>();
  const limits = new Map<string, number>();
  let isGuaranteed = true;
  for (const c of containers) {
    for (const r of COMPUTE) {
      const req = c.resources?.requests?.[r];
      if (req !== undefined && parseQuantity(req) !== 0)
        requests.set(r, (requests.get(r) ?? 0) + parseQuantity(req));
      const lim = c.resources?.limits?.[r];
      if (lim !== undefined && parseQuantity(lim) !== 0)
        limits.set(r, (limits.get(r) ?? 0) + parseQuantity(lim));
    }
    // A container without both limits cannot make the pod Guaranteed.
    if (COMPUTE.some((r) => c.resources?.limits?.[r] === undefined)) isGuaranteed = false;
  }
  if (requests.size === 0 && limits.size === 0) return "BestEffort";
  if (isGuaranteed) {
    for (const r of COMPUTE) if (requests.has(r) && requests.get(r) !== limits.get(r)) isGuaranteed = false;
  }
  return isGuaranteed && limits.size === COMPUTE.length ? "Guaranteed" : "Burstable";
}
