/**
 * The TTL-after-finished controller (kube 1.32's pkg/controller/ttlafterfinished,
 * "ttl-after-finished-controller"): deletes a finished Job (Complete or Failed) once
 * spec.ttlSecondsAfterFinished have passed since its finish (the condition's
 * lastTransitionTime). A Job not yet due is requeued for when it will be, on the injected clock.
 * Before deleting, the Job is read fresh from the API server, not the cache: its TTL may have
 * just been changed. The delete is foreground (its pods go first) with a uid precondition, so a
 * new Job of the same name is never deleted by mistake.
 */
import { type Informer, isNotFound, splitMetaNamespaceKey } from "@skiff/client";
import type { ControllerContext } from "../context.js";
import { QueueController } from "../controller.js";
import type { Job } from "../job/types.js";
import { finishedCondition } from "../job/util.js";

/** needsCleanup: a TTL is set and the Job has finished. */
export function needsCleanup(job: Job): boolean {
  return typeof job.spec.ttlSecondsAfterFinished === "number" && finishedCondition(job) !== undefined;
}

/**
 * timeLeft (getFinishAndExpireTime): ms until the Job expires, and when it does. Throws when the
 * finish time is unknown.
 */
export function timeLeft(job: Job, now: number): { remaining: number; expireAt: number; finishAt: number } {
  const c = finishedCondition(job);
  const at = c?.lastTransitionTime === undefined ? Number.NaN : Date.parse(c.lastTransitionTime);
  if (Number.isNaN(at))
    throw new Error(
      `unable to find the time when the Job ${job.metadata.namespace}/${job.metadata.name} finished`,
    );
  const expireAt = at + (job.spec.ttlSecondsAfterFinished ?? 0) * 1000;
  return { remaining: expireAt - now, expireAt, finishAt: at };
}

export class TTLAfterFinishedController extends QueueController {
  readonly jobs: Informer<Job>;

  constructor(ctx: ControllerContext) {
    super("ttl-after-finished-controller", ctx, { queueName: "ttl_jobs_to_delete" });
    this.jobs = ctx.informers.informerFor<Job>("batch/v1", "jobs");
    const maybeEnqueue = (job: Job) => {
      if (job.metadata.deletionTimestamp === undefined && needsCleanup(job)) this.enqueue(job);
    };
    this.jobs.addEventHandler({ onAdd: maybeEnqueue, onUpdate: (_old, cur) => maybeEnqueue(cur) });
  }

  /**
   * processTTL: the expiry time when the TTL has passed; otherwise the Job is requeued for its
   * expiry (nothing for a Job being deleted or not needing cleanup).
   */
  private processTTL(job: Job): number | undefined {
    if (job.metadata.deletionTimestamp !== undefined || !needsCleanup(job)) return undefined;
    const now = this.ctx.clock.now();
    const t = timeLeft(job, now);
    if (t.finishAt > now)
      this.log.info(
        { job: `${job.metadata.namespace}/${job.metadata.name}` },
        "found Job finished in the future; likely clock skew: cleanup deferred",
      );
    if (t.remaining <= 0) return t.expireAt;
    this.enqueueAfter(job, t.remaining);
    return undefined;
  }

  async sync(key: string): Promise<void> {
    const [ns, name] = splitMetaNamespaceKey(key);
    const cached = this.jobs.get(key);
    if (cached === undefined || this.processTTL(cached) === undefined) return;
    // The cached TTL may be stale: check again on a fresh read before deleting.
    const client = this.ctx.client.resource<Job>("batch/v1", "jobs", ns);
    let fresh: Job;
    try {
      fresh = await client.get(name);
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
    if (this.processTTL(fresh) === undefined) return;
    try {
      await client.delete(name, {
        propagationPolicy: "Foreground",
        ...(fresh.metadata.uid === undefined ? {} : { preconditions: { uid: fresh.metadata.uid } }),
      });
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
  }
}
