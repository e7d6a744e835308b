/**
 * syncJob of pkg/controller/job/job_controller.go: one step for one Job. It claims the Job's pods,
 * counts what finished since the last status, decides whether the Job has failed (FailJob rule,
 * backoff limit, active deadline, failed indexes) or met its success criteria, and otherwise lets
 * manageJob create or delete pods; then the status tracking counts finished pods and writes the
 * status. In 1.32 (JobManagedBy and JobPodReplacementPolicy on) the terminal condition is preceded
 * by an interim one: FailureTarget before Failed, SuccessCriteriaMet before Complete, and the
 * terminal one waits until no pod is terminating.
 */
import { metav1Time, type Pod } from "@skiff/api";
import { cloneObject, splitMetaNamespaceKey, toSelector } from "@skiff/client";
import { getCondition } from "../util/conditions.js";
import { claimObjects, recheckController } from "../util/controller-ref.js";
import {
  calculateFailedIndexes,
  calculateSucceededIndexes,
  podsWithDelayedDeletionPerIndex,
} from "./indexed.js";
import { OrderedIntervals } from "./intervals.js";
import type { JobController } from "./job-controller.js";
import { managedByExternalController } from "./job-controller.js";
import { deleteActivePods, JOB_GVK, manageJob } from "./manage.js";
import { matchPodFailurePolicy } from "./pod-failure-policy.js";
import {
  containerStatuses,
  initContainerStatuses,
  isPodActive,
  isPodFailed,
  isPodReady,
  isPodTerminating,
} from "./pods.js";
import { successCriteriaMetCondition, trackJobStatusAndRemoveFinalizers, uncountedOf } from "./status.js";
import { matchSuccessPolicy } from "./success-policy.js";
import {
  getValidPodsWithFilter,
  hasBackoffLimitPerIndex,
  isIndexedJob,
  type SyncJobCtx,
} from "./sync-context.js";
import { JOB_TRACKING_FINALIZER, type Job, type JobCondition } from "./types.js";
import { ensureJobConditionStatus, isJobFinished, newCondition } from "./util.js";

/** getPodsForJob: the namespace's pods claimed for the Job (adopted ones get the finalizer). */
async function getPodsForJob(c: JobController, job: Job): Promise<Pod[]> {
  const selector = toSelector(job.spec.selector ?? {});
  const pods = c.pods.lister().namespace(job.metadata.namespace).list();
  const jobs = c.client.resource<Job>("batch/v1", "jobs", job.metadata.namespace);
  return claimObjects<Pod>(pods, {
    controller: job,
    gvk: JOB_GVK,
    match: (p) => !selector.empty() && selector.matches(p.metadata.labels),
    client: (ns) => c.client.resource<Pod>("v1", "pods", ns),
    canAdopt: recheckController(() => jobs.get(job.metadata.name), job),
    finalizers: [JOB_TRACKING_FINALIZER],
  });
}

const jobSuspended = (job: Job) => job.spec.suspend === true;

/** getNewFinishedPods: succeeded and failed pods not yet counted in the status. */
function getNewFinishedPods(ctx: SyncJobCtx): [Pod[], Pod[]] {
  return [
    getValidPodsWithFilter(ctx, ctx.uncounted.succeeded, (p) => p.status?.phase === "Succeeded"),
    getValidPodsWithFilter(ctx, ctx.uncounted.failed, (p) => isPodFailed(p, ctx.job)),
  ];
}

/** nonIgnoredFailedPodsCount: failures an Ignore rule does not take out of the count. */
function nonIgnoredFailedPodsCount(job: Job, failed: readonly Pod[]): number {
  if (job.spec.podFailurePolicy === undefined) return failed.length;
  return failed.filter(
    (p) => matchPodFailurePolicy(job.spec.podFailurePolicy, p, hasBackoffLimitPerIndex(job)).countFailed,
  ).length;
}

/** getFailJobMessage: the message of the first failed pod matching a FailJob rule. */
function getFailJobMessage(job: Job, pods: readonly Pod[]): string | undefined {
  if (job.spec.podFailurePolicy === undefined) return undefined;
  for (const p of pods) {
    if (!isPodFailed(p, job)) continue;
    const m = matchPodFailurePolicy(job.spec.podFailurePolicy, p, hasBackoffLimitPerIndex(job));
    if (m.failJobMessage !== undefined) return m.failJobMessage;
  }
  return undefined;
}

/** pastBackoffLimitOnFailure: restartPolicy OnFailure; container restarts reach the limit. */
function pastBackoffLimitOnFailure(job: Job, pods: readonly Pod[]): boolean {
  if (job.spec.template.spec.restartPolicy !== "OnFailure") return false;
  let restarts = 0;
  for (const p of pods) {
    if (p.status?.phase !== "Running" && p.status?.phase !== "Pending") continue;
    for (const s of [...initContainerStatuses(p), ...containerStatuses(p)]) restarts += s.restartCount ?? 0;
  }
  const limit = job.spec.backoffLimit ?? 6;
  return limit === 0 ? restarts > 0 : restarts >= limit;
}

