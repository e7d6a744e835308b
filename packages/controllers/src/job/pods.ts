/**
 * What the job controller asks of a pod (pkg/controller/controller_utils.go and the pod helpers of
 * job_controller.go / tracking_utils.go): active, terminating, ready, failed as a Job sees it, and
 * the tracking finalizer. kube's ActivePods order, which picks the pods to delete first, is
 * util/active-pods.ts's.
 */
import type { Pod } from "@skiff/api";
import { isPodActive, isPodReady, isPodTerminal } from "../util/pod.js";
import { type ContainerStatus, JOB_TRACKING_FINALIZER, type Job } from "./types.js";

export { isPodActive, isPodReady };

/** controller.IsPodTerminating: being deleted and not yet terminal. */
export function isPodTerminating(p: Pod): boolean {
  return !isPodTerminal(p) && p.metadata.deletionTimestamp !== undefined;
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
