/**
 * The cronjob controller (kube 1.32's pkg/controller/cronjob ControllerV2, "cronjob-controller"):
 * makes a Job for each schedule time of a CronJob. A sync reconciles status.active with the Jobs
 * the CronJob owns, deletes finished Jobs beyond the history limits, and, unless suspended,
 * starts the most recent schedule time not yet started (within startingDeadlineSeconds, as the
 * concurrency policy allows), then requeues the CronJob for its next schedule time on the
 * injected clock: no polling.
 */
import { cloneObject, type EventRecorder, type Informer, splitMetaNamespaceKey } from "@skiff/client";
import type { ControllerContext } from "../context.js";
import { deletedObject, QueueController } from "../controller.js";
import type { Job } from "../job/types.js";
import { getControllerOf, resolveControllerRef } from "../util/controller-ref.js";
import { type CronJobSyncState, reconcileActive } from "./active.js";
import { cleanupFinishedJobs } from "./history.js";
import { parseStandard, type Schedule } from "./schedule.js";
import { startScheduledJob } from "./start.js";
import type { CronJob } from "./types.js";
import { nextScheduleTime, nextScheduleTimeDuration } from "./utils.js";
import { loadLocation, localZone, type Zone } from "./zone.js";

export class CronJobController extends QueueController {
  readonly cronJobs: Informer<CronJob>;
  readonly jobs: Informer<Job>;
  readonly recorder: EventRecorder;
  readonly client: ControllerContext["client"];
  /** time.Local: the zone of a schedule without spec.timeZone (the process' zone by default). */
  readonly localZone: Zone;

  constructor(ctx: ControllerContext, opts: { localZone?: Zone } = {}) {
    super("cronjob-controller", ctx, { queueName: "cronjob" });
    this.recorder = ctx.recorder("cronjob-controller");
    this.client = ctx.client;
    this.localZone = opts.localZone ?? localZone();
    this.cronJobs = ctx.informers.informerFor<CronJob>("batch/v1", "cronjobs");
    this.jobs = ctx.informers.informerFor<Job>("batch/v1", "jobs");
    this.jobs.addEventHandler({
      onAdd: (job) => this.enqueueOwner(job),
      onUpdate: (old, cur) => this.updateJob(old, cur),
      onDelete: (job, tombstone) => this.enqueueOwner(deletedObject(job, tombstone)),
    });
    this.cronJobs.addEventHandler({
      onAdd: (cj) => this.enqueue(cj),
      onUpdate: (old, cur) => this.updateCronJob(old, cur),
      onDelete: (cj, tombstone) => this.enqueue(deletedObject(cj, tombstone)),
    });
  }

  /** resolveControllerRef: the cached CronJob a Job's controller reference points to. */
  private resolveControllerRef(job: Job): CronJob | undefined {
    const ref = getControllerOf(job);
    if (ref === undefined) return undefined;
    return resolveControllerRef(this.cronJobs, "CronJob", job.metadata.namespace ?? "", ref);
  }

  private enqueueOwner(job: Job): void {
    const cj = this.resolveControllerRef(job);
    if (cj !== undefined) this.enqueue(cj);
  }

  private updateJob(old: Job, cur: Job): void {
    if (cur.metadata.resourceVersion === old.metadata.resourceVersion) return;
    const oldRef = getControllerOf(old);
    if (JSON.stringify(oldRef) !== JSON.stringify(getControllerOf(cur)) && oldRef !== undefined)
      this.enqueueOwner(old);
    this.enqueueOwner(cur);
  }

  /** updateCronJob: a new schedule or zone requeues for its next time; other changes now. */
  private updateCronJob(old: CronJob, cur: CronJob): void {
    if (old.spec.schedule !== cur.spec.schedule || old.spec.timeZone !== cur.spec.timeZone) {
      let sched: Schedule;
      try {
        sched = this.parse(cur);
      } catch {
        this.recorder.eventf(
          cur,
          "Warning",
          "UnParseableCronJobSchedule",
          "unparseable schedule for cronjob: %s",
          cur.spec.schedule,
        );
        return;
      }
      this.enqueueAfter(cur, nextScheduleTimeDuration(cur, this.ctx.clock.now(), sched));
      return;
    }
    this.enqueue(cur);
  }

