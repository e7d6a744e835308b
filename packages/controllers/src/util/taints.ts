/**
 * Node taints and pod tolerations as the node controllers read them: the well-known taint keys
 * (k8s.io/api/core/v1 well_known_taints.go), Taint.MatchTaint and pkg/util/taints' TaintExists
 * and TaintSetDiff, and Toleration.ToleratesTaint with v1helper.GetMatchingTolerations (what the
 * taint eviction controller decides by) and v1helper.FindMatchingUntoleratedTaint (which nodes
 * should run a daemon pod). Pure functions of the objects.
 */
import type { Taint, Toleration } from "@skiff/api";

export const TaintNodeNotReady = "node.kubernetes.io/not-ready";
export const TaintNodeUnreachable = "node.kubernetes.io/unreachable";
export const TaintNodeUnschedulable = "node.kubernetes.io/unschedulable";
export const TaintNodeMemoryPressure = "node.kubernetes.io/memory-pressure";
export const TaintNodeDiskPressure = "node.kubernetes.io/disk-pressure";
export const TaintNodeNetworkUnavailable = "node.kubernetes.io/network-unavailable";
export const TaintNodePIDPressure = "node.kubernetes.io/pid-pressure";
export const TaintNodeOutOfService = "node.kubernetes.io/out-of-service";

/** Taint.MatchTaint: the same key and effect (the value and timeAdded do not matter). */
export function matchTaint(a: Taint, b: Taint): boolean {
  return a.key === b.key && a.effect === b.effect;
}

/** taints.TaintExists: a taint matching `t` is in the list. */
export function taintExists(taints: readonly Taint[] | undefined, t: Taint): boolean {
  return (taints ?? []).some((x) => matchTaint(x, t));
}

/** taints.TaintKeyExists: a taint with this key is in the list, whatever its effect. */
export function taintKeyExists(taints: readonly Taint[] | undefined, key: string): boolean {
  return (taints ?? []).some((x) => x.key === key);
}

/** taints.TaintSetDiff: what `want` has that `have` lacks, and what `have` has that `want` lacks. */
export function taintSetDiff(
  want: readonly Taint[],
  have: readonly Taint[],
): { toAdd: Taint[]; toRemove: Taint[] } {
  return {
    toAdd: want.filter((t) => !taintExists(have, t)),
    toRemove: have.filter((t) => !taintExists(want, t)),
  };
}

/** Toleration.ToleratesTaint: an empty key with Exists tolerates every taint, an empty effect every effect. */
export function toleratesTaint(t: Toleration, taint: Taint): boolean {
  if ((t.effect ?? "") !== "" && t.effect !== taint.effect) return false;
  if ((t.key ?? "") !== "" && t.key !== taint.key) return false;
  switch (t.operator ?? "") {
    case "":
    case "Equal":
      return (t.value ?? "") === (taint.value ?? "");
    case "Exists":
      return true;
    default:
      return false;
  }
}

/**
 * v1helper.GetMatchingTolerations: whether every taint is tolerated, and for each taint the first
 * toleration that tolerates it (the ones whose tolerationSeconds count).
 */
export function getMatchingTolerations(
  taints: readonly Taint[],
  tolerations: readonly Toleration[] | undefined,
): { allTolerated: boolean; used: Toleration[] } {
  if (taints.length === 0) return { allTolerated: true, used: [] };
  const used: Toleration[] = [];
  for (const taint of taints) {
    const t = (tolerations ?? []).find((x) => toleratesTaint(x, taint));
    if (t === undefined) return { allTolerated: false, used: [] };
    used.push(t);
  }
  return { allTolerated: true, used };
}

/** v1helper.FindMatchingUntoleratedTaint: the first taint passing `filter` that nothing tolerates. */
export function findMatchingUntoleratedTaint(
  taints: readonly Taint[] | undefined,
  tolerations: readonly Toleration[] | undefined,
  filter: (t: Taint) => boolean,
): Taint | undefined {
  for (const taint of taints ?? [])
    if (filter(taint) && !(tolerations ?? []).some((t) => toleratesTaint(t, taint))) return taint;
  return undefined;
}
