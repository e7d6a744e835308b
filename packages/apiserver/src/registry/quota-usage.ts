/**
 * ResourceQuota usage as the store keeps it: what an object counts against its namespace's
 * quotas, and the quota updates that go with creating (+1) or deleting (-1) it. Each update is a
 * guarded write in the SAME store transaction as the object (guarded by the quota's mod
 * revision), so concurrent creates cannot race past a limit: the loser of a race reads the new
 * usage and tries again. Deciding whether a create may use the room is the ResourceQuota admission
 * plugin's (admission/resource-quota.ts); deletes give usage back here. A new quota's usage is
 * computed from what the namespace holds (the quota controller's job in kube-controller-manager;
 * done here until it exists).
 *
 * Tracked: object counts (pods, services, configmaps, secrets, resourcequotas, services.nodeports,
 * services.loadbalancers, count/<resource>[.<group>]) and pod compute resources (requests.cpu,
 * requests.memory, limits.cpu, limits.memory; cpu and memory mean requests.*).
 */
import { type KindDef, type KubeObject, parseQuantity, type Registry } from "@skiff/api";
import {
  decodeObject,
  encodeForStore,
  type GuardedWrite,
  objectKey,
  type RegistryStore,
} from "../storage/registry-store.js";
import { versioner } from "../storage/versioner.js";
import type { WatchCache } from "../storage/watch-cache.js";

type Json = Record<string, unknown>;
type Usage = Record<string, number>;

const coreCounts: Record<string, string> = {
  pods: "pods",
  services: "services",
  configmaps: "configmaps",
  secrets: "secrets",
  resourcequotas: "resourcequotas",
  persistentvolumeclaims: "persistentvolumeclaims",
  replicationcontrollers: "replicationcontrollers",
};

function sumContainers(spec: Json, field: "requests" | "limits", res: string): number {
  let total = 0;
  for (const c of (spec.containers as Json[] | undefined) ?? []) {
    const v = ((c.resources as Json | undefined)?.[field] as Json | undefined)?.[res];
    if (v !== undefined) total += parseQuantity(String(v));
  }
  return total;
}

/** What one object counts against quotas. */
export function usageOf(k: KindDef, obj: KubeObject): Usage {
  const u: Usage = {};
  const res = k.group === "" ? k.resource : `${k.resource}.${k.group}`;
  u[`count/${res}`] = 1;
  const core = k.group === "" ? coreCounts[k.resource] : undefined;
  if (core !== undefined) u[core] = 1;
  if (k.kind === "Pod") {
    const phase = (obj.status as Json | undefined)?.phase;
    if (phase === "Succeeded" || phase === "Failed") return {}; // terminal pods do not count
    const spec = (obj.spec ?? {}) as Json;
    for (const r of ["cpu", "memory"]) {
      const req = sumContainers(spec, "requests", r);
      const lim = sumContainers(spec, "limits", r);
      u[`requests.${r}`] = req;
      u[r] = req;
      u[`limits.${r}`] = lim;
    }
  }
  if (k.kind === "Service") {
    const spec = (obj.spec ?? {}) as Json;
    if (spec.type === "NodePort" || spec.type === "LoadBalancer")
      u["services.nodeports"] = ((spec.ports as unknown[] | undefined) ?? []).length;
    if (spec.type === "LoadBalancer") u["services.loadbalancers"] = 1;
  }
  return u;
}

/** A quantity as kube-apiserver prints usage: integers plainly, fractions in milli-units. */
export function formatQuantity(n: number): string {
  if (Number.isInteger(n)) return String(n);
  return `${Math.round(n * 1000)}m`;
}

/** One quota's side of a create or delete. */
export interface QuotaChange {
  /** The quota as read from the store. */
  quota: KubeObject;
  hard: Record<string, string>;
  /** status.used before the change. */
  used: Record<string, string>;
  /** What the object counts. */
  delta: Usage;
  /** Tracked names a create would take above their hard limit. */
  exceeded: string[];
  /** The quota with its new usage, guarded by its revision; undefined when nothing it tracks changes. */
  write: GuardedWrite | undefined;
}

export class QuotaUsage {
  private readonly quotaKind: KindDef;

  constructor(
    private readonly registry: Registry,
    private readonly store: RegistryStore,
    private readonly cache?: WatchCache,
  ) {
    const k = registry.resource("", "v1", "resourcequotas");
    if (k === undefined) throw new Error("the registry has no resourcequotas");
    this.quotaKind = k;
  }

  /** A new quota's status: its hard limits, and the usage of what its namespace already holds. */
  async initialize(quota: KubeObject): Promise<void> {
    const hard = ((quota.spec as Json | undefined)?.hard ?? {}) as Record<string, string>;
    const used: Usage = {};
    for (const name of Object.keys(hard)) used[name] = 0;
    for (const k of this.registry.kinds) {
      if (!k.namespaced) continue;
      const page = await this.store.list(k, quota.metadata.namespace);
      for (const obj of page.items)
        for (const [name, v] of Object.entries(usageOf(k, obj)))
          if (name in used) used[name] = (used[name] ?? 0) + v;
    }
    // The quota itself counts against a resourcequotas limit.
    if ("resourcequotas" in used) used.resourcequotas = (used.resourcequotas ?? 0) + 1;
    quota.status = {
      hard,
      used: Object.fromEntries(Object.entries(used).map(([k, v]) => [k, formatQuantity(v)])),
    };
  }

  /** Each quota of the object's namespace, and what creating (+1) or deleting (-1) it does to it. */
  async changes(k: KindDef, obj: KubeObject, sign: 1 | -1): Promise<QuotaChange[]> {
    if (!k.namespaced || k.kind === "ResourceQuota") return [];
    const ns = obj.metadata.namespace as string;
    // Which quotas exist: from the watch cache, which includes this server's own recent writes
    // (read your writes). Each is then read from the store and written guarded by that read's
    // revision, so a stale cache cannot let a create past a limit.
    const quotas =
      this.cache !== undefined
        ? (await this.cache.for(this.quotaKind)).list(ns)
        : await this.store.list(this.quotaKind, ns);
    if (quotas.items.length === 0) return [];
    const delta = usageOf(k, obj);
    const out: QuotaChange[] = [];
    for (const listed of quotas.items) {
      const key = objectKey(this.quotaKind, ns, listed.metadata.name as string);
      const raw = await this.store.raw(key);
      if (raw === undefined) continue;
      const quota = decodeObject(raw);
      const hard = ((quota.spec as Json | undefined)?.hard ?? {}) as Record<string, string>;
      const status = (quota.status ?? {}) as Json;
      const before = (status.used ?? {}) as Record<string, string>;
      const used = { ...before };
      const exceeded: string[] = [];
      let changed = false;
      for (const [name, limit] of Object.entries(hard)) {
        const d = delta[name];
        if (d === undefined || d === 0) continue;
        const next = Math.max(0, parseQuantity(used[name] ?? "0") + sign * d);
        if (sign > 0 && next > parseQuantity(limit)) exceeded.push(name);
        used[name] = formatQuantity(next);
        changed = true;
      }
      const write = changed
        ? {
            key,
            value: encodeForStore({ ...quota, status: { ...status, hard, used } }),
            modRevision: versioner.modRevision(raw),
          }
        : undefined;
      out.push({ quota, hard, used: before, delta, exceeded, write });
    }
    return out;
  }

  /** The quota writes that give a deleted object's usage back. */
  async release(k: KindDef, obj: KubeObject): Promise<GuardedWrite[]> {
    return (await this.changes(k, obj, -1)).flatMap((c) => (c.write === undefined ? [] : [c.write]));
  }
}
