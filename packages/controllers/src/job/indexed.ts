/**
 * Indexed completion mode (pkg/controller/job/indexed_job_utils.go): each pod carries its
 * completion index (annotation and label batch.kubernetes.io/job-completion-index, hostname
 * `<job>-<index>`, env JOB_COMPLETION_INDEX from a fieldRef on the label); the Job succeeds once
 * every index below completions has a succeeded pod, and the controller creates the lowest
 * indexes that are neither succeeded, failed nor running, and deletes duplicates.
 */
import type { Container, Pod } from "@skiff/api";
import { compareActivePods } from "../util/active-pods.js";
import { getFinishedTime, remainingBackoff } from "./backoff.js";
import { OrderedIntervals } from "./intervals.js";
import { matchPodFailurePolicy } from "./pod-failure-policy.js";
import { hasJobTrackingFinalizer, isPodFailed, isPodTerminating, onlyReplaceFailedPods } from "./pods.js";
import {
  getCompletionIndex,
  getValidPodsWithFilter,
  hasBackoffLimitPerIndex,
  type SyncJobCtx,
  UNKNOWN_COMPLETION_INDEX,
} from "./sync-context.js";
import {
  COMPLETION_INDEX_ENV_NAME,
  JOB_COMPLETION_INDEX_ANNOTATION,
  JOB_INDEX_FAILURE_COUNT_ANNOTATION,
  JOB_INDEX_IGNORED_FAILURE_COUNT_ANNOTATION,
  type Job,
  type JobPodTemplate,
} from "./types.js";

/** names.MaxGeneratedNameLength: 63 less the 5 random characters. */
const MAX_GENERATED_NAME_LENGTH = 58;

const validIndex = (ix: number, completions: number) => ix !== UNKNOWN_COMPLETION_INDEX && ix < completions;

/** calculateSucceededIndexes: [status.completedIndexes, those plus newly succeeded pods' indexes]. */
export function calculateSucceededIndexes(
  job: Job,
  pods: readonly Pod[],
): [OrderedIntervals, OrderedIntervals] {
  const completions = job.spec.completions ?? 0;
  const prev = OrderedIntervals.parse(job.status?.completedIndexes, completions);
  const added = new Set<number>();
  for (const p of pods) {
    const ix = getCompletionIndex(p.metadata.annotations);
    if (p.status?.phase === "Succeeded" && validIndex(ix, completions) && hasJobTrackingFinalizer(p))
      added.add(ix);
  }
  return [prev, prev.withOrderedIndexes([...added].sort((a, b) => a - b))];
}

/** calculateFailedIndexes: status.failedIndexes plus the indexes whose pods failed for good. */
export function calculateFailedIndexes(job: Job, pods: readonly Pod[]): OrderedIntervals {
  const completions = job.spec.completions ?? 0;
  const prev = OrderedIntervals.parse(job.status?.failedIndexes, completions);
  const added = new Set<number>();
  for (const p of pods) {
    const ix = getCompletionIndex(p.metadata.annotations);
    if (validIndex(ix, completions) && hasJobTrackingFinalizer(p) && isIndexFailed(job, p)) added.add(ix);
  }
  return prev.withOrderedIndexes([...added].sort((a, b) => a - b));
}

/** isIndexFailed: a FailIndex rule matched, or the counted failures reached backoffLimitPerIndex. */
function isIndexFailed(job: Job, pod: Pod): boolean {
  let counted = false;
  if (isPodFailed(pod, job)) {
    if (job.spec.podFailurePolicy !== undefined) {
      const m = matchPodFailurePolicy(job.spec.podFailurePolicy, pod, true);
      if (m.action === "FailIndex") return true;
      counted = m.countFailed;
    } else counted = true;
  }
  return counted && indexFailureCount(pod) >= (job.spec.backoffLimitPerIndex ?? 0);
}

