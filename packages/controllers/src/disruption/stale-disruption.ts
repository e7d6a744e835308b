/**
 * The disruption controller's stale DisruptionTarget handling (kube's
 * nonTerminatingPodHasStaleDisruptionCondition and syncStalePodDisruption): a DisruptionTarget=True
 * condition left on a pod that was never deleted (the disruption did not happen) is set to False
 * after stalePodDisruptionTimeout, unless the kubelet set it or the pod is terminal.
 */
import { metav1Time, type Pod } from "@skiff/api";
import { cloneObject } from "@skiff/client";
import { isPodTerminal } from "../util/pod.js";
import { DISRUPTION_TARGET, POD_REASON_TERMINATION_BY_KUBELET } from "./types.js";

/** stalePodDisruptionTimeout: how long a DisruptionTarget condition may stay on a pod not being deleted. */
export const STALE_POD_DISRUPTION_TIMEOUT_MS = 2 * 60 * 1000;

/**
 * nonTerminatingPodHasStaleDisruptionCondition: for a pod not being deleted (nor terminal) with
 * DisruptionTarget=True not set by the kubelet, how long until the condition is stale; undefined
 * when there is no such condition.
 */
export function staleDisruptionCleanupAfter(pod: Pod, now: number): number | undefined {
  if (pod.metadata.deletionTimestamp !== undefined) return undefined;
  const cond = (pod.status?.conditions ?? []).find((c) => c.type === DISRUPTION_TARGET);
  if (cond === undefined || cond.status !== "True" || cond.reason === POD_REASON_TERMINATION_BY_KUBELET)
    return undefined;
  if (isPodTerminal(pod)) return undefined;
  const since = Date.parse(cond.lastTransitionTime ?? "");
  const elapsed = Number.isNaN(since) ? STALE_POD_DISRUPTION_TIMEOUT_MS : now - since;
  return Math.max(0, STALE_POD_DISRUPTION_TIMEOUT_MS - elapsed);
}

/** The pod with its DisruptionTarget condition False (apipod.UpdatePodCondition: reason and message cleared). */
export function withDisruptionTargetFalse(pod: Pod, now: number): Pod {
  const next = cloneObject(pod) as Pod;
  const at = metav1Time(new Date(now));
  next.status = {
    ...next.status,
    conditions: (next.status?.conditions ?? []).map((c) =>
      c.type === DISRUPTION_TARGET ? { type: c.type, status: "False" as const, lastTransitionTime: at } : c,
    ),
  };
  return next;
}
