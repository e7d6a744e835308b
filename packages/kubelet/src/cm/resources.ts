/**
 * Pod-level cgroup limits as kube's pod container manager sets them (pkg/kubelet/cm
 * helpers_linux.go ResourceConfigForPod): cpu.shares from the pod's cpu requests, the CFS quota
 * from its cpu limits when every container declares one, the memory limit as the sum of limits
 * when every container declares one; Guaranteed pods always get both, BestEffort pods the
 * minimum shares only.
 */
import type { Container, Pod } from "@skiff/api";
import { parseQuantity } from "@skiff/api";
import { containerResources, getPodQOS } from "./qos.js";

export const MIN_SHARES = 2;
export const MAX_SHARES = 262144;
export const SHARES_PER_CPU = 1024;
/** The CFS period kube uses unless --cpu-cfs-quota-period says otherwise (100 ms). */
export const QUOTA_PERIOD_US = 100000;
export const MIN_QUOTA_PERIOD_US = 1000;

/** MilliCPUToShares. */
export function milliCPUToShares(milliCPU: number): number {
  if (milliCPU === 0) return MIN_SHARES;
  const shares = Math.floor((milliCPU * SHARES_PER_CPU) / 1000);
  return Math.min(MAX_SHARES, Math.max(MIN_SHARES, shares));
}

/** MilliCPUToQuota: 0 means no quota. */
export function milliCPUToQuota(milliCPU: number, periodUs: number): number {
  if (milliCPU === 0) return 0;
  return Math.max(MIN_QUOTA_PERIOD_US, Math.floor((milliCPU * periodUs) / 1000));
}

export interface ResourceConfig {
  cpuShares?: number;
  /** CFS quota in µs per period; -1 for none. */
  cpuQuota?: number;
  cpuPeriod?: number;
  /** Memory limit in bytes. */
  memory?: number;
}

function isSidecar(c: Container): boolean {
  return (c as { restartPolicy?: string }).restartPolicy === "Always";
}

function add(into: Map<string, number>, from: Map<string, number>): void {
  for (const [k, v] of from) into.set(k, (into.get(k) ?? 0) + v);
}
function max(into: Map<string, number>, from: Map<string, number>): void {
  for (const [k, v] of from) into.set(k, Math.max(into.get(k) ?? 0, v));
}

/**
 * resource.PodRequests / PodLimits (component-helpers): the sum over regular containers, at
 * least the largest init container (sidecars started before it included), sidecars added to
 * the total; the overhead on top (on limits only where a limit exists).
 */
export function podResourceTotals(pod: Pod, which: "requests" | "limits"): Map<string, number> {
  const total = new Map<string, number>();
  for (const c of pod.spec?.containers ?? []) add(total, containerResources(c)[which]);
  const sidecars = new Map<string, number>();
  const initMax = new Map<string, number>();
  for (const c of pod.spec?.initContainers ?? []) {
    const own = containerResources(c)[which];
    if (isSidecar(c)) {
      add(total, own);
      add(sidecars, own);
      max(initMax, sidecars);
    } else {
      const withSidecars = new Map(own);
      add(withSidecars, sidecars);
      max(initMax, withSidecars);
    }
  }
  max(total, initMax);
  for (const [k, q] of Object.entries(pod.spec?.overhead ?? {})) {
    if (which === "limits" && !total.has(k)) continue;
    total.set(k, (total.get(k) ?? 0) + parseQuantity(String(q)));
  }
  return total;
}

/** ResourceConfigForPod with CFS quota enforced (the kubelet's default). */
export function resourceConfigForPod(pod: Pod): ResourceConfig {
  const requests = podResourceTotals(pod, "requests");
  const limits = podResourceTotals(pod, "limits");
  let cpuLimitsDeclared = true;
  let memoryLimitsDeclared = true;
  const declaring = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? []).filter(isSidecar)];
  for (const c of declaring) {
    const l = containerResources(c).limits;
    if (!(l.get("cpu") ?? 0)) cpuLimitsDeclared = false;
    if (!(l.get("memory") ?? 0)) memoryLimitsDeclared = false;
  }
  const milli = (v: number | undefined) => Math.round((v ?? 0) * 1000);
  const cpuShares = milliCPUToShares(milli(requests.get("cpu")));
  const cpuQuota = milliCPUToQuota(milli(limits.get("cpu")), QUOTA_PERIOD_US);
  const memory = Math.ceil(limits.get("memory") ?? 0);
  const qos = getPodQOS(pod);
  if (qos === "Guaranteed") return { cpuShares, cpuQuota, cpuPeriod: QUOTA_PERIOD_US, memory };
  if (qos === "Burstable") {
    const config: ResourceConfig = { cpuShares };
    if (cpuLimitsDeclared) {
      config.cpuQuota = cpuQuota;
      config.cpuPeriod = QUOTA_PERIOD_US;
    }
    if (memoryLimitsDeclared) config.memory = memory;
    return config;
  }
  return { cpuShares: MIN_SHARES };
}

/** The pod's cpu request in millicores (the burstable QoS cgroup's shares sum these). */
export function podCPURequestMilli(pod: Pod): number {
  return Math.round((podResourceTotals(pod, "requests").get("cpu") ?? 0) * 1000);
}
