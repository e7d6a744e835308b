/**
 * Pod tracking with finalizers (trackJobStatusAndRemoveFinalizers and
 * flushUncountedAndRemoveFinalizers of pkg/controller/job/job_controller.go). Every pod of a Job
 * carries the batch.kubernetes.io/job-tracking finalizer until it is counted, in three steps that
 * survive a crash between any two:
 *  1. the uids of newly finished pods go to status.uncountedTerminatedPods (written first);
 *  2. their finalizers are removed;
 *  3. the uids whose finalizer is gone move from the uncounted lists to succeeded / failed.
 * So a pod is counted exactly once, even after a restart: a pod with the finalizer is not counted
 * yet, one without it is counted (or about to be, from the uncounted lists). Indexed Jobs count
 * succeeded pods by index (status.completedIndexes) instead of by uid. The Job becomes Complete or
 * Failed only once nothing is uncounted and no pod is terminating.
 */
import type { Pod } from "@skiff/api";
import { cloneObject, isNotFound, keyOf } from "@skiff/client";
import { getCondition } from "../util/conditions.js";
import { type JobDeps, MAX_UNCOUNTED_PODS } from "./deps.js";
import { matchPodFailurePolicy } from "./pod-failure-policy.js";
import { hasJobTrackingFinalizer, isPodFailed, removeTrackingFinalizerPatch } from "./pods.js";
import {
  getCompletionIndex,
  hasBackoffLimitPerIndex,
  isIndexedJob,
  type SyncJobCtx,
  UNKNOWN_COMPLETION_INDEX,
} from "./sync-context.js";
import type { Job, JobCondition, JobStatus } from "./types.js";
import { ensureJobConditionStatus, newCondition } from "./util.js";

type Uncounted = { succeeded: string[]; failed: string[] };

/** The status' uncounted lists, made present (and arrays) so the sync can append to them. */
export function uncountedOf(status: JobStatus): Uncounted {
  const u = status.uncountedTerminatedPods ?? {};
  const out: Uncounted = { succeeded: u.succeeded ?? [], failed: u.failed ?? [] };
  status.uncountedTerminatedPods = out;
  return out;
}

export const isSuccessCriteriaMet = (c: JobCondition | undefined): boolean =>
  c?.type === "SuccessCriteriaMet" && c.status === "True";

/** hasSuccessCriteriaMetCondition. */
export function successCriteriaMetCondition(job: Job): JobCondition | undefined {
  const c = getCondition(job.status?.conditions, "SuccessCriteriaMet");
  return c?.status === "True" ? c : undefined;
}

/**
 * cleanUncountedPodsWithoutFinalizers: uids whose pod no longer has the finalizer leave the
 * uncounted lists and are added to the counters. Returns whether anything changed.
 */
export function cleanUncountedPodsWithoutFinalizers(
  status: JobStatus,
  withFinalizer: ReadonlySet<string>,
): boolean {
  const u = uncountedOf(status);
  let changed = false;
  const keptSucceeded = u.succeeded.filter((uid) => withFinalizer.has(uid));
  if (keptSucceeded.length !== u.succeeded.length) {
    changed = true;
    status.succeeded = (status.succeeded ?? 0) + u.succeeded.length - keptSucceeded.length;
    u.succeeded = keptSucceeded;
  }
  const keptFailed = u.failed.filter((uid) => withFinalizer.has(uid));
  if (keptFailed.length !== u.failed.length) {
    changed = true;
    status.failed = (status.failed ?? 0) + u.failed.length - keptFailed.length;
    u.failed = keptFailed;
  }
  return changed;
}

/** canRemoveFinalizer. */
function canRemoveFinalizer(ctx: SyncJobCtx, pod: Pod, considerFailed: boolean): boolean {
  if (ctx.job.metadata.deletionTimestamp !== undefined || ctx.finishedCondition !== undefined) return true;
  if (pod.status?.phase === "Succeeded") return true;
  if (!considerFailed) return false;
  if (hasBackoffLimitPerIndex(ctx.job)) {
    const ix = getCompletionIndex(pod.metadata.annotations);
    const kept = ix === UNKNOWN_COMPLETION_INDEX ? undefined : ctx.podsWithDelayedDeletionPerIndex.get(ix);
    if (kept !== undefined && kept.metadata.uid === pod.metadata.uid) return false;
  }
  return true;
}

