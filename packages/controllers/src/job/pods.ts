/**
 * What the job controller asks of a pod (pkg/controller/controller_utils.go and the pod helpers of
 * job_controller.go / tracking_utils.go): active, terminating, ready, failed as a Job sees it, the
 * tracking finalizer, and kube's ActivePods order for choosing which pods to delete first.
 */
import type { Pod } from "@skiff/api";
import { isPodActive, isPodReady, podReadyTime } from "../util/pod.js";
import { type ContainerStatus, JOB_TRACKING_FINALIZER, type Job } from "./types.js";

export { isPodActive, isPodReady };

const isTerminal = (p: Pod) => p.status?.phase === "Succeeded" || p.status?.phase === "Failed";

/** controller.IsPodTerminating: being deleted and not yet terminal. */
export function isPodTerminating(p: Pod): boolean {
  return !isTerminal(p) && p.metadata.deletionTimestamp !== undefined;
}

export function hasJobTrackingFinalizer(p: Pod): boolean {
  return p.metadata.finalizers?.includes(JOB_TRACKING_FINALIZER) === true;
}

/** removeTrackingFinalizerPatch: a strategic merge patch removing only that finalizer. */
export function removeTrackingFinalizerPatch(p: Pod): object | undefined {
  if (!hasJobTrackingFinalizer(p)) return undefined;
  return { metadata: { "$deleteFromPrimitiveList/finalizers": [JOB_TRACKING_FINALIZER] } };
}

/**
 * onlyReplaceFailedPods: with podReplacementPolicy Failed (the default when a pod failure policy
 * is set), a terminating pod is not replaced until it is terminal.
 */
export function onlyReplaceFailedPods(job: Job): boolean {
  return job.spec.podReplacementPolicy === "Failed" || job.spec.podFailurePolicy !== undefined;
}

/**
 * isPodFailed: phase Failed, or (unless only failed pods are replaced) deleted before it
 * succeeded, which counts orphaned pods that never reach a terminal phase.
 */
export function isPodFailed(p: Pod, job: Job): boolean {
  if (p.status?.phase === "Failed") return true;
  if (onlyReplaceFailedPods(job)) return false;
  return p.metadata.deletionTimestamp !== undefined && p.status?.phase !== "Succeeded";
}

export function containerStatuses(p: Pod): ContainerStatus[] {
  return (p.status?.containerStatuses ?? []) as ContainerStatus[];
}

export function initContainerStatuses(p: Pod): ContainerStatus[] {
  return (p.status?.initContainerStatuses ?? []) as ContainerStatus[];
}

const phaseOrdinal: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };

const time = (s: string | undefined): number | undefined => {
  const t = s === undefined ? Number.NaN : Date.parse(s);
  return Number.isNaN(t) ? undefined : t;
};

function maxRestarts(p: Pod): number {
  return Math.max(0, ...containerStatuses(p).map((s) => s.restartCount ?? 0));
}

/** afterOrZero: a missing time sorts first, then the later time. */
const afterOrZero = (a: number | undefined, b: number | undefined): boolean =>
  a === undefined || b === undefined ? a === undefined : a > b;

/**
 * controller.ActivePods' Less: unassigned < assigned, Pending < Unknown < Running, not ready <
 * ready, ready for less time < more, more restarts < fewer, newer < older. The smaller are the
 * ones to delete first.
 */
export function activePodsLess(a: Pod, b: Pod): boolean {
  const na = a.spec.nodeName ?? "";
  const nb = b.spec.nodeName ?? "";
  if (na !== nb && (na === "" || nb === "")) return na === "";
  const pa = phaseOrdinal[a.status?.phase ?? ""] ?? 0;
  const pb = phaseOrdinal[b.status?.phase ?? ""] ?? 0;
  if (pa !== pb) return pa < pb;
  const ra = isPodReady(a);
  const rb = isPodReady(b);
  if (ra !== rb) return !ra;
  if (ra && rb) {
    const ta = podReadyTime(a);
    const tb = podReadyTime(b);
    if (ta !== tb) return afterOrZero(ta, tb);
  }
  const ca = maxRestarts(a);
  const cb = maxRestarts(b);
  if (ca !== cb) return ca > cb;
  const ka = time(a.metadata.creationTimestamp);
  const kb = time(b.metadata.creationTimestamp);
  if (ka !== kb) return afterOrZero(ka, kb);
  return false;
}

/** A comparator for Array.sort from activePodsLess. */
export function compareActivePods(a: Pod, b: Pod): number {
  if (activePodsLess(a, b)) return -1;
  if (activePodsLess(b, a)) return 1;
  return 0;
}
