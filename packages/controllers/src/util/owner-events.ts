/**
 * Which owners a changed dependent concerns, as every workload controller's update handler works
 * it out (kube's updatePod, updateReplicaSet, updateHistory): when the dependent's controller
 * reference changed, its old controller (which lost it); when it has a controller reference, that
 * controller; an orphan whose labels or reference changed, every owner that may now adopt it.
 * What each controller then does with them (enqueue, batch, observe expectations) stays its own.
 */
import type { KubeObject, OwnerReference } from "@skiff/api";
import { getControllerOf } from "./controller-ref.js";

export interface DependentUpdate<O> {
  /** The controller the old version named, when the reference changed and it still resolves. */
  oldController: O | undefined;
  /** Whether the current version names a controller (resolving or not: then it is no orphan). */
  controlled: boolean;
  /** The controller the current version names, when it resolves. */
  controller: O | undefined;
  /** For an orphan whose labels or controller reference changed: the owners that may adopt it. */
  adopters: O[];
}

/** Two label sets with the same keys and values (absent and empty alike). */
export function labelsEqual(
  a: Readonly<Record<string, string>> | undefined,
  b: Readonly<Record<string, string>> | undefined,
): boolean {
  const ea = Object.entries(a ?? {});
  if (ea.length !== Object.keys(b ?? {}).length) return false;
  return ea.every(([k, v]) => b?.[k] === v);
}

const sameRef = (a: OwnerReference | undefined, b: OwnerReference | undefined) =>
  JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/**
 * The owners an update of a dependent concerns. `resolve` is the controller's
 * resolveControllerRef; `adopters` its owners whose selector matches the dependent (called only
 * for an orphan whose labels or controller reference changed).
 */
export function dependentUpdate<T extends KubeObject, O>(
  old: T,
  cur: T,
  resolve: (namespace: string, ref: OwnerReference) => O | undefined,
  adopters: (obj: T) => O[],
): DependentUpdate<O> {
  const oldRef = getControllerOf(old);
  const curRef = getControllerOf(cur);
  const refChanged = !sameRef(curRef, oldRef);
  const oldController =
    refChanged && oldRef !== undefined ? resolve(old.metadata.namespace ?? "", oldRef) : undefined;
  if (curRef !== undefined)
    return {
      oldController,
      controlled: true,
      controller: resolve(cur.metadata.namespace ?? "", curRef),
      adopters: [],
    };
  const labelsChanged = !labelsEqual(cur.metadata.labels, old.metadata.labels);
  return {
    oldController,
    controlled: false,
    controller: undefined,
    adopters: labelsChanged || refChanged ? adopters(cur) : [],
  };
}
