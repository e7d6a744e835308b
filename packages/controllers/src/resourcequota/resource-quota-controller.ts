/**
 * The resource quota controller (kube's pkg/controller/resourcequota/resource_quota_controller.go):
 * for each ResourceQuota, status.hard becomes spec.hard and status.used is recalculated from what
 * the namespace holds (usage.ts), written only when it changed and guarded by the quota's
 * resourceVersion (a charge made at admission meanwhile conflicts, and the sync runs again).
 * Two queues, as kube: quotas whose spec.hard is not yet in their status, or with a tracked
 * resource missing from status.used, go to the priority queue; the others (spec changes,
 * replenishment, the resync of every quota each --resource-quota-sync-period) to the primary
 * one. Status-only updates are not queued: this controller makes them.
 */
import { type KindDef, matchingResources } from "@skiff/api";
import { cloneObject, type Informer, keyOf, RateLimitingQueue, type TimerHandle } from "@skiff/client";
import type { ControllerContext } from "../context.js";
import { deletedObject, processNextWorkItem, QueueController, runWorkers } from "../controller.js";
import { startQuotaMonitors } from "./monitor.js";
import type { ResourceList, ResourceQuota } from "./types.js";
import { anyEvaluatorMatches, calculateUsage, quantitiesEqual } from "./usage.js";

export class ResourceQuotaController extends QueueController {
  /** kube's missingUsageQueue ("resourcequota_priority"). */
  readonly missingUsageQueue: RateLimitingQueue<string>;
  private readonly quotas: Informer<ResourceQuota>;

  constructor(ctx: ControllerContext) {
    super("resourcequota-controller", ctx, { queueName: "resourcequota_primary" });
    this.missingUsageQueue = new RateLimitingQueue<string>({
      name: "resourcequota_priority",
      clock: ctx.clock,
      registry: ctx.metrics,
    });
    this.quotas = ctx.informers.informerFor<ResourceQuota>("v1", "resourcequotas");
    this.quotas.addEventHandler({
      onAdd: (q) => this.addQuota(q),
      // Only spec.hard changes: the status updates are this controller's own.
      onUpdate: (old, cur) => {
        if (!quantitiesEqual(old.spec?.hard ?? {}, cur.spec?.hard ?? {})) this.addQuota(cur);
      },
      onDelete: (q, tombstone) => this.enqueue(deletedObject(q, tombstone)),
    });
    startQuotaMonitors(ctx.informers, ctx.clock, (kind, ns) => this.replenishQuota(kind, ns));
  }

  /** kube's addQuota: a quota whose status lacks its spec or a tracked usage comes first. */
  addQuota(q: ResourceQuota): void {
    const key = keyOf(q);
    const statusHard = q.status?.hard;
    if (statusHard === undefined || !quantitiesEqual(q.spec?.hard ?? {}, statusHard)) {
      this.missingUsageQueue.add(key);
      return;
    }
    const used = q.status?.used ?? {};
    for (const constraint of Object.keys(statusHard))
      if (used[constraint] === undefined && anyEvaluatorMatches([constraint])) {
        this.missingUsageQueue.add(key);
        return;
      }
    this.queue.add(key);
  }

  /** kube's replenishQuota: the namespace's quotas tracking this kind are recalculated. */
  replenishQuota(kind: KindDef, namespace: string): void {
    for (const q of this.quotas.lister().namespace(namespace).list())
      if (matchingResources(kind, Object.keys(q.status?.hard ?? {})).length > 0) this.enqueue(q);
  }

  /** kube's enqueueAll (the resync): every quota, through the rate limiter. */
  enqueueAll(): void {
    for (const q of this.quotas.list()) this.queue.addRateLimited(keyOf(q));
  }

  override async run(workers: number, signal: AbortSignal): Promise<void> {
    const period = this.ctx.config.resourceQuotaSyncPeriodMs;
    let timer: TimerHandle | undefined;
    // kube's wait.Until: now, then every period.
    const resync = () => {
      this.enqueueAll();
      if (period > 0) timer = this.ctx.clock.setTimeout(resync, period);
    };
    resync();
    const priority = runWorkers(this.missingUsageQueue, Math.max(1, workers), signal, () =>
      this.processNextPriorityItem(),
    );
    try {
      await Promise.all([super.run(workers, signal), priority]);
    } finally {
      if (timer !== undefined) this.ctx.clock.clearTimeout(timer);
    }
  }

  /** One key of the priority queue (exposed for tests, as processNextWorkItem). */
  processNextPriorityItem(): Promise<boolean> {
    return processNextWorkItem(
      this.missingUsageQueue,
      (key) => this.sync(key),
      (key, e) =>
        this.log.warn(
          { controller: this.name, key, err: e instanceof Error ? e.message : String(e) },
          "error syncing; requeuing with backoff",
        ),
    );
  }

  /** kube's syncResourceQuotaFromKey and syncResourceQuota. */
  async sync(key: string): Promise<void> {
    const cached = this.quotas.get(key);
    if (cached === undefined) return;
    const quota = cloneObject(cached);
    const hard: ResourceList = { ...quota.spec?.hard };
    const statusLimitsDirty = !quantitiesEqual(hard, quota.status?.hard ?? {});
    let dirty = statusLimitsDirty || quota.status?.hard === undefined || quota.status?.used === undefined;
    const newUsage = await calculateUsage(this.ctx.client, quota, hard, this.ctx.clock.now());
    // The previous observations of names still limited, updated with what was calculated.
    const used: ResourceList = {};
    for (const name of Object.keys(hard)) {
      const v = newUsage[name] ?? quota.status?.used?.[name];
      if (v !== undefined) used[name] = v;
    }
    dirty ||= !quantitiesEqual(used, quota.status?.used);
    if (!dirty) return;
    await this.ctx.client
      .resource<ResourceQuota>("v1", "resourcequotas", quota.metadata.namespace)
      .updateStatus({ ...quota, status: { hard, used } });
  }
}
