/**
 * ResourceQuota admission: an object is stored only if every quota of its namespace still has
 * room, and the quota's status.used is charged in the SAME store transaction as the object
 * (guarded by the quota's mod revision), so concurrent creates cannot race past the limit: the
 * loser of a race retries against the new usage. Deletes give the usage back the same way.
 * A new quota computes its usage from what the namespace holds (the quota controller's job in
 * kube-controller-manager; done here until it exists).
 *
 * Tracked: object counts (pods, services, configmaps, secrets, resourcequotas, services.nodeports,
 * services.loadbalancers, count/<resource>[.<group>]) and pod compute resources (requests.cpu,
 * requests.memory, limits.cpu, limits.memory; cpu and memory mean requests.*).
 */
import { type KindDef, type KubeObject, parseQuantity, type Registry } from "@skiff/api";
import { StatusError } from "../status.js";
import {
  decodeObject,
  encodeForStore,
  type GuardedWrite,
  objectKey,
  type RegistryStore,
} from "../storage/registry-store.js";
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
function format(n: number): string {
  if (Number.isInteger(n)) return String(n);
  return `${Math.round(n * 1000)}m`;
}

export class QuotaAdmission {
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

  /** A new quota starts with the usage of what its namespace already holds. */
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
    quota.status = { hard, used: Object.fromEntries(Object.entries(used).map(([k, v]) => [k, format(v)])) };
  }

  /**
   * The quota updates to write together with creating (sign +1) or deleting (sign -1) `obj`, or a
   * 403 when a create would exceed a quota.
   */
  async charge(k: KindDef, obj: KubeObject, sign: 1 | -1): Promise<GuardedWrite[]> {
    if (!k.namespaced || k.kind === "ResourceQuota") return [];
    const ns = obj.metadata.namespace as string;
    // Which quotas exist: from the watch cache when there is one (each is then read and charged
    // with a guard on its revision, so a stale cache cannot let a create past a limit).
    // From the watch cache, which includes this server's own recent writes (read your writes).
    const quotas =
      this.cache !== undefined
        ? (await this.cache.for(this.quotaKind)).list(ns)
        : await this.store.list(this.quotaKind, ns);
    if (quotas.items.length === 0) return [];
    const delta = usageOf(k, obj);
    const writes: GuardedWrite[] = [];
    for (const listed of quotas.items) {
      const key = objectKey(this.quotaKind, ns, listed.metadata.name as string);
      const raw = await this.store.raw(key);
      if (raw === undefined) continue;
      const quota = decodeObject(raw);
      const hard = ((quota.spec as Json | undefined)?.hard ?? {}) as Record<string, string>;
      const status = (quota.status ?? {}) as Json;
      const used = { ...((status.used ?? {}) as Record<string, string>) };
      const over: string[] = [];
      let changed = false;
      for (const [name, limit] of Object.entries(hard)) {
        const d = delta[name];
        if (d === undefined || d === 0) continue;
        const now = parseQuantity(used[name] ?? "0");
        const next = Math.max(0, now + sign * d);
        if (sign > 0 && next > parseQuantity(limit)) over.push(name);
        used[name] = format(next);
        changed = true;
      }
      if (over.length > 0) {
        const list = (f: (n: string) => string) => over.map((n) => `${n}=${f(n)}`).join(",");
        throw new StatusError(
          403,
          "Forbidden",
          `${k.resource} "${obj.metadata.name}" is forbidden: exceeded quota: ${quota.metadata.name}, requested: ${list((n) => format(delta[n] ?? 0))}, used: ${list((n) => ((status.used as Json | undefined)?.[n] as string | undefined) ?? "0")}, limited: ${list((n) => hard[n] ?? "")}`,
        );
      }
      if (!changed) continue;
      const next: KubeObject = { ...quota, status: { ...status, hard, used } };
      writes.push({ key, value: encodeForStore(next), modRevision: Number(raw.mod_revision) });
    }
    return writes;
  }
}