function pastActiveDeadline(c: JobController, job: Job): boolean {
  const ads = job.spec.activeDeadlineSeconds;
  const start = job.status?.startTime;
  if (typeof ads !== "number" || start === undefined || jobSuspended(job)) return false;
  return c.clock.now() - Date.parse(start) >= ads * 1000;
}

/** newFailureCondition / newSuccessCondition: the interim types (delayTerminalCondition is on). */
function failureTarget(c: JobController, reason: string, message: string): JobCondition {
  return newCondition("FailureTarget", "True", reason, message, c.clock.now());
}

/** syncJob. */
export async function syncJob(c: JobController, key: string): Promise<void> {
  const [ns, name] = splitMetaNamespaceKey(key);
  if (ns === "" || name === "")
    throw new Error(`invalid job key ${JSON.stringify(key)}: either namespace or name is missing`);
  const shared = c.jobs.get(key);
  if (shared === undefined) {
    c.expectations.deleteExpectations(key);
    c.finalizerExpectations.deleteExpectations(key);
    c.backoffStore.remove(key);
    return;
  }
  if (managedByExternalController(shared) !== undefined) return;
  const job = cloneObject(shared) as Job;
  if (isJobFinished(job)) {
    c.backoffStore.remove(key);
    return;
  }
  const mode = job.spec.completionMode;
  if (mode !== undefined && mode !== null && mode !== "NonIndexed" && mode !== "Indexed") {
    c.recorder.event(
      job,
      "Warning",
      "UnknownCompletionMode",
      "Skipped Job sync because completion mode is unknown",
    );
    return;
  }
  job.status ??= {};
  const status = job.status;
  const uncounted = uncountedOf(status);

  // Expectations before listing pods: a pod that lands after the check defers the sync instead.
  const satisfiedExpectations = c.expectations.satisfiedExpectations(key);
  const pods = await getPodsForJob(c, job);
  const activePods = pods.filter(isPodActive);
  const ctx: SyncJobCtx = {
    job,
    pods,
    activePods,
    finishedCondition: undefined,
    succeeded: 0,
    failed: 0,
    prevSucceededIndexes: new OrderedIntervals(),
    succeededIndexes: new OrderedIntervals(),
    failedIndexes: undefined,
    newBackoffRecord: { key, failuresAfterLastSuccess: 0, lastFailureTime: undefined },
    expectedRmFinalizers: c.finalizerExpectations.getExpectedUIDs(key),
    uncounted: { succeeded: new Set(uncounted.succeeded), failed: new Set(uncounted.failed) },
    podsWithDelayedDeletionPerIndex: new Map(),
    terminating: pods.filter(isPodTerminating).length,
    ready: activePods.filter(isPodReady).length,
  };
  let active = activePods.length;
  const [newSucceeded, newFailed] = getNewFinishedPods(ctx);
  ctx.succeeded = (status.succeeded ?? 0) + newSucceeded.length + uncounted.succeeded.length;
  ctx.failed = (status.failed ?? 0) + nonIgnoredFailedPodsCount(job, newFailed) + uncounted.failed.length;

  // First start; a suspended Job starts when resumed.
  if (status.startTime === undefined && !jobSuspended(job)) status.startTime = metav1Now(c);
  ctx.newBackoffRecord = c.backoffStore.newBackoffRecord(key, newSucceeded, newFailed);

  const exceedsBackoffLimit = ctx.failed > (job.spec.backoffLimit ?? 6);
  ctx.finishedCondition = successCriteriaMetCondition(job);
  // Once SuccessCriteriaMet is recorded the Job succeeds: the failure policy is not looked at.
  if (ctx.finishedCondition === undefined) {
    const target = getCondition(status.conditions, "FailureTarget");
    if (target?.status === "True")
      ctx.finishedCondition = newCondition(
        "Failed",
        "True",
        target.reason ?? "",
        target.message ?? "",
        c.clock.now(),
      );
    else {
      const msg = getFailJobMessage(job, pods);
      if (msg !== undefined) ctx.finishedCondition = failureTarget(c, "PodFailurePolicy", msg);
    }
  }
  if (ctx.finishedCondition === undefined) {
    if (exceedsBackoffLimit || pastBackoffLimitOnFailure(job, pods))
      ctx.finishedCondition = failureTarget(
        c,
        "BackoffLimitExceeded",
        "Job has reached the specified backoff limit",
      );
    else if (pastActiveDeadline(c, job))
      ctx.finishedCondition = failureTarget(
        c,
        "DeadlineExceeded",
        "Job was active longer than specified deadline",
      );
    else if (typeof job.spec.activeDeadlineSeconds === "number" && !jobSuspended(job)) {
      const left =
        job.spec.activeDeadlineSeconds * 1000 - (c.clock.now() - Date.parse(status.startTime ?? ""));
      c.enqueueAfter(job, left);
    }
  }

  if (isIndexedJob(job)) {
    [ctx.prevSucceededIndexes, ctx.succeededIndexes] = calculateSucceededIndexes(job, pods);
    ctx.succeeded = ctx.succeededIndexes.total();
    const completions = job.spec.completions ?? 0;
    if (hasBackoffLimitPerIndex(job)) {
      ctx.failedIndexes = calculateFailedIndexes(job, pods);
      const failedCount = ctx.failedIndexes.total();
      if (ctx.finishedCondition === undefined) {
        const max = job.spec.maxFailedIndexes;
        if (typeof max === "number" && failedCount > max)
          ctx.finishedCondition = failureTarget(
            c,
            "MaxFailedIndexesExceeded",
            "Job has exceeded the specified maximal number of failed indexes",
          );
        else if (failedCount > 0 && failedCount + ctx.succeededIndexes.total() >= completions)
          ctx.finishedCondition = failureTarget(c, "FailedIndexes", "Job has failed indexes");
      }
      ctx.podsWithDelayedDeletionPerIndex = podsWithDelayedDeletionPerIndex(ctx);
    }
    if (ctx.finishedCondition === undefined) {
      const [msg, met] = matchSuccessPolicy(job.spec.successPolicy, completions, ctx.succeededIndexes);
      if (met)
        ctx.finishedCondition = newCondition(
          "SuccessCriteriaMet",
          "True",
          "SuccessPolicy",
          msg,
          c.clock.now(),
        );
    }
  }

  let suspendCondChanged = false;
  let manageJobError: unknown;
  if (ctx.finishedCondition !== undefined) {
    // Finishing: the remaining active pods go (their finalizers stay until they are counted).
    const r = await deleteActivePods(c, job, activePods);
    if (r.deleted !== active || !satisfiedExpectations) {
      // Pods or finalizers may remain that the cache does not show yet: not finished this time.
      ctx.finishedCondition = undefined;
    }
    active -= r.deleted;
    ctx.terminating += r.deleted;
    ctx.ready -= r.deletedReady;
    manageJobError = r.error;
  } else {
    let manageJobCalled = false;
    if (satisfiedExpectations && job.metadata.deletionTimestamp === undefined) {
      const r = await manageJob(c, job, ctx);
      active = r.active;
      manageJobError = r.error;
      manageJobCalled = true;
    }
    const completions = job.spec.completions;
    // Without completions, the first success ends the Job once the others have finished.
    const complete =
      completions === undefined || completions === null
        ? ctx.succeeded > 0 && active === 0
        : ctx.succeeded >= completions && active === 0;
    if (complete)
      ctx.finishedCondition = newCondition(
        "SuccessCriteriaMet",
        "True",
        "CompletionsReached",
        "Reached expected number of succeeded pods",
        c.clock.now(),
      );
    else if (manageJobCalled) suspendCondChanged = updateSuspendCondition(c, job);
  }

  const needsStatusUpdate =
    suspendCondChanged ||
    active !== (status.active ?? 0) ||
    ctx.ready !== status.ready ||
    ctx.terminating !== status.terminating;
  status.active = active;
  status.ready = ctx.ready;
  status.terminating = ctx.terminating;
  try {
    await trackJobStatusAndRemoveFinalizers(c, ctx, needsStatusUpdate);
  } catch (e) {
    throw new Error(`tracking status: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  if (manageJobError !== undefined) throw manageJobError;
}

/** The Suspended condition and its events; a resumed Job restarts its active deadline clock. */
function updateSuspendCondition(c: JobController, job: Job): boolean {
  const status = job.status ?? {};
  const suspended = jobSuspended(job);
  const [conditions, changed] = ensureJobConditionStatus(
    status.conditions ?? [],
    "Suspended",
    suspended ? "True" : "False",
    suspended ? "JobSuspended" : "JobResumed",
    suspended ? "Job suspended" : "Job resumed",
    c.clock.now(),
  );
  status.conditions = conditions;
  if (!changed) return false;
  if (suspended) c.recorder.event(job, "Normal", "Suspended", "Job suspended");
  else {
    c.recorder.event(job, "Normal", "Resumed", "Job resumed");
    // activeDeadlineSeconds counts continuous activity: resuming starts it again.
    status.startTime = metav1Now(c);
  }
  return true;
}

function metav1Now(c: JobController): string {
  return metav1Time(new Date(c.clock.now()));
}
