/**
 * kube's controller.ActivePodsWithRanks (pkg/controller/controller_utils.go): the order in which a
 * controller scaling down prefers to delete its pods, earliest first:
 *   1. unassigned before assigned;
 *   2. Pending before Unknown before Running;
 *   3. not ready before ready;
 *   4. lower controller.kubernetes.io/pod-deletion-cost before higher (PodDeletionCost, on by default);
 *   5. higher rank (more related pods on the same node) before lower;
 *   6. ready for less time before ready for longer;
 *   7. more container restarts before fewer;
 *   8. newer before older.
 * Times in 6 and 8 are compared on a log2 scale of their age (LogarithmicScaleDown, on by default
 * since kube 1.22), ties broken by uid, so that scale-down spreads over pods of similar age
 * rather than always taking the very newest.
 *
 * Also the older controller.ActivePods order the job controller deletes by: the same without
 * deletion cost and rank, and with plain (not logarithmic) time comparisons.
 */
import type { Pod } from "@skiff/api";
import { isPodReady, podReadyTime } from "./pod.js";
import { parseTime } from "./time.js";

/** kube's PodDeletionCost annotation. */
export const POD_DELETION_COST_ANNOTATION = "controller.kubernetes.io/pod-deletion-cost";

const podPhaseToOrdinal: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };

/** kube's GetDeletionCostFromPodAnnotations: an int32, 0 when absent or invalid. */
export function podDeletionCost(pod: Pod): number {
  const v = pod.metadata.annotations?.[POD_DELETION_COST_ANNOTATION];
  if (v === undefined || !/^[+-]?\d+$/.test(v.trim())) return 0;
  const n = Number(v.trim());
  return n >= -(2 ** 31) && n < 2 ** 31 ? n : 0;
}

/** The highest restartCount of the pod's containers (kube's maxContainerRestarts). */
export function maxContainerRestarts(pod: Pod): number {
  let max = 0;
  for (const s of pod.status?.containerStatuses ?? []) {
    const n = (s as { restartCount?: unknown }).restartCount;
    if (typeof n === "number" && n > max) max = n;
  }
  return max;
}

/** kube's afterOrZero: a missing time sorts first, then the later time. */
function afterOrZero(t1: number | undefined, t2: number | undefined): boolean {
  if (t1 === undefined || t2 === undefined) return t1 === undefined;
  return t1 > t2;
}

/** kube's logarithmicRankDiff: the difference of floor(log2(age in ns)) of the two times. */
function logarithmicRankDiff(t1: number, t2: number, now: number): number {
  const rank = (t: number) => {
    const ageNs = (now - t) * 1e6;
    return ageNs > 0 ? Math.floor(Math.log2(ageNs)) : -1;
  };
  return rank(t1) - rank(t2);
}

/** Whether, of two times, a comes first (the younger one, on the logarithmic scale). */
function youngerFirst(a: Pod, ta: number | undefined, b: Pod, tb: number | undefined, now: number): boolean {
  if (ta === undefined || tb === undefined) return afterOrZero(ta, tb);
  const diff = logarithmicRankDiff(ta, tb, now);
  if (diff === 0) return (a.metadata.uid ?? "") < (b.metadata.uid ?? "");
  return diff < 0;
}

/**
 * The chain both orders share. `ranks` (ActivePodsWithRanks) adds the deletion cost and the rank
 * after readiness; `first` says which of two (different) times sorts first.
 */
function less(
  a: Pod,
  b: Pod,
  ranks: readonly [number, number] | undefined,
  first: (ta: number | undefined, tb: number | undefined) => boolean,
): boolean {
  const nodeA = a.spec.nodeName ?? "";
  const nodeB = b.spec.nodeName ?? "";
  if (nodeA !== nodeB && (nodeA === "" || nodeB === "")) return nodeA === "";
  const phaseA = podPhaseToOrdinal[a.status?.phase ?? ""] ?? 0;
  const phaseB = podPhaseToOrdinal[b.status?.phase ?? ""] ?? 0;
  if (phaseA !== phaseB) return phaseA < phaseB;
  const readyA = isPodReady(a);
  const readyB = isPodReady(b);
  if (readyA !== readyB) return !readyA;
  if (ranks !== undefined) {
    const costA = podDeletionCost(a);
    const costB = podDeletionCost(b);
    if (costA !== costB) return costA < costB;
    if (ranks[0] !== ranks[1]) return ranks[0] > ranks[1];
  }
  if (readyA && readyB) {
    const ta = podReadyTime(a);
    const tb = podReadyTime(b);
    if (ta !== tb) return first(ta, tb);
  }
  const restartsA = maxContainerRestarts(a);
  const restartsB = maxContainerRestarts(b);
  if (restartsA !== restartsB) return restartsA > restartsB;
  const ca = parseTime(a.metadata.creationTimestamp);
  const cb = parseTime(b.metadata.creationTimestamp);
  if (ca !== cb) return first(ca, cb);
  return false;
}

/** kube's ActivePodsWithRanks.Less: whether pod a should be deleted before pod b. */
export function activePodLess(a: Pod, rankA: number, b: Pod, rankB: number, now: number): boolean {
  return less(a, b, [rankA, rankB], (ta, tb) => youngerFirst(a, ta, b, tb, now));
}

/**
 * Sorts pods (with their ranks, index for index) so that those to delete first come first, as
 * sort.Sort(ActivePodsWithRanks{...}). Returns a new array; the input is left as it was.
 */
export function sortActivePodsWithRanks(pods: readonly Pod[], ranks: readonly number[], now: number): Pod[] {
  const items = pods.map((pod, i) => ({ pod, rank: ranks[i] ?? 0 }));
  items.sort((x, y) => {
    if (activePodLess(x.pod, x.rank, y.pod, y.rank, now)) return -1;
    if (activePodLess(y.pod, y.rank, x.pod, x.rank, now)) return 1;
    return 0;
  });
  return items.map((x) => x.pod);
}

/**
 * kube's controller.ActivePods' Less: unassigned < assigned, Pending < Unknown < Running, not
 * ready < ready, ready for less time < more, more restarts < fewer, newer < older. The smaller
 * are the ones to delete first.
 */
export function activePodsLess(a: Pod, b: Pod): boolean {
  return less(a, b, undefined, afterOrZero);
}

/** sort.Sort(controller.ActivePods(pods)) as an Array.sort comparator. */
export function compareActivePods(a: Pod, b: Pod): number {
  if (activePodsLess(a, b)) return -1;
  if (activePodsLess(b, a)) return 1;
  return 0;
}
