/**
 * What one sync of a Job works on (syncJobCtx of pkg/controller/job/job_controller.go): the Job
 * (a copy whose status the sync changes), its pods, the counts computed from them, and the
 * finished condition once the sync decides the Job is done.
 */
import type { Pod } from "@skiff/api";
import type { BackoffRecord } from "./backoff.js";
import type { OrderedIntervals } from "./intervals.js";
import { hasJobTrackingFinalizer } from "./pods.js";
import type { Job, JobCondition } from "./types.js";

export interface SyncJobCtx {
  /** A copy of the cached Job; its status is what the sync writes. */
  job: Job;
  /** Every pod the Job owns after adoption and release (cache objects: do not change). */
  pods: Pod[];
  activePods: Pod[];
  /** The condition the Job finishes with (interim or final), once decided. */
  finishedCondition: JobCondition | undefined;
  succeeded: number;
  failed: number;
  prevSucceededIndexes: OrderedIntervals;
  succeededIndexes: OrderedIntervals;
  /** Indexed Jobs with backoffLimitPerIndex only. */
  failedIndexes: OrderedIntervals | undefined;
  newBackoffRecord: BackoffRecord;
  /** Pods whose tracking finalizer removal was asked for and not yet seen. */
  expectedRmFinalizers: ReadonlySet<string>;
  /** status.uncountedTerminatedPods as sets of uids. */
  uncounted: { succeeded: Set<string>; failed: Set<string> };
  /** backoffLimitPerIndex: per index, the failed pod kept until its replacement exists. */
  podsWithDelayedDeletionPerIndex: Map<number, Pod>;
  terminating: number;
  ready: number;
}

export const UNKNOWN_COMPLETION_INDEX = -1;

/** getCompletionIndex: the index annotation as a non-negative integer, else -1. */
export function getCompletionIndex(annotations: Record<string, string> | undefined): number {
  const v = annotations?.["batch.kubernetes.io/job-completion-index"];
  if (v === undefined || !/^[+-]?\d+$/.test(v)) return UNKNOWN_COMPLETION_INDEX;
  const i = Number.parseInt(v, 10);
  return i < 0 ? UNKNOWN_COMPLETION_INDEX : i;
}

export function isIndexedJob(job: Job): boolean {
  return job.spec.completionMode === "Indexed";
}

export function hasBackoffLimitPerIndex(job: Job): boolean {
  return job.spec.backoffLimitPerIndex !== undefined && job.spec.backoffLimitPerIndex !== null;
}

/**
 * getValidPodsWithFilter: pods not yet counted (tracking finalizer on, not in `uncounted`, no
 * finalizer removal pending), with a valid index for Indexed Jobs, that pass `filter`.
 */
export function getValidPodsWithFilter(
  ctx: SyncJobCtx,
  uncounted: ReadonlySet<string> | undefined,
  filter: (p: Pod) => boolean,
): Pod[] {
  const out: Pod[] = [];
  const completions = ctx.job.spec.completions ?? 0;
  for (const p of ctx.pods) {
    const uid = p.metadata.uid ?? "";
    if (!hasJobTrackingFinalizer(p) || uncounted?.has(uid) === true || ctx.expectedRmFinalizers.has(uid))
      continue;
    if (isIndexedJob(ctx.job)) {
      const ix = getCompletionIndex(p.metadata.annotations);
      if (ix === UNKNOWN_COMPLETION_INDEX || ix >= completions) continue;
    }
    if (filter(p)) out.push(p);
  }
  return out;
}
