/**
 * Node taints and pod tolerations as the node controllers read them: the well-known taint keys,
 * Taint.MatchTaint, Toleration.ToleratesTaint and FindMatchingUntoleratedTaint (which nodes should
 * run a daemon pod) from @skiff/api, where kube keeps them; pkg/util/taints' TaintExists and
 * TaintSetDiff, and v1helper.GetMatchingTolerations (what the taint eviction controller decides
 * by). Pure functions of the objects.
 */
import { matchTaint, type Taint, type Toleration, toleratesTaint } from "@skiff/api";

export {
  findMatchingUntoleratedTaint,
  matchTaint,
  TaintNodeDiskPressure,
  TaintNodeMemoryPressure,
  TaintNodeNetworkUnavailable,
  TaintNodeNotReady,
  TaintNodeOutOfService,
  TaintNodePIDPressure,
  TaintNodeUnreachable,
  TaintNodeUnschedulable,
  toleratesTaint,
} from "@skiff/api";

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
