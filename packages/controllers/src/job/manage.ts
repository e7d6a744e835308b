/**
 * manageJob of pkg/controller/job/job_controller.go: the one step toward the wanted number of
 * active pods. A suspended Job loses all its active pods; one with too many loses the least
 * advanced (and, if Indexed, the duplicates); one with too few gets new pods, in slow-start
 * batches, after the pod-failure back-off, for the lowest pending indexes when Indexed. Creations
 * and deletions are announced to the expectations first, so that the next sync waits for them.
 */
import type { Pod } from "@skiff/api";
import { cloneObject, isNotFound, keyOf } from "@skiff/client";
import { compareActivePods } from "../util/active-pods.js";
import { newControllerRef } from "../util/controller-ref.js";
import { isNamespaceTerminating } from "../util/errors.js";
import { messageOf, SLOW_START_INITIAL_BATCH_SIZE } from "../util/pod-control.js";
import { remainingBackoff } from "./backoff.js";
import { type JobDeps, MAX_POD_CREATE_DELETE_PER_SYNC } from "./deps.js";
import {
  addCompletionIndexEnvVariables,
  addIndexFailureCountAnnotation,
  duplicatedIndexPodsForRemoval,
  firstPendingIndexes,
  podGenerateNameWithIndex,
  remainingTimePerIndex,
  setCompletionIndex,
} from "./indexed.js";
import { isPodReady, onlyReplaceFailedPods, removeTrackingFinalizerPatch } from "./pods.js";
import { hasBackoffLimitPerIndex, isIndexedJob, type SyncJobCtx } from "./sync-context.js";
import { JOB_TRACKING_FINALIZER, type Job, type JobPodTemplate } from "./types.js";

export const JOB_GVK = { apiVersion: "batch/v1", kind: "Job" };

/** activePodsForRemoval: Indexed duplicates and strays first, then the least advanced. */
export function activePodsForRemoval(job: Job, pods: readonly Pod[], rmAtLeast: number): Pod[] {
  let rm: Pod[] = [];
  let left: Pod[] = [...pods];
  if (isIndexedJob(job)) [rm, left] = duplicatedIndexPodsForRemoval(pods, job.spec.completions ?? 0);
  if (rm.length < rmAtLeast) {
    left.sort(compareActivePods);
    rm = [...rm, ...left.slice(0, rmAtLeast - rm.length)];
  }
  return rm;
}

export interface DeleteResult {
  deletedReady: number;
  deleted: number;
  error: unknown;
}

/**
 * deleteJobPods: removes each pod's tracking finalizer, then deletes it. A failure lowers the
 * expected deletions (no event will come for it).
 */
export async function deleteJobPods(
  d: JobDeps,
  job: Job,
  jobKey: string,
  pods: readonly Pod[],
): Promise<DeleteResult> {
  const r: DeleteResult = { deletedReady: 0, deleted: pods.length, error: undefined };
  const fail = (e: unknown) => {
    d.expectations.deletionObserved(jobKey);
    if (!isNotFound(e)) {
      r.deleted--;
      r.error ??= e;
    }
  };
  await Promise.all(
    pods.map(async (pod) => {
      const patch = removeTrackingFinalizerPatch(pod);
      if (patch !== undefined) {
        try {
          await d.client
            .resource<Pod>("v1", "pods", pod.metadata.namespace)
            .patch(pod.metadata.name, patch, "strategic");
        } catch (e) {
          // Gone already: as good as deleted (kube's wrapped error is still a NotFound).
          if (isNotFound(e)) d.expectations.deletionObserved(jobKey);
          else fail(new Error(`removing completion finalizer: ${messageOf(e)}`, { cause: e }));
          return;
        }
      }
      try {
        const deleted = await d.podControl.deletePod(job.metadata.namespace, pod.metadata.name, job);
        if (!deleted) d.expectations.deletionObserved(jobKey); // NotFound: no event will come
      } catch (e) {
        fail(e);
      }
      if (isPodReady(pod)) r.deletedReady++;
    }),
  );
  return r;
}

/** deleteActivePods: deletes the pods keeping their finalizers (the status tracking removes them). */
export async function deleteActivePods(d: JobDeps, job: Job, pods: readonly Pod[]): Promise<DeleteResult> {
  const r: DeleteResult = { deletedReady: 0, deleted: pods.length, error: undefined };
  await Promise.all(
    pods.map(async (pod) => {
      try {
        await d.podControl.deletePod(job.metadata.namespace, pod.metadata.name, job);
      } catch (e) {
        r.deleted--;
        r.error ??= e;
      }
      if (isPodReady(pod)) r.deletedReady++;
    }),
  );
  return r;
}