/** updateJobStatus: PUT jobs/status; the answer becomes the Job the sync goes on with. */
export async function updateJobStatus(d: JobDeps, job: Job, what: string): Promise<Job> {
  try {
    const updated = await d.client
      .resource<Job>("batch/v1", "jobs", job.metadata.namespace)
      .updateStatus(job);
    const next = cloneObject(updated) as Job;
    next.status ??= {};
    uncountedOf(next.status);
    return next;
  } catch (e) {
    throw new Error(`${what}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

/** trackJobStatusAndRemoveFinalizers (see the file's comment). */
export async function trackJobStatusAndRemoveFinalizers(
  d: JobDeps,
  ctx: SyncJobCtx,
  needsFlush: boolean,
): Promise<void> {
  const job = ctx.job;
  job.status ??= {};
  const status = job.status;
  const indexed = isIndexedJob(job);
  const completions = job.spec.completions ?? 0;
  const pods = indexed
    ? [...ctx.pods].sort(
        (a, b) => getCompletionIndex(a.metadata.annotations) - getCompletionIndex(b.metadata.annotations),
      )
    : ctx.pods;
  const uidsWithFinalizer = new Set<string>();
  for (const p of pods)
    if (hasJobTrackingFinalizer(p) && !ctx.expectedRmFinalizers.has(p.metadata.uid ?? ""))
      uidsWithFinalizer.add(p.metadata.uid ?? "");
  if (cleanUncountedPodsWithoutFinalizers(status, uidsWithFinalizer)) needsFlush = true;
  const uncounted = uncountedOf(status);

  const podsToRemoveFinalizer: Pod[] = [];
  const newSucceededIndexes: number[] = [];
  let reachedMaxUncountedPods = false;
  for (const pod of pods) {
    const uid = pod.metadata.uid ?? "";
    if (!hasJobTrackingFinalizer(pod) || ctx.expectedRmFinalizers.has(uid)) continue; // counted before
    const considerFailed = isPodFailed(pod, job);
    if (!canRemoveFinalizer(ctx, pod, considerFailed)) continue;
    podsToRemoveFinalizer.push(pod);
    const ix = getCompletionIndex(pod.metadata.annotations);
    if (pod.status?.phase === "Succeeded" && !ctx.uncounted.failed.has(uid)) {
      if (indexed) {
        // The index is enough to never count a success twice: no uid needed.
        if (ix !== UNKNOWN_COMPLETION_INDEX && ix < completions && !ctx.prevSucceededIndexes.has(ix)) {
          newSucceededIndexes.push(ix);
          needsFlush = true;
        }
      } else if (!ctx.uncounted.succeeded.has(uid)) {
        needsFlush = true;
        uncounted.succeeded.push(uid);
      }
    } else if (
      considerFailed ||
      (ctx.finishedCondition !== undefined && !isSuccessCriteriaMet(ctx.finishedCondition))
    ) {
      // When the Job is finished (failed), every pod not terminated counts as failed.
      if (
        !ctx.uncounted.failed.has(uid) &&
        (!indexed || (ix !== UNKNOWN_COMPLETION_INDEX && ix < completions))
      ) {
        const counted =
          job.spec.podFailurePolicy === undefined ||
          matchPodFailurePolicy(job.spec.podFailurePolicy, pod, hasBackoffLimitPerIndex(job)).countFailed;
        if (counted) {
          needsFlush = true;
          uncounted.failed.push(uid);
        }
      }
    }
    if (
      newSucceededIndexes.length + uncounted.succeeded.length + uncounted.failed.length >=
      MAX_UNCOUNTED_PODS
    ) {
      // Keep the status small and leave the rest to the next sync (status and pod updates requeue it).
      reachedMaxUncountedPods = true;
      break;
    }
  }
  if (indexed) {
    ctx.succeededIndexes = ctx.succeededIndexes.withOrderedIndexes(newSucceededIndexes);
    const completed = ctx.succeededIndexes.toString();
    if (completed !== (status.completedIndexes ?? "")) needsFlush = true;
    status.succeeded = ctx.succeededIndexes.total();
    status.completedIndexes = completed;
    const failedIndexes = ctx.failedIndexes?.toString();
    if (failedIndexes !== status.failedIndexes) {
      if (failedIndexes === undefined) delete status.failedIndexes;
      else status.failedIndexes = failedIndexes;
      needsFlush = true;
    }
  }
  const now = d.clock.now();
  const finished = ctx.finishedCondition;
  if (finished?.type === "FailureTarget") {
    // The interim condition is written before any finalizer goes, so the reason survives a crash.
    status.conditions = [...(status.conditions ?? []), finished];
    needsFlush = true;
    ctx.finishedCondition = newCondition(
      "Failed",
      "True",
      finished.reason ?? "",
      finished.message ?? "",
      now,
    );
  }
  if (isSuccessCriteriaMet(finished) && finished !== undefined) {
    if (successCriteriaMetCondition(job) === undefined) {
      status.conditions = [...(status.conditions ?? []), finished];
      needsFlush = true;
    }
    ctx.finishedCondition = newCondition(
      "Complete",
      "True",
      finished.reason ?? "",
      finished.message ?? "",
      now,
    );
  }
  needsFlush = await flushUncountedAndRemoveFinalizers(
    d,
    ctx,
    podsToRemoveFinalizer,
    uidsWithFinalizer,
    needsFlush,
  );
  const jobFinished = !reachedMaxUncountedPods && enactJobFinished(d, ctx);
  if (jobFinished) needsFlush = true;
  if (needsFlush) {
    ctx.job = await updateJobStatus(d, ctx.job, "removing uncounted pods from status");
    if (jobFinished && ctx.finishedCondition !== undefined)
      recordJobFinished(d, ctx.job, ctx.finishedCondition);
  }
}

/**
 * flushUncountedAndRemoveFinalizers: writes the status (new uncounted uids, interim conditions),
 * removes the finalizers, moves the uids whose finalizer is gone to the counters and, if some
 * removals failed, writes that partial progress. Returns whether a write is still owed.
 */
async function flushUncountedAndRemoveFinalizers(
  d: JobDeps,
  ctx: SyncJobCtx,
  podsToRemoveFinalizer: readonly Pod[],
  uidsWithFinalizer: Set<string>,
  needsFlush: boolean,
): Promise<boolean> {
  if (needsFlush) {
    ctx.job = await updateJobStatus(d, ctx.job, "adding uncounted pods to status");
    d.backoffStore.update(ctx.newBackoffRecord);
    needsFlush = false;
  }
  let rmError: unknown;
  if (podsToRemoveFinalizer.length > 0) {
    const [removed, err] = await removeTrackingFinalizerFromPods(d, keyOf(ctx.job), podsToRemoveFinalizer);
    rmError = err;
    podsToRemoveFinalizer.forEach((p, i) => {
      if (removed[i] === true) uidsWithFinalizer.delete(p.metadata.uid ?? "");
    });
  }
  if (cleanUncountedPodsWithoutFinalizers(ctx.job.status ?? {}, uidsWithFinalizer)) needsFlush = true;
  if (rmError !== undefined) {
    if (needsFlush) await updateJobStatus(d, ctx.job, "removing uncounted pods from status");
    throw rmError;
  }
  return needsFlush;
}

/**
 * removeTrackingFinalizerFromPods: per pod, whether its finalizer is gone (a pod deleted meanwhile
 * counts as done), and the first error.
 */
async function removeTrackingFinalizerFromPods(
  d: JobDeps,
  jobKey: string,
  pods: readonly Pod[],
): Promise<[boolean[], unknown]> {
  d.finalizerExpectations.expectFinalizersRemoved(
    jobKey,
    pods.map((p) => p.metadata.uid ?? ""),
  );
  const removed = pods.map(() => false);
  let error: unknown;
  await Promise.all(
    pods.map(async (pod, i) => {
      const patch = removeTrackingFinalizerPatch(pod);
      if (patch === undefined) return;
      try {
        await d.client
          .resource<Pod>("v1", "pods", pod.metadata.namespace)
          .patch(pod.metadata.name, patch, "strategic");
      } catch (e) {
        // No update will show the removal: stop expecting it.
        d.finalizerExpectations.finalizerRemovalObserved(jobKey, pod.metadata.uid ?? "");
        if (!isNotFound(e)) {
          error ??= new Error(`removing tracking finalizer: ${e instanceof Error ? e.message : String(e)}`, {
            cause: e,
          });
          return;
        }
      }
      removed[i] = true;
    }),
  );
  return [removed, error];
}

/**
 * enactJobFinished: the final Complete / Failed condition (and completionTime), once no pod is
 * uncounted or terminating. Returns whether the Job is finished.
 */
function enactJobFinished(d: JobDeps, ctx: SyncJobCtx): boolean {
  const finished = ctx.finishedCondition;
  if (finished === undefined) return false;
  ctx.job.status ??= {};
  const status = ctx.job.status;
  const u = uncountedOf(status);
  if (u.succeeded.length + u.failed.length > 0) return false;
  if (ctx.terminating > 0) return false;
  const [conditions] = ensureJobConditionStatus(
    status.conditions ?? [],
    finished.type,
    finished.status,
    finished.reason ?? "",
    finished.message ?? "",
    d.clock.now(),
  );
  status.conditions = conditions;
  if (finished.type === "Complete") status.completionTime = finished.lastTransitionTime;
  return true;
}

/** recordJobFinished: the events of a finished Job. */
function recordJobFinished(d: JobDeps, job: Job, finished: JobCondition): void {
  if (finished.type === "Complete") {
    const completions = job.spec.completions;
    if (typeof completions === "number" && (job.status?.succeeded ?? 0) > completions)
      d.recorder.event(
        job,
        "Warning",
        "TooManySucceededPods",
        "Too many succeeded pods running after completion count reached",
      );
    d.recorder.event(job, "Normal", "Completed", "Job completed");
  } else d.recorder.event(job, "Warning", finished.reason ?? "", finished.message ?? "");
}