/** getIndexes. */
export function getIndexes(pods: readonly Pod[]): Set<number> {
  const out = new Set<number>();
  for (const p of pods) {
    const ix = getCompletionIndex(p.metadata.annotations);
    if (ix !== UNKNOWN_COMPLETION_INDEX) out.add(ix);
  }
  return out;
}

const sorted = (s: Set<number>) => [...s].sort((a, b) => a - b);

/**
 * firstPendingIndexes: up to `count` indexes below `completions` not succeeded, failed, running
 * or (when only failed pods are replaced) terminating.
 */
export function firstPendingIndexes(ctx: SyncJobCtx, count: number, completions: number): number[] {
  if (count === 0) return [];
  let nonPending = ctx.succeededIndexes.withOrderedIndexes(sorted(getIndexes(ctx.activePods)));
  if (onlyReplaceFailedPods(ctx.job))
    nonPending = nonPending.withOrderedIndexes(sorted(getIndexes(ctx.pods.filter(isPodTerminating))));
  if (ctx.failedIndexes !== undefined) nonPending = nonPending.merge(ctx.failedIndexes);
  const out: number[] = [];
  let candidate = 0;
  for (const iv of nonPending.intervals) {
    for (; candidate < completions && out.length < count && candidate < iv.first; candidate++)
      out.push(candidate);
    if (candidate < iv.last + 1) candidate = iv.last + 1;
  }
  for (; candidate < completions && out.length < count; candidate++) out.push(candidate);
  return out;
}

/**
 * appendDuplicatedIndexPodsForRemoval: of the active pods, those without an index or with one out
 * of range go, and of several pods with one index all but the most advanced (ActivePods order).
 * Returns [to remove, to keep].
 */
export function duplicatedIndexPodsForRemoval(pods: readonly Pod[], completions: number): [Pod[], Pod[]] {
  const rm: Pod[] = [];
  const left: Pod[] = [];
  const byIndex = new Map<number, Pod[]>();
  for (const p of pods) {
    const ix = getCompletionIndex(p.metadata.annotations);
    if (ix === UNKNOWN_COMPLETION_INDEX || ix >= completions) {
      rm.push(p);
      continue;
    }
    const same = byIndex.get(ix);
    if (same === undefined) byIndex.set(ix, [p]);
    else same.push(p);
  }
  for (const ix of sorted(new Set(byIndex.keys()))) {
    const same = byIndex.get(ix) as Pod[];
    if (same.length === 1) {
      left.push(same[0] as Pod);
      continue;
    }
    same.sort(compareActivePods);
    rm.push(...same.slice(0, -1));
    left.push(same[same.length - 1] as Pod);
  }
  return [rm, left];
}

/**
 * getPodsWithDelayedDeletionPerIndex (backoffLimitPerIndex): per index with no succeeded, failed
 * or active pod, the latest failed pod, kept until its replacement carries the failure count.
 */
export function podsWithDelayedDeletionPerIndex(ctx: SyncJobCtx): Map<number, Pod> {
  const active = getIndexes(ctx.activePods);
  const out = new Map<number, Pod>();
  const completions = ctx.job.spec.completions ?? 0;
  getValidPodsWithFilter(ctx, undefined, (p) => {
    if (!isPodFailed(p, ctx.job)) return false;
    const ix = getCompletionIndex(p.metadata.annotations);
    if (!validIndex(ix, completions)) return false;
    if (ctx.succeededIndexes.has(ix) || ctx.failedIndexes?.has(ix) === true || active.has(ix)) return false;
    const last = out.get(ix);
    if (
      last === undefined ||
      (absoluteFailureCount(last) <= absoluteFailureCount(p) && getFinishedTime(p) >= getFinishedTime(last))
    )
      out.set(ix, p);
    return false;
  });
  return out;
}

function parseCount(v: string | undefined): number {
  if (v === undefined || !/^\d+$/.test(v)) return 0;
  const n = Number.parseInt(v, 10);
  return n > 2147483647 ? 0 : n;
}