/** manageJob: the new active count and the first error. */
export async function manageJob(
  d: JobDeps,
  job: Job,
  ctx: SyncJobCtx,
): Promise<{ active: number; error: unknown }> {
  let active = ctx.activePods.length;
  const parallelism = job.spec.parallelism ?? 1;
  const key = keyOf(job);
  const removed = (r: DeleteResult) => {
    active -= r.deleted;
    ctx.terminating += r.deleted;
    ctx.ready -= r.deletedReady;
    return { active, error: r.error };
  };

  if (job.spec.suspend === true) {
    const rm = activePodsForRemoval(job, ctx.activePods, active);
    d.expectations.expectDeletions(key, rm.length);
    return removed(await deleteJobPods(d, job, key, rm));
  }

  let wantActive: number;
  const completions = job.spec.completions;
  if (completions === undefined || completions === null)
    wantActive = ctx.succeeded > 0 ? active : parallelism;
  else wantActive = Math.max(0, Math.min(completions - ctx.succeeded, parallelism));

  const rm = activePodsForRemoval(job, ctx.activePods, Math.max(0, active - wantActive)).slice(
    0,
    MAX_POD_CREATE_DELETE_PER_SYNC,
  );
  if (rm.length > 0) {
    // Deletion and creation never in one sync (an Indexed Job may want both): deletion first.
    d.expectations.expectDeletions(key, rm.length);
    return removed(await deleteJobPods(d, job, key, rm));
  }

  const terminating = onlyReplaceFailedPods(job) ? ctx.terminating : 0;
  let diff = wantActive - terminating - active;
  if (diff <= 0) return { active, error: undefined };

  const now = d.clock.now();
  const { podFailureBackoffMs: base, podFailureBackoffMaxMs: max } = backoffOf(d);
  if (!hasBackoffLimitPerIndex(job)) {
    const rec = ctx.newBackoffRecord;
    const wait = remainingBackoff(now, base, max, rec.failuresAfterLastSuccess, rec.lastFailureTime);
    if (wait > 0) {
      // kube returns 0 here, which writes status.active 0 while pods still run; keep the count.
      d.enqueueSyncJobWithDelay(job, wait);
      return { active, error: undefined };
    }
  }
  diff = Math.min(diff, MAX_POD_CREATE_DELETE_PER_SYNC);

  let indexesToAdd: number[] = [];
  if (isIndexedJob(job)) {
    indexesToAdd = firstPendingIndexes(ctx, diff, completions ?? 0);
    if (hasBackoffLimitPerIndex(job)) {
      let minWait: number | undefined;
      const now2 = d.clock.now();
      const ready = indexesToAdd.filter((ix) => {
        const w = remainingTimePerIndex(now2, base, max, ctx.podsWithDelayedDeletionPerIndex.get(ix));
        if (w > 0) minWait = minWait === undefined ? w : Math.min(minWait, w);
        return w === 0;
      });
      if (ready.length === 0 && minWait !== undefined) {
        d.enqueueSyncJobWithDelay(job, minWait);
        return { active, error: undefined };
      }
      indexesToAdd = ready;
    }
    diff = indexesToAdd.length;
  }

  d.expectations.expectCreations(key, diff);
  active += diff;
  const template = cloneObject(job.spec.template) as JobPodTemplate;
  if (isIndexedJob(job)) addCompletionIndexEnvVariables(template);
  template.metadata ??= {};
  const fins = template.metadata.finalizers ?? [];
  if (!fins.includes(JOB_TRACKING_FINALIZER))
    template.metadata.finalizers = [...fins, JOB_TRACKING_FINALIZER];
  const ref = newControllerRef(job, JOB_GVK);

  let error: unknown;
  let attempted = 0;
  let remaining = diff;
  // slowStartBatch inline: batches of 1, 2, 4 ... that stop after a batch with a failure.
  for (
    let batch = Math.min(remaining, SLOW_START_INITIAL_BATCH_SIZE);
    batch > 0;
    batch = Math.min(2 * batch, remaining)
  ) {
    let failed = false;
    await Promise.all(
      Array.from({ length: batch }, async () => {
        const i = attempted++;
        const ix = indexesToAdd[i];
        let t = template;
        if (ix !== undefined) {
          t = cloneObject(template) as JobPodTemplate;
          setCompletionIndex(t, job.metadata.name, ix);
          if (hasBackoffLimitPerIndex(job))
            addIndexFailureCountAnnotation(t, job, ctx.podsWithDelayedDeletionPerIndex.get(ix));
        }
        try {
          await d.podControl.createPod(job.metadata.namespace, t, job, ref, (pod) => {
            if (ix !== undefined) pod.metadata.generateName = podGenerateNameWithIndex(job.metadata.name, ix);
          });
        } catch (e) {
          // The namespace is going away: every later create fails too; nothing to count.
          if (isNamespaceTerminating(e)) return;
          d.expectations.creationObserved(key);
          active--;
          failed = true;
          error ??= e;
        }
      }),
    );
    remaining -= batch;
    if (failed) {
      // The creations never tried are not expected either; the next sync retries them.
      for (let i = 0; i < remaining; i++) d.expectations.creationObserved(key);
      active -= remaining;
      break;
    }
  }
  return { active, error };
}

function backoffOf(d: JobDeps): { podFailureBackoffMs: number; podFailureBackoffMaxMs: number } {
  return {
    podFailureBackoffMs: d.config.jobPodFailureBackoffMs,
    podFailureBackoffMaxMs: d.config.jobPodFailureBackoffMaxMs,
  };
}
