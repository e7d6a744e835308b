/**
 * Pod readiness as kube's pkg/api/v1/pod (podutil) reads it: the Ready condition, and
 * availability = Ready for at least minReadySeconds, measured from the condition's
 * lastTransitionTime. Controllers count ready and available pods with these.
 */
import type { Pod, PodCondition } from "@skiff/api";

/** podutil.GetPodReadyCondition. */
export function getPodReadyCondition(pod: Pod): PodCondition | undefined {
  return pod.status?.conditions?.find((c) => c.type === "Ready");
}

/** podutil.IsPodReady: the Ready condition is True. */
export function isPodReady(pod: Pod): boolean {
  return getPodReadyCondition(pod)?.status === "True";
}

/**
 * podutil.IsPodAvailable: ready, and (with minReadySeconds) ready since more than that long ago.
 * A Ready condition without a transition time is never available when minReadySeconds > 0.
 */
export function isPodAvailable(pod: Pod, minReadySeconds: number, nowMs: number): boolean {
  const c = getPodReadyCondition(pod);
  if (c?.status !== "True") return false;
  if (minReadySeconds <= 0) return true;
  const since = Date.parse(c.lastTransitionTime ?? "");
  return !Number.isNaN(since) && since + minReadySeconds * 1000 < nowMs;
}

/** podutil.IsPodTerminal: Failed or Succeeded. */
export function isPodTerminal(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase === "Failed" || phase === "Succeeded";
}
