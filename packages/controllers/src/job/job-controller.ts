/**
 * The job controller (kube 1.32's pkg/controller/job, "job-controller"): runs a Job's pods until
 * `completions` of them succeed (or, without completions, one does), at most `parallelism` at a
 * time, and declares the Job Complete, or Failed once it exceeds backoffLimit, its
 * activeDeadlineSeconds, or a FailJob rule of its pod failure policy matches. The event handlers
 * and queues live here; syncJob (sync.ts) makes one step.
 *
 * Pod events are batched: a Job is synced at most once per syncJobBatchPeriod for them, while a
 * Job's own creation or spec change syncs it at once. Pods without an owner that still carry the
 * tracking finalizer (their Job was deleted or orphaned them) go through a second queue that
 * removes the finalizer, as kube's orphanQueue.
 */
import type { Pod } from "@skiff/api";
import {
  type EventRecorder,
  type Informer,
  ItemExponentialFailureRateLimiter,
  isNotFound,
  keyOf,
  RateLimitingQueue,
  splitMetaNamespaceKey,
  toSelector,
} from "@skiff/client";
import type { ControllerContext } from "../context.js";
import { deletedObject, processNextWorkItem, QueueController, runWorkers } from "../controller.js";
import { getControllerOf, resolveControllerRef } from "../util/controller-ref.js";
import { ControllerExpectations } from "../util/expectations.js";
import { dependentUpdate } from "../util/owner-events.js";
import { PodControl } from "../util/pod-control.js";
import { BackoffStore } from "./backoff.js";
import type { JobDeps } from "./deps.js";
import { hasJobTrackingFinalizer, removeTrackingFinalizerPatch } from "./pods.js";
import { syncJob } from "./sync.js";
import { FinalizerExpectations } from "./tracking.js";
import { JOB_CONTROLLER_NAME, type Job } from "./types.js";
import { isJobFinished } from "./util.js";

/** kube's DefaultJobApiBackOff and MaxJobApiBackOff: the queue's per-Job retry delays. */
const JOB_API_BACKOFF_MS = 1_000;
const JOB_API_BACKOFF_MAX_MS = 60_000;

/** managedByExternalController: a Job whose spec.managedBy names another controller. */
export function managedByExternalController(job: Job): string | undefined {
  const m = job.spec.managedBy;
  return m !== undefined && m !== null && m !== JOB_CONTROLLER_NAME ? m : undefined;
}

export class JobController extends QueueController implements JobDeps {
  readonly jobs: Informer<Job>;
  readonly pods: Informer<Pod>;
  readonly client: ControllerContext["client"];
  readonly clock: ControllerContext["clock"];
  readonly config: ControllerContext["config"];
  readonly recorder: EventRecorder;
  readonly podControl: PodControl;
  readonly expectations: ControllerExpectations;
  readonly finalizerExpectations = new FinalizerExpectations();
  readonly backoffStore = new BackoffStore();
  /** Orphan pods (keys) whose tracking finalizer is to be removed. */
  readonly orphanQueue: RateLimitingQueue<string>;

  constructor(ctx: ControllerContext) {
    super("job-controller", ctx, {
      queueName: "job",
      rateLimiter: new ItemExponentialFailureRateLimiter<string>(JOB_API_BACKOFF_MS, JOB_API_BACKOFF_MAX_MS),
    });
    this.client = ctx.client;
    this.clock = ctx.clock;
    this.config = ctx.config;
    this.recorder = ctx.recorder("job-controller");
    this.podControl = new PodControl(ctx.client, this.recorder);
    this.expectations = new ControllerExpectations(ctx.clock);
    this.orphanQueue = new RateLimitingQueue<string>({
      name: "job_orphan_pod",
      clock: ctx.clock,
      registry: ctx.metrics,
      rateLimiter: new ItemExponentialFailureRateLimiter<string>(JOB_API_BACKOFF_MS, JOB_API_BACKOFF_MAX_MS),
    });
    this.jobs = ctx.informers.informerFor<Job>("batch/v1", "jobs");
    this.pods = ctx.informers.informerFor<Pod>("v1", "pods");
    this.jobs.addEventHandler({
      onAdd: (job) => this.enqueue(job),
      onUpdate: (old, cur) => this.updateJob(old, cur),
      onDelete: (job, tombstone) => {
        const j = deletedObject(job, tombstone);
        this.enqueue(j);
        this.cleanupPodFinalizers(j);
      },
    });
    this.pods.addEventHandler({
      onAdd: (pod) => this.addPod(pod),
      onUpdate: (old, cur) => this.updatePod(old, cur),
      onDelete: (pod, tombstone) => this.deletePod(deletedObject(pod, tombstone), true),
    });
  }

  sync(key: string): Promise<void> {
    return syncJob(this, key);
  }

  /** enqueueSyncJobBatched: pod events and status updates. */
  enqueueSyncJobBatched(job: Job): void {
    this.enqueueAfter(job, this.config.jobSyncBatchPeriodMs);
  }

  enqueueSyncJobWithDelay(job: Job, ms: number): void {
    this.enqueueAfter(job, Math.max(ms, this.config.jobSyncBatchPeriodMs));
  }

  /** The Job in the cache a controller reference points to (same uid), if any. */
  resolveControllerRef(namespace: string, ref: { kind: string; name: string; uid: string }): Job | undefined {
    return resolveControllerRef(this.jobs, "Job", namespace, ref);
  }

  /** getPodJobs: the Jobs whose selector matches an orphan pod (candidates to adopt it). */
  getPodJobs(pod: Pod): Job[] {
    return this.jobs
      .lister()
      .namespace(pod.metadata.namespace)
      .list()
      .filter(
        (j) => j.spec.selector !== undefined && toSelector(j.spec.selector).matches(pod.metadata.labels),
      );
  }

