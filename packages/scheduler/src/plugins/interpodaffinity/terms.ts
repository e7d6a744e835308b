/**
 * InterPodAffinity's term helpers: all-terms matching, the memoized namespace labels of a cycle,
 * and the keys under which per-node answers are kept. Matching one term is
 * framework/affinity-term.ts (shared with the queue).
 */
import type { Pod } from "@skiff/api";
import { type NamespaceLabels, termMatches } from "../../framework/affinity-term.js";
import { type Labels, selectorIsEmpty } from "../../framework/label-selector.js";
import type { AffinityTerm } from "../../framework/pod-info.js";

/** A memoizing NamespaceLabels over the handle's lookup (one lookup per namespace per cycle). */
export function namespaceLabelsLookup(lookup: (ns: string) => Labels): NamespaceLabels {
  const memo = new Map<string, Labels>();
  return (ns) => {
    if (memo.has(ns)) return memo.get(ns);
    const l = lookup(ns);
    memo.set(ns, l);
    return l;
  };
}

/** podMatchesAllAffinityTerms: true iff there are terms and the pod matches every one of them. */
export function podMatchesAllAffinityTerms(
  terms: readonly AffinityTerm[],
  pod: Pod,
  nsLabels: NamespaceLabels,
): boolean {
  if (terms.length === 0) return false;
  for (const t of terms) if (!termMatches(t, pod, nsLabels)) return false;
  return true;
}

/**
 * A NodeMatchCache key for what matching pods against these terms depends on (namespaces and
 * selectors; not the topology keys), or undefined when a term's namespaceSelector makes the
 * answer depend on namespace labels, which may change while the node's pods do not.
 */
export function termsMatchKey(prefix: string, terms: readonly AffinityTerm[]): string | undefined {
  const parts: unknown[] = [];
  for (const t of terms) {
    if (t.namespaceSelector !== undefined && !selectorIsEmpty(t.namespaceSelector)) return undefined;
    parts.push([[...t.namespaces].sort(), t.selector ?? null, t.namespaceSelector === undefined ? 0 : 1]);
  }
  return `${prefix}:${JSON.stringify(parts)}`;
}

export { type NamespaceLabels, termMatches };
