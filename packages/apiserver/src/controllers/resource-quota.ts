/**
 * The resource quota controller (kube-controller-manager's, pkg/controller/resourcequota), in
 * the API server process until the controller manager exists. For each ResourceQuota it copies
 * spec.hard to status.hard and recalculates status.used from everything its namespace holds
 * (quota-usage.ts), writing the status through the normal API only when it changed. A quota is
 * synced when it is created or its spec.hard changes, when usage may have dropped without a
 * charge at admission (kube's replenishment: any delete, a pod turning Succeeded or Failed, a
 * Service changing type), at start, and every resync (kube's --resource-quota-sync-period, 5 min).
 * A conflict with a concurrent charge is retried with backoff.
 */
import { type KindDef, type KubeObject, parseQuantity, podCountsForQuota } from "@skiff/api";
import type { Logger } from "@skiff/component-base";
import type { QuotaUsage } from "../registry/quota-usage.js";
import type { CacheEvent, WatchCache } from "../storage/watch-cache.js";
import type { Informers } from "./informer.js";
import { type Clock, ControllerLoop, type SyncResult } from "./loop.js";
import type { LoopbackClient } from "./loopback.js";

type Json = Record<string, unknown>;
type Quantities = Record<string, string>;

export interface ResourceQuotaControllerOptions {
  client: LoopbackClient;
  informers: Informers;
  cache: WatchCache;
  usage: QuotaUsage;
  clock: Clock;
  resyncMs?: number;
  log?: Logger;
}

const hardOf = (q: KubeObject | undefined) => ((q?.spec as Json | undefined)?.hard ?? {}) as Quantities;
const statusOf = (q: KubeObject) => (q.status ?? {}) as { hard?: Quantities; used?: Quantities };

/** kube's quota.Equals: the same names with equal quantities. */
function equal(a: Quantities | undefined, b: Quantities | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => b[k] !== undefined && parseQuantity(String(a[k])) === parseQuantity(String(b[k])));
}

/** Whether a change may lower usage without passing admission (kube's replenishment triggers). */
function replenishes(e: CacheEvent, now: number): boolean {
  if (e.type === "DELETED") return true;
  if (e.type !== "MODIFIED" || e.prev === undefined || e.object.kind === undefined) return false;
  const { object, prev } = e;
  if (object.kind === "Pod" && object.apiVersion === "v1")
    return podCountsForQuota(prev, now) && !podCountsForQuota(object, now);
  if (object.kind === "Service" && object.apiVersion === "v1")
    return (prev.spec as Json | undefined)?.type !== (object.spec as Json | undefined)?.type;
  return false;
}

export class ResourceQuotaController {
  readonly loop: ControllerLoop;
  private readonly quotaKind: KindDef;

  constructor(private readonly o: ResourceQuotaControllerOptions) {
    this.quotaKind = o.usage.quotaKind;
    this.loop = new ControllerLoop({
      name: "resourcequota",
      sync: (key) => this.sync(key),
      listKeys: async () => (await o.client.list(this.quotaKind, undefined)).map(keyOf),
      resyncMs: o.resyncMs ?? 300_000,
      workers: 2,
      clock: o.clock,
      log: o.log,
    });
  }

  async start(): Promise<void> {
    const resync = () => void this.loop.relist();
    await this.o.informers.watch(this.quotaKind, {
      events: (events) => {
        for (const e of events) {
          if (e.type === "DELETED") continue;
          const s = statusOf(e.object);
          if (
            e.type === "ADDED" ||
            !equal(hardOf(e.object), hardOf(e.prev)) ||
            !equal(hardOf(e.object), s.hard) ||
            s.used === undefined
          )
            this.loop.add(keyOf(e.object));
        }
      },
      resync,
    });
    for (const k of this.o.client.kinds) {
      if (!k.namespaced || k === this.quotaKind) continue;
      await this.o.informers.watch(k, {
        events: (events) => {
          for (const e of events)
            if (replenishes(e, this.o.clock.now()))
              void this.replenish(e.object.metadata.namespace as string);
        },
        resync: () => undefined,
      });
    }
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** Every quota of the namespace is synced again. */
  private async replenish(namespace: string): Promise<void> {
    const quotas = (await this.o.cache.for(this.quotaKind)).list(namespace);
    for (const q of quotas.items) this.loop.add(keyOf(q));
  }

  /** kube's syncResourceQuota. */
  private async sync(key: string): Promise<SyncResult> {
    const [namespace, name] = key.split("/") as [string, string];
    const { client, usage } = this.o;
    // The quota is read before the objects: a charge made after this read changes its
    // resourceVersion, so the status update below conflicts and the sync runs again.
    const quota = await client.find(this.quotaKind, namespace, name);
    if (quota === undefined) return undefined;
    const hard = { ...hardOf(quota) };
    const used = await usage.calculate(quota, hard, (k, ns) => client.list(k, ns));
    const status = statusOf(quota);
    if (equal(status.hard, hard) && equal(status.used, used)) return undefined;
    await client.update(
      this.quotaKind,
      { ...quota, status: { ...(quota.status as Json), hard, used } },
      "status",
    );
    return undefined;
  }
}

const keyOf = (q: KubeObject) => `${q.metadata.namespace}/${q.metadata.name}`;
