/**
 * What a DELETE does to an object before (or instead of) removing it, as kube's rest.BeforeDelete
 * (k8s.io/apiserver/pkg/registry/rest/delete.go) and markAsDeleting in genericregistry.Store:
 * a kind with a graceful strategy (pods) gets a deletionTimestamp and a grace period; a second
 * DELETE may only shorten it; an object with finalizers is marked deleting (grace 0) and stays.
 */
import { type KubeObject, metav1Time } from "@skiff/api";
import type { DeleteOptions } from "./store.js";
import type { Strategy } from "./strategy.js";

export interface DeletePlan {
  /** The object is being deleted gracefully and this DELETE changes nothing (kube: gracefulPending). */
  pending: boolean;
  /** The new state to store before the object goes (undefined: nothing to write first). */
  marked: KubeObject | undefined;
  /** Remove the object now (after writing `marked`, if any). */
  deleteNow: boolean;
}

const bumpGeneration = (meta: KubeObject["metadata"]) => {
  if (meta.generation !== undefined && meta.generation > 0) meta.generation += 1;
};

/**
 * kube's shouldOrphanDependents: the deprecated orphanDependents, else the propagation policy,
 * else the object's own GC finalizer; Skiff serves no kind whose default is to orphan (kube's
 * are v1 ReplicationController and the extensions/apps beta workloads).
 */
function shouldOrphanDependents(finalizers: readonly string[], opts: DeleteOptions): boolean {
  if (opts.orphanDependents !== undefined && opts.orphanDependents !== null) return opts.orphanDependents;
  if (opts.propagationPolicy === "Orphan") return true;
  if (opts.propagationPolicy === "Background" || opts.propagationPolicy === "Foreground") return false;
  for (const f of finalizers) {
    if (f === "orphan") return true;
    if (f === "foregroundDeletion") return false;
  }
  return false;
}

/** kube's shouldDeleteDependents: Foreground, or a foregroundDeletion finalizer without orphan. */
function shouldDeleteDependents(finalizers: readonly string[], opts: DeleteOptions): boolean {
  if (opts.orphanDependents !== undefined && opts.orphanDependents !== null) return false;
  if (opts.propagationPolicy === "Foreground") return true;
  if (opts.propagationPolicy === "Background" || opts.propagationPolicy === "Orphan") return false;
  if (finalizers.includes("orphan")) return false;
  return finalizers.includes("foregroundDeletion");
}

/**
 * kube's deletionFinalizersForGarbageCollection: the object's finalizers with the garbage
 * collector's two (orphan, foregroundDeletion) replaced by the one the delete asks for, if any
 * (so Background drops both, and Foreground replaces orphan). Unchanged (same set): the old list.
 */
function finalizersFor(old: KubeObject, opts: DeleteOptions): string[] {
  const current = old.metadata.finalizers ?? [];
  const next = current.filter((f) => f !== "orphan" && f !== "foregroundDeletion");
  if (shouldOrphanDependents(current, opts)) next.push("orphan");
  if (shouldDeleteDependents(current, opts)) next.push("foregroundDeletion");
  const same = next.length === current.length && next.every((f) => current.includes(f));
  return same ? [...current] : next;
}

export function planDelete(strategy: Strategy, old: KubeObject, opts: DeleteOptions, now: Date): DeletePlan {
  const meta = { ...old.metadata };
  let graceful = false;
  let period = 0;
  if (strategy.gracePeriodSeconds !== undefined) {
    // Negative values count as 1 s on the delete path.
    const asked =
      opts.gracePeriodSeconds !== undefined && opts.gracePeriodSeconds < 0 ? 1 : opts.gracePeriodSeconds;
    if (meta.deletionTimestamp !== undefined) {
      const current = meta.deletionGracePeriodSeconds ?? 0;
      if (current > 0) {
        // Already terminating: only a shorter grace period changes anything.
        if (asked === undefined || asked >= current)
          return { pending: true, marked: undefined, deleteNow: false };
        const start = Date.parse(meta.deletionTimestamp) - current * 1000;
        meta.deletionTimestamp = metav1Time(new Date(start + asked * 1000));
        meta.deletionGracePeriodSeconds = asked;
        graceful = true;
        period = asked;
      }
    } else {
      period = strategy.gracePeriodSeconds(old, { ...opts, gracePeriodSeconds: asked });
      meta.deletionTimestamp = metav1Time(new Date(now.getTime() + period * 1000));
      meta.deletionGracePeriodSeconds = period;
      bumpGeneration(meta);
      graceful = true;
    }
  }
  const finalizers = finalizersFor(old, opts);
  if (finalizers.length > 0) meta.finalizers = finalizers;
  else delete meta.finalizers;
  if (!graceful && finalizers.length === 0) return { pending: false, marked: undefined, deleteNow: true };
  if (!graceful) {
    // markAsDeleting: the finalizers' owners see the object going; it goes when they are done.
    if (meta.deletionTimestamp === undefined) bumpGeneration(meta);
    if (meta.deletionTimestamp === undefined || Date.parse(meta.deletionTimestamp) > now.getTime())
      meta.deletionTimestamp = metav1Time(now);
    meta.deletionGracePeriodSeconds = 0;
    return { pending: false, marked: { ...old, metadata: meta }, deleteNow: false };
  }
  return {
    pending: false,
    marked: { ...old, metadata: meta },
    // kube: no pending finalizer and no grace period left is a removal now.
    deleteNow: finalizers.length === 0 && period === 0,
  };
}

/**
 * kube's ShouldDeleteDuringUpdate: an update of a terminating object removes it when it has no
 * finalizers left and its grace period is over (deletionGracePeriodSeconds 0).
 */
export function shouldDeleteDuringUpdate(next: KubeObject): boolean {
  const m = next.metadata;
  return (
    m.deletionTimestamp !== undefined &&
    (m.finalizers ?? []).length === 0 &&
    (m.deletionGracePeriodSeconds ?? 0) === 0
  );
}
