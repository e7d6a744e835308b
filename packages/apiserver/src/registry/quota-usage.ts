/**
 * ResourceQuota usage as the store keeps it. What an object counts is @skiff/api's quota.ts; here
 * is what a write does to its namespace's quotas: a create charges what the object counts, a
 * Service update what it counts more than before (a ClusterIP turned NodePort takes node ports),
 * a delete gives usage back. Each change is a guarded write in the SAME store transaction as the
 * object (guarded by the quota's mod revision), so concurrent writes cannot race past a limit:
 * the loser reads the new usage and tries again. Limits are the quota's status.hard, as kube's
 * admission reads them (the controller manager's resource quota controller copies spec.hard
 * there and recalculates status.used from what the namespace holds). A new quota starts with
 * status.hard and the usage of what its namespace already holds (kube leaves that to the
 * controller, and enforces nothing until then).
 */
import {
  calculateUsage,
  formatQuantity,
  ignoredByQuota,
  type KindDef,
  type KubeObject,
  matchingResources,
  parseQuantity,
  quotaMatches,
  type Registry,
  type Usage,
  usageOf,
} from "@skiff/api";
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
type Quantities = Record<string, string>;

/** One quota's side of a write. */
export interface QuotaChange {
  /** The quota as read from the store. */
  quota: KubeObject;
  /** Its enforced limits (status.hard). */
  hard: Quantities;
  /** status.used before the change. */
  used: Quantities;
  /** What the write adds (or gives back), limited to what the quota tracks. */
  delta: Usage;
  /** Tracked names the write would take above their limit. */
  exceeded: string[];
  /** Tracked names with no usage recorded yet (kube: "status unknown for quota"). */
  unknown: string[];
  /** The quota with its new usage, guarded by its revision; undefined when nothing it tracks changes. */
  write: GuardedWrite | undefined;
}

export class QuotaUsage {
  readonly quotaKind: KindDef;

  constructor(
    private readonly registry: Registry,
    private readonly store: RegistryStore,
    private readonly cache?: WatchCache,
    private readonly now: () => number = Date.now,
  ) {
    const k = registry.resource("", "v1", "resourcequotas");
    if (k === undefined) throw new Error("the registry has no resourcequotas");
    this.quotaKind = k;
  }

  /** A new quota's status: its hard limits, and the usage of what its namespace already holds. */
  async initialize(quota: KubeObject): Promise<void> {
    const hard = { ...(((quota.spec as Json | undefined)?.hard ?? {}) as Quantities) };
    const ns = quota.metadata.namespace as string;
    const list = async (k: KindDef) => (await this.store.list(k, ns)).items;
    const usage = await calculateUsage(this.registry.kinds, quota, hard, this.now(), list);
    // Every name of hard is present, those no evaluator tracks at 0.
    const used = Object.fromEntries(Object.keys(hard).map((n) => [n, usage[n] ?? "0"]));
    // The quota itself counts against its own resourcequotas and count/resourcequotas limits.
    for (const n of ["resourcequotas", "count/resourcequotas"])
      if (n in used) used[n] = formatQuantity(parseQuantity(used[n] as string) + 1, n);
    quota.status = { hard, used };
  }

  /**
   * Each quota of the object's namespace that the write concerns, and what it does to it:
   * CREATE charges obj, UPDATE what obj counts above old, DELETE gives obj back.
   */
  async changes(
    k: KindDef,
    obj: KubeObject,
    op: "CREATE" | "UPDATE" | "DELETE",
    old?: KubeObject,
  ): Promise<QuotaChange[]> {
    if (ignoredByQuota(k)) return [];
    const ns = obj.metadata.namespace as string;
    // Which quotas exist: from the watch cache, which includes this server's own recent writes
    // (read your writes). Each is then read from the store and written guarded by that read's
    // revision, so a stale cache cannot let a write past a limit.
    const quotas =
      this.cache !== undefined
        ? (await this.cache.for(this.quotaKind)).list(ns)
        : await this.store.list(this.quotaKind, ns);
    if (quotas.items.length === 0) return [];
    const now = this.now();
    const usage = usageOf(k, obj, now);
    const before = old === undefined ? undefined : usageOf(k, old, now);
    const out: QuotaChange[] = [];
    for (const listed of quotas.items) {
      if (k === this.quotaKind && listed.metadata.name === obj.metadata.name) continue;
      const key = objectKey(this.quotaKind, ns, listed.metadata.name as string);
      const raw = await this.store.raw(key);
      if (raw === undefined) continue;
      const quota = decodeObject(raw);
      const status = (quota.status ?? {}) as Json;
      const hard = (status.hard ?? {}) as Quantities;
      if (!quotaMatches(quota, hard, k, obj)) continue;
      const oldMatches = old !== undefined && quotaMatches(quota, hard, k, old);
      const used = (status.used ?? {}) as Quantities;
      const next = { ...used };
      const delta: Usage = {};
      const exceeded: string[] = [];
      const unknown: string[] = [];
      for (const name of matchingResources(k, Object.keys(hard))) {
        if (used[name] === undefined) unknown.push(name);
        const mine = usage[name] ?? 0;
        const d = op === "DELETE" ? -mine : Math.max(0, mine - (oldMatches ? (before?.[name] ?? 0) : 0));
        if (d === 0) continue;
        delta[name] = d;
        const value = Math.max(0, parseQuantity(used[name] ?? "0") + d);
        if (d > 0 && value > parseQuantity(hard[name] as string)) exceeded.push(name);
        next[name] = formatQuantity(value, name);
      }
      const write =
        Object.keys(delta).length > 0
          ? {
              key,
              value: encodeForStore({ ...quota, status: { ...status, used: next } }),
              modRevision: versioner.modRevision(raw),
            }
          : undefined;
      out.push({ quota, hard, used, delta, exceeded: exceeded.sort(), unknown: unknown.sort(), write });
    }
    return out;
  }

  /** The quota writes that give a deleted object's usage back. */
  async release(k: KindDef, obj: KubeObject): Promise<GuardedWrite[]> {
    return (await this.changes(k, obj, "DELETE")).flatMap((c) => (c.write === undefined ? [] : [c.write]));
  }
}
