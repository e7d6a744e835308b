/**
 * What one object counts against a ResourceQuota, as kube's quota evaluators say
 * (k8s.io/kubernetes/pkg/quota/v1/evaluator/core and apiserver/pkg/quota/v1/generic):
 * - every kind: `count/<resource>[.<group>]` (Events are ignored, as kube's admission ignores them);
 *   the legacy names pods, services, configmaps, secrets, resourcequotas, ... as well;
 * - pods: `count/pods` always; `pods` and compute resources (cpu, memory, ephemeral-storage as
 *   requests.*, and limits.*; hugepages-*, extended requests.*) only while the pod is not
 *   terminal (Succeeded/Failed) nor past its deletion grace period (kube's QuotaV1Pod); requests
 *   and limits as kube's PodRequests/PodLimits (init containers and sidecars, overhead);
 * - services: `services.nodeports` (one per port of a NodePort or LoadBalancer service) and
 *   `services.loadbalancers`.
 * Scopes (spec.scopes and spec.scopeSelector) match pods only, as kube's: Terminating,
 * NotTerminating (activeDeadlineSeconds), BestEffort, NotBestEffort (QoS), PriorityClass
 * (In/NotIn/Exists/DoesNotExist on spec.priorityClassName) and CrossNamespacePodAffinity; a
 * quota with a scope tracks no other kind.
 * One module for both users, as kube's evaluators serve both: the API server's ResourceQuota
 * admission (charging at create, and a new quota's first usage) and the controller manager's
 * resource quota controller (recalculating status.used), each through calculateUsage.
 */
import type { KindDef } from "./kind.js";
import type { KubeObject } from "./meta.js";
import { formatQuantity, parseQuantity } from "./quantity.js";

type Json = Record<string, unknown>;
export type Usage = Record<string, number>;

const LEGACY_COUNTS = new Set([
  "pods",
  "services",
  "configmaps",
  "secrets",
  "resourcequotas",
  "persistentvolumeclaims",
  "replicationcontrollers",
]);
const COMPUTE = ["cpu", "memory", "ephemeral-storage"];
const POD_RESOURCES = new Set([
  "count/pods",
  "pods",
  ...COMPUTE,
  ...COMPUTE.flatMap((r) => [`requests.${r}`, `limits.${r}`]),
]);
const SERVICE_RESOURCES = new Set([
  "count/services",
  "services",
  "services.nodeports",
  "services.loadbalancers",
]);

const isPod = (k: KindDef) => k.group === "" && k.kind === "Pod";
const isService = (k: KindDef) => k.group === "" && k.kind === "Service";
const countName = (k: KindDef) => `count/${k.group === "" ? k.resource : `${k.resource}.${k.group}`}`;

/** Kinds quota never counts (kube's DefaultIgnoredResources). */
export const ignoredByQuota = (k: KindDef) =>
  !k.namespaced || (k.kind === "Event" && (k.group === "" || k.group === "events.k8s.io"));

/** Whether a change of this kind may change usage: creates always; updates for Services only (kube 1.32). */
export const handlesOperation = (k: KindDef, op: "CREATE" | "UPDATE") => op === "CREATE" || isService(k);

/** The resource names among `names` that this kind's evaluator tracks (kube: MatchingResources). */
export function matchingResources(k: KindDef, names: string[]): string[] {
  return names.filter((n) => {
    if (n === countName(k)) return true;
    if (isPod(k))
      return (
        POD_RESOURCES.has(n) ||
        n.startsWith("hugepages-") ||
        n.startsWith("requests.hugepages-") ||
        (n.startsWith("requests.") && n.includes("/"))
      );
    if (isService(k)) return SERVICE_RESOURCES.has(n);
    return k.group === "" && LEGACY_COUNTS.has(n) && n === k.resource;
  });
}

const resourcesOf = (c: Json, field: "requests" | "limits") =>
  ((c.resources as Json | undefined)?.[field] ?? {}) as Record<string, unknown>;

/** A container's requests (kube defaults missing requests to the limits). */
function containerList(c: Json, field: "requests" | "limits"): Usage {
  const out: Usage = {};
  const src =
    field === "requests"
      ? { ...resourcesOf(c, "limits"), ...resourcesOf(c, "requests") }
      : resourcesOf(c, "limits");
  for (const [r, v] of Object.entries(src)) out[r] = parseQuantity(String(v));
  return out;
}

