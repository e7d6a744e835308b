/**
 * How the workload controllers read an owner's label selector when looking for the owners of an
 * object (the listers' GetPodReplicaSets, GetPodDaemonSets, GetPodStatefulSets,
 * GetDeploymentsForReplicaSet): a nil or empty selector would take every object of the
 * namespace, so there it selects nothing, and the controller warns about it (SelectingAll).
 */
import type { LabelSelector } from "@skiff/api";
import { toSelector } from "@skiff/client";

/** metav1.LabelSelectorAsSelector(sel).Empty(): no selector, or no labels and no expressions. */
export function isEmptySelector(sel: LabelSelector | undefined): boolean {
  return toSelector(sel).empty();
}

/** A non-empty selector that matches the labels (a nil or empty one matches nothing). */
export function nonEmptySelectorMatches(
  sel: LabelSelector | undefined,
  labels: Readonly<Record<string, string>> | undefined,
): boolean {
  const s = toSelector(sel);
  return !s.empty() && s.matches(labels);
}