  private updateJob(old: Job, cur: Job): void {
    if (cur.metadata.generation === old.metadata.generation) this.enqueueSyncJobBatched(cur);
    else this.enqueue(cur);
    // A finished Job's pods must lose their finalizers (a backup of the sync's own removal).
    if (isJobFinished(cur)) this.cleanupPodFinalizers(cur);
    const start = cur.status?.startTime;
    const ads = cur.spec.activeDeadlineSeconds;
    if (start !== undefined && typeof ads === "number" && old.spec.activeDeadlineSeconds !== ads) {
      const passed = this.clock.now() - Date.parse(start);
      this.enqueueAfter(cur, ads * 1000 - passed);
    }
  }

  private addPod(pod: Pod): void {
    if (pod.metadata.deletionTimestamp !== undefined) {
      // A pod already being deleted when first seen (e.g. after a restart): not a creation.
      this.deletePod(pod, false);
      return;
    }
    const ref = getControllerOf(pod);
    if (ref !== undefined) {
      const job = this.resolveControllerRef(pod.metadata.namespace, ref);
      if (job === undefined) return;
      this.expectations.creationObserved(keyOf(job));
      this.enqueueSyncJobBatched(job);
      return;
    }
    if (hasJobTrackingFinalizer(pod)) this.orphanQueue.add(keyOf(pod));
    for (const job of this.getPodJobs(pod)) this.enqueueSyncJobBatched(job);
  }

  private updatePod(old: Pod, cur: Pod): void {
    if (cur.metadata.resourceVersion === old.metadata.resourceVersion) return; // a resync
    if (cur.metadata.deletionTimestamp !== undefined) {
      // Graceful deletion started: a replacement may be made now rather than after the kubelet.
      this.deletePod(cur, false);
      return;
    }
    // Not checking old: adoption may add and remove the finalizer within one coalesced update.
    const finalizerRemoved = !hasJobTrackingFinalizer(cur);
    const observe = (job: Job) => {
      if (finalizerRemoved)
        this.finalizerExpectations.finalizerRemovalObserved(keyOf(job), cur.metadata.uid ?? "");
      this.enqueueSyncJobBatched(job);
    };
    const u = dependentUpdate(
      old,
      cur,
      (ns, ref) => this.resolveControllerRef(ns, ref),
      (p) => this.getPodJobs(p),
    );
    if (u.oldController !== undefined) observe(u.oldController);
    if (u.controller !== undefined) observe(u.controller);
    if (!u.controlled && hasJobTrackingFinalizer(cur)) this.orphanQueue.add(keyOf(cur));
    for (const job of u.adopters) this.enqueueSyncJobBatched(job);
  }

  /** deletePod: `final` for the informer's delete, false for a deletionTimestamp seen. */
  private deletePod(pod: Pod, final: boolean): void {
    const ref = getControllerOf(pod);
    const hasFinalizer = hasJobTrackingFinalizer(pod);
    if (ref === undefined) {
      // No Job cares about an orphan going, but it may still hold the finalizer of a Job.
      if (hasFinalizer) this.orphanQueue.add(keyOf(pod));
      return;
    }
    const job = this.resolveControllerRef(pod.metadata.namespace, ref);
    if (job === undefined || isJobFinished(job)) {
      // The sync will not remove this finalizer.
      if (hasFinalizer) this.orphanQueue.add(keyOf(pod));
      return;
    }
    const key = keyOf(job);
    this.expectations.deletionObserved(key);
    if (final || !hasFinalizer)
      this.finalizerExpectations.finalizerRemovalObserved(key, pod.metadata.uid ?? "");
    this.enqueueSyncJobBatched(job);
  }

  /** cleanupPodFinalizers: the pods of a finished or deleted Job that still hold the finalizer. */
  private cleanupPodFinalizers(job: Job): void {
    if (job.spec.selector === undefined) return;
    const sel = toSelector(job.spec.selector);
    for (const pod of this.pods.lister().namespace(job.metadata.namespace).list(sel))
      if (getControllerOf(pod)?.uid === job.metadata.uid && hasJobTrackingFinalizer(pod))
        this.orphanQueue.add(keyOf(pod));
  }

  /** syncOrphanPod: removes the tracking finalizer of a pod no unfinished batch/v1 Job owns. */
  async syncOrphanPod(key: string): Promise<void> {
    const pod = this.pods.get(key);
    if (pod === undefined) return;
    const ref = getControllerOf(pod);
    if (ref !== undefined) {
      if (ref.kind !== "Job" || ref.apiVersion !== "batch/v1") return; // not ours to touch
      const job = this.resolveControllerRef(pod.metadata.namespace, ref);
      if (job !== undefined && managedByExternalController(job) !== undefined) return;
      if (job !== undefined && !isJobFinished(job)) return; // adopted meanwhile
    }
    const patch = removeTrackingFinalizerPatch(pod);
    if (patch === undefined) return;
    const [ns, name] = splitMetaNamespaceKey(key);
    try {
      await this.client.resource<Pod>("v1", "pods", ns).patch(name, patch, "strategic");
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  /** One orphan pod key from the orphan queue; exposed for tests. */
  processNextOrphanPod(): Promise<boolean> {
    return processNextWorkItem(
      this.orphanQueue,
      (key) => this.syncOrphanPod(key),
      (key, e) =>
        this.log.warn(
          { controller: this.name, pod: key, err: String(e) },
          "error syncing orphan pod; requeuing",
        ),
    );
  }

  override async run(workers: number, signal: AbortSignal): Promise<void> {
    const orphans = runWorkers(this.orphanQueue, 1, signal, () => this.processNextOrphanPod());
    await Promise.all([super.run(workers, signal), orphans]);
  }
}