const add = (a: Usage, b: Usage) => {
  for (const [k, v] of Object.entries(b)) a[k] = (a[k] ?? 0) + v;
};
const max = (a: Usage, b: Usage) => {
  for (const [k, v] of Object.entries(b)) a[k] = Math.max(a[k] ?? 0, v);
};

/** kube's resourcehelper.PodRequests / PodLimits. */
function podTotal(spec: Json, field: "requests" | "limits"): Usage {
  const total: Usage = {};
  for (const c of (spec.containers as Json[] | undefined) ?? []) add(total, containerList(c, field));
  const sidecars: Usage = {};
  const init: Usage = {};
  for (const c of (spec.initContainers as Json[] | undefined) ?? []) {
    const own = containerList(c, field);
    if (c.restartPolicy === "Always") {
      add(total, own);
      add(sidecars, own);
      max(init, sidecars);
    } else {
      const withSidecars = { ...sidecars };
      add(withSidecars, own);
      max(init, withSidecars);
    }
  }
  max(total, init);
  const overhead = (spec.overhead ?? {}) as Record<string, unknown>;
  for (const [r, v] of Object.entries(overhead))
    if (field === "requests" || total[r] !== undefined) total[r] = (total[r] ?? 0) + parseQuantity(String(v));
  return total;
}

/** kube's QuotaV1Pod: not terminal, and not past its deletion grace period. */
export function podCountsForQuota(pod: KubeObject, now: number): boolean {
  const phase = (pod.status as Json | undefined)?.phase;
  if (phase === "Succeeded" || phase === "Failed") return false;
  const at = pod.metadata.deletionTimestamp;
  const grace = pod.metadata.deletionGracePeriodSeconds;
  return !(at !== undefined && grace !== undefined && now > Date.parse(at) + grace * 1000);
}

/** What one object counts. */
export function usageOf(k: KindDef, obj: KubeObject, now: number): Usage {
  const u: Usage = { [countName(k)]: 1 };
  if (k.group === "" && LEGACY_COUNTS.has(k.resource) && !isPod(k)) u[k.resource] = 1;
  const spec = (obj.spec ?? {}) as Json;
  if (isPod(k) && podCountsForQuota(obj, now)) {
    u.pods = 1;
    const requests = podTotal(spec, "requests");
    const limits = podTotal(spec, "limits");
    for (const r of COMPUTE) {
      if (requests[r] !== undefined) {
        u[r] = requests[r];
        u[`requests.${r}`] = requests[r];
      }
      if (limits[r] !== undefined) u[`limits.${r}`] = limits[r];
    }
    for (const [r, v] of Object.entries(requests)) {
      if (r.startsWith("hugepages-")) {
        u[r] = v;
        u[`requests.${r}`] = v;
      } else if (r.includes("/") && !r.startsWith("kubernetes.io/")) u[`requests.${r}`] = v;
    }
  }
  if (isService(k)) {
    const ports = (spec.ports as Json[] | undefined) ?? [];
    if (spec.type === "NodePort") u["services.nodeports"] = ports.length;
    if (spec.type === "LoadBalancer") {
      u["services.nodeports"] =
        spec.allocateLoadBalancerNodePorts === false
          ? ports.filter((p) => p.nodePort !== undefined).length
          : ports.length;
      u["services.loadbalancers"] = 1;
    }
  }
  return u;
}

/** GetPodQOS == BestEffort: no container asks for or limits cpu or memory. */
function isBestEffort(spec: Json): boolean {
  for (const c of [...((spec.containers as Json[]) ?? []), ...((spec.initContainers as Json[]) ?? [])])
    for (const field of ["requests", "limits"] as const)
      for (const r of ["cpu", "memory"]) {
        const v = resourcesOf(c, field)[r];
        if (v !== undefined && parseQuantity(String(v)) !== 0) return false;
      }
  return true;
}

function crossNamespaceAffinity(spec: Json): boolean {
  const affinity = (spec.affinity ?? {}) as Json;
  for (const kind of ["podAffinity", "podAntiAffinity"]) {
    const a = (affinity[kind] ?? {}) as Json;
    const terms = [
      ...((a.requiredDuringSchedulingIgnoredDuringExecution as Json[] | undefined) ?? []),
      ...((a.preferredDuringSchedulingIgnoredDuringExecution as Json[] | undefined) ?? []).map(
        (w) => (w.podAffinityTerm ?? {}) as Json,
      ),
    ];
    if (terms.some((t) => (t.namespaces as unknown[] | undefined)?.length || t.namespaceSelector != null))
      return true;
  }
  return false;
}