  /** formatSchedule + cron.ParseStandard: spec.timeZone becomes the schedule's zone. */
  private parse(cj: CronJob, warn = false): Schedule {
    if (cj.spec.schedule.includes("TZ")) {
      if (warn)
        this.recorder.eventf(
          cj,
          "Warning",
          "UnsupportedSchedule",
          "CRON_TZ or TZ used in schedule %q is not officially supported, see https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ for more details",
          cj.spec.schedule,
        );
      return parseStandard(cj.spec.schedule, this.localZone);
    }
    let zone = this.localZone;
    if (cj.spec.timeZone !== undefined && cj.spec.timeZone !== null) {
      try {
        zone = loadLocation(cj.spec.timeZone);
      } catch {
        // An unknown zone: the schedule in the local zone, as kube's formatSchedule.
      }
    }
    return parseStandard(cj.spec.schedule, zone);
  }

  async sync(key: string): Promise<void> {
    const [ns, name] = splitMetaNamespaceKey(key);
    const cached = this.cronJobs.get(key);
    if (cached === undefined) return; // deleted: nothing to requeue
    // Jobs whose controller reference names the CronJob, even if they no longer match its labels.
    const jobs = this.jobs
      .lister()
      .namespace(ns)
      .list()
      .filter((j) => getControllerOf(j)?.name === name);
    const cj = cloneObject(cached) as CronJob;
    cj.status ??= {};
    const status = cj.status;
    const st: CronJobSyncState = { cj, status, updateStatus: false };
    if (await cleanupFinishedJobs(this, cj, jobs)) st.updateStatus = true;
    let requeueAfter: number | undefined;
    let syncError: unknown;
    try {
      requeueAfter = await this.syncCronJob(st, jobs);
    } catch (e) {
      syncError = e;
    }
    // One status write for everything this sync changed.
    if (st.updateStatus) await this.client.resource<CronJob>("batch/v1", "cronjobs", ns).updateStatus(cj);
    if (syncError !== undefined) throw syncError;
    if (requeueAfter !== undefined) this.enqueueAfter(cj, requeueAfter);
  }

  /** syncCronJob: when to look again (undefined: only on a change). */
  private async syncCronJob(st: CronJobSyncState, jobs: readonly Job[]): Promise<number | undefined> {
    const { cj } = st;
    const now = this.ctx.clock.now();
    await reconcileActive(this, st, jobs);
    if (cj.metadata.deletionTimestamp !== undefined) return undefined;
    const tz = cj.spec.timeZone;
    if (tz !== undefined && tz !== null) {
      try {
        loadLocation(tz);
      } catch (e) {
        const msg = (e as Error).message;
        this.recorder.eventf(cj, "Warning", "UnknownTimeZone", "invalid timeZone: %q: %s", tz, msg);
        return undefined;
      }
    }
    if (cj.spec.suspend === true) return undefined;
    let sched: Schedule;
    try {
      sched = this.parse(cj, true);
    } catch (e) {
      // A user error: nothing to do until the spec changes.
      const msg = (e as Error).message;
      this.recorder.eventf(
        cj,
        "Warning",
        "UnparseableSchedule",
        "unparseable schedule: %q : %s",
        cj.spec.schedule,
        msg,
      );
      return undefined;
    }
    const next = nextScheduleTime(cj, now, sched);
    if (next.missed === "many")
      this.recorder.event(
        cj,
        "Warning",
        "TooManyMissedTimes",
        "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew",
      );
    if (next.error !== undefined) {
      this.recorder.eventf(
        cj,
        "Warning",
        "InvalidSchedule",
        "invalid schedule: %s : %s",
        cj.spec.schedule,
        next.error,
      );
      return undefined;
    }
    // Nothing due (e.g. queued at start-up): look again at the next time.
    if (next.time === undefined) return nextScheduleTimeDuration(cj, now, sched);
    return startScheduledJob(this, st, sched, next.time, now);
  }
}