/** getIndexFailureCount: the job-index-failure-count annotation, 0 when missing or invalid. */
export function indexFailureCount(p: Pod): number {
  return parseCount(p.metadata.annotations?.[JOB_INDEX_FAILURE_COUNT_ANNOTATION]);
}

function absoluteFailureCount(p: Pod): number {
  return (
    indexFailureCount(p) + parseCount(p.metadata.annotations?.[JOB_INDEX_IGNORED_FAILURE_COUNT_ANNOTATION])
  );
}

/**
 * getRemainingTimePerIndex: the back-off left before an index's replacement, from the failure
 * count and finish time of its last failed pod (none: no wait).
 */
export function remainingTimePerIndex(
  now: number,
  baseMs: number,
  maxMs: number,
  lastFailed: Pod | undefined,
): number {
  if (lastFailed === undefined) return 0;
  return remainingBackoff(
    now,
    baseMs,
    maxMs,
    absoluteFailureCount(lastFailed) + 1,
    getFinishedTime(lastFailed),
  );
}

/** addIndexFailureCountAnnotation: the replaced pod's counts, plus its own failure. */
export function addIndexFailureCountAnnotation(
  template: JobPodTemplate,
  job: Job,
  replaced: Pod | undefined,
): void {
  let failures = 0;
  let ignored = 0;
  if (replaced !== undefined) {
    failures = indexFailureCount(replaced);
    ignored = parseCount(replaced.metadata.annotations?.[JOB_INDEX_IGNORED_FAILURE_COUNT_ANNOTATION]);
    const counted =
      job.spec.podFailurePolicy === undefined ||
      matchPodFailurePolicy(job.spec.podFailurePolicy, replaced, hasBackoffLimitPerIndex(job)).countFailed;
    if (counted) failures++;
    else ignored++;
  }
  template.metadata ??= {};
  template.metadata.annotations = {
    ...template.metadata.annotations,
    [JOB_INDEX_FAILURE_COUNT_ANNOTATION]: String(failures),
  };
  if (ignored > 0)
    template.metadata.annotations[JOB_INDEX_IGNORED_FAILURE_COUNT_ANNOTATION] = String(ignored);
}

/** addCompletionIndexEnvVariables: JOB_COMPLETION_INDEX from the index label (PodIndexLabel on). */
export function addCompletionIndexEnvVariables(template: JobPodTemplate): void {
  const add = (c: Container) => {
    const env = (c.env ?? []) as { name: string }[];
    if (env.some((v) => v.name === COMPLETION_INDEX_ENV_NAME)) return;
    c.env = [
      ...env,
      {
        name: COMPLETION_INDEX_ENV_NAME,
        valueFrom: { fieldRef: { fieldPath: `metadata.labels['${JOB_COMPLETION_INDEX_ANNOTATION}']` } },
      },
    ];
  };
  for (const c of template.spec.initContainers ?? []) add(c);
  for (const c of template.spec.containers) add(c);
}

/** The index's annotation, label (PodIndexLabel) and hostname `<job>-<index>`. */
export function setCompletionIndex(template: JobPodTemplate, jobName: string, index: number): void {
  template.metadata ??= {};
  template.metadata.annotations = {
    ...template.metadata.annotations,
    [JOB_COMPLETION_INDEX_ANNOTATION]: `${index}`,
  };
  template.metadata.labels = { ...template.metadata.labels, [JOB_COMPLETION_INDEX_ANNOTATION]: `${index}` };
  template.spec.hostname = `${jobName}-${index}`;
}

/** podGenerateNameWithIndex: `<job>-<index>-`, the job name cut to keep the whole within bounds. */
export function podGenerateNameWithIndex(jobName: string, index: number): string {
  const suffix = `-${index}-`;
  const prefix = jobName + suffix;
  if (prefix.length > MAX_GENERATED_NAME_LENGTH)
    return prefix.slice(0, MAX_GENERATED_NAME_LENGTH - suffix.length) + suffix;
  return prefix;
}