export interface ScopeSelector {
  scopeName: string;
  operator: string;
  values?: string[];
}

/** Every scope requirement of a quota (kube: GetScopeSelectorsFromQuota). */
export function scopeSelectorsOf(quota: KubeObject): ScopeSelector[] {
  const spec = (quota.spec ?? {}) as Json;
  const out: ScopeSelector[] = ((spec.scopes as string[] | undefined) ?? []).map((s) => ({
    scopeName: s,
    operator: "Exists",
  }));
  const sel = spec.scopeSelector as { matchExpressions?: ScopeSelector[] } | undefined;
  return [...out, ...(sel?.matchExpressions ?? [])];
}

function podMatchesScope(s: ScopeSelector, spec: Json): boolean {
  const terminating = typeof spec.activeDeadlineSeconds === "number" && spec.activeDeadlineSeconds >= 0;
  switch (s.scopeName) {
    case "Terminating":
      return terminating;
    case "NotTerminating":
      return !terminating;
    case "BestEffort":
      return isBestEffort(spec);
    case "NotBestEffort":
      return !isBestEffort(spec);
    case "CrossNamespacePodAffinity":
      return crossNamespaceAffinity(spec);
    case "PriorityClass": {
      const pc =
        typeof spec.priorityClassName === "string" && spec.priorityClassName !== ""
          ? spec.priorityClassName
          : undefined;
      const values = s.values ?? [];
      if (s.operator === "Exists") return pc !== undefined;
      if (s.operator === "DoesNotExist") return pc === undefined;
      if (s.operator === "In") return pc !== undefined && values.includes(pc);
      if (s.operator === "NotIn") return pc === undefined || !values.includes(pc);
      return false;
    }
  }
  return false;
}

/** Whether the quota's scopes select the object (no scope: everything; scopes: pods only). */
export function matchesScopes(quota: KubeObject, k: KindDef, obj: KubeObject): boolean {
  const selectors = scopeSelectorsOf(quota);
  if (selectors.length === 0) return true;
  if (!isPod(k)) return false;
  const spec = (obj.spec ?? {}) as Json;
  return selectors.every((s) => podMatchesScope(s, spec));
}

/** kube's evaluator.Matches: the quota's enforced limits (status.hard) name something the kind counts, and its scopes match. */
export function quotaMatches(
  quota: KubeObject,
  hard: Record<string, string>,
  k: KindDef,
  obj: KubeObject,
): boolean {
  return matchingResources(k, Object.keys(hard)).length > 0 && matchesScopes(quota, k, obj);
}

/** A kind's objects in a quota's namespace, however its caller reads them. */
export type QuotaLister = (k: KindDef) => Promise<KubeObject[]>;

/**
 * kube's quota.CalculateUsage: for each name of `hard` that the evaluator of one of `kinds`
 * tracks, what the quota's namespace uses ("0" when nothing counts), in the order of `hard`. Only
 * the kinds that track a name are listed (all at once). `list` is where the objects come from:
 * the API server's store, or the API for the resource quota controller.
 */
export async function calculateUsage(
  kinds: readonly KindDef[],
  quota: KubeObject,
  hard: Record<string, string>,
  now: number,
  list: QuotaLister,
): Promise<Record<string, string>> {
  const names = Object.keys(hard);
  const used = new Map<string, number>();
  await Promise.all(
    kinds.map(async (k) => {
      if (ignoredByQuota(k)) return;
      const tracked = matchingResources(k, names);
      if (tracked.length === 0) return;
      for (const n of tracked) used.set(n, used.get(n) ?? 0);
      for (const obj of await list(k)) {
        if (!quotaMatches(quota, hard, k, obj)) continue;
        const u = usageOf(k, obj, now);
        for (const n of tracked) used.set(n, (used.get(n) ?? 0) + (u[n] ?? 0));
      }
    }),
  );
  return Object.fromEntries(
    names.flatMap((n) => {
      const v = used.get(n);
      return v === undefined ? [] : [[n, formatQuantity(v, n)]];
    }),
  );
}
