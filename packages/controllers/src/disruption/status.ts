/**
 * The arithmetic and conditions of a PodDisruptionBudget's status: the disruption controller's
 * countHealthyPods and buildDisruptedPodMap, apimachinery's SetStatusCondition, and
 * component-helpers' UpdateDisruptionAllowedCondition / ConditionsAreUpToDate.
 */
import { metav1Time, type Pod } from "@skiff/api";
import { isPodReady } from "../util/pod.js";
import {
  type Condition,
  DISRUPTION_ALLOWED_CONDITION,
  INSUFFICIENT_PODS_REASON,
  type PodDisruptionBudget,
  SUFFICIENT_PODS_REASON,
} from "./types.js";

/**
 * kube's DeletionTimeout: a pod admitted for eviction (in disruptedPods) that is still not being
 * deleted this long after is assumed not to be deleted at all, and counts as healthy again.
 */
export const DELETION_TIMEOUT_MS = 2 * 60 * 1000;

const parseTime = (t: string): number => {
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? 0 : ms;
};

/**
 * buildDisruptedPodMap: the entries of disruptedPods still awaited (pod present, not yet being
 * deleted, admitted less than DeletionTimeout ago), the pods whose deletion never came, and when
 * to look again (the earliest awaited deadline).
 */
export function buildDisruptedPodMap(
  pods: readonly Pod[],
  pdb: PodDisruptionBudget,
  now: number,
): { disruptedPods: Record<string, string>; notDeleted: Pod[]; recheckAt: number | undefined } {
  const disrupted = pdb.status?.disruptedPods;
  const result: Record<string, string> = {};
  const notDeleted: Pod[] = [];
  let recheckAt: number | undefined;
  if (disrupted === undefined) return { disruptedPods: result, notDeleted, recheckAt };
  for (const pod of pods) {
    if (pod.metadata.deletionTimestamp !== undefined) continue;
    const at = disrupted[pod.metadata.name];
    if (at === undefined) continue;
    const expectedDeletion = parseTime(at) + DELETION_TIMEOUT_MS;
    if (expectedDeletion < now) notDeleted.push(pod);
    else {
      if (recheckAt === undefined || expectedDeletion < recheckAt) recheckAt = expectedDeletion;
      result[pod.metadata.name] = at;
    }
  }
  return { disruptedPods: result, notDeleted, recheckAt };
}

/** countHealthyPods: ready pods neither being deleted nor awaiting an admitted eviction. */
export function countHealthyPods(
  pods: readonly Pod[],
  disruptedPods: Record<string, string>,
  now: number,
): number {
  let healthy = 0;
  for (const pod of pods) {
    if (pod.metadata.deletionTimestamp !== undefined) continue;
    const at = disruptedPods[pod.metadata.name];
    if (at !== undefined && parseTime(at) + DELETION_TIMEOUT_MS > now) continue;
    if (isPodReady(pod)) healthy++;
  }
  return healthy;
}

/**
 * apimeta.SetStatusCondition: adds the condition or updates the one of its type;
 * lastTransitionTime moves only when the status changes.
 */
export function setStatusCondition(
  conditions: Condition[],
  c: Omit<Condition, "lastTransitionTime">,
  now: number,
): Condition[] {
  const i = conditions.findIndex((x) => x.type === c.type);
  const existing = conditions[i];
  if (existing === undefined) return [...conditions, { ...c, lastTransitionTime: metav1Time(new Date(now)) }];
  const next: Condition = {
    ...existing,
    ...c,
    lastTransitionTime:
      existing.status === c.status ? existing.lastTransitionTime : metav1Time(new Date(now)),
  };
  return conditions.map((x, j) => (j === i ? next : x));
}

/** UpdateDisruptionAllowedCondition: True/SufficientPods when disruptions are allowed, else False/InsufficientPods. */
export function updateDisruptionAllowedCondition(pdb: PodDisruptionBudget, now: number): void {
  const status = pdb.status ?? {};
  const allowed = (status.disruptionsAllowed ?? 0) > 0;
  status.conditions = setStatusCondition(
    status.conditions ?? [],
    {
      type: DISRUPTION_ALLOWED_CONDITION,
      status: allowed ? "True" : "False",
      reason: allowed ? SUFFICIENT_PODS_REASON : INSUFFICIENT_PODS_REASON,
      message: "",
      observedGeneration: status.observedGeneration ?? 0,
    },
    now,
  );
  pdb.status = status;
}

/** ConditionsAreUpToDate: the DisruptionAllowed condition says what disruptionsAllowed says. */
export function conditionsAreUpToDate(pdb: PodDisruptionBudget): boolean {
  const status = pdb.status ?? {};
  const cond = (status.conditions ?? []).find((c) => c.type === DISRUPTION_ALLOWED_CONDITION);
  if (cond === undefined) return false;
  if ((status.observedGeneration ?? 0) !== (pdb.metadata.generation ?? 0)) return false;
  if ((status.disruptionsAllowed ?? 0) > 0)
    return cond.status === "True" && cond.reason === SUFFICIENT_PODS_REASON;
  return cond.status === "False" && cond.reason === INSUFFICIENT_PODS_REASON;
}
