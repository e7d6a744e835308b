/**
 * Matching a pod against a parsed affinity term (framework.AffinityTerm.Matches): the pod's
 * namespace must be named by the term or carry labels its namespaceSelector selects, and the pod's
 * labels must match the term's labelSelector.
 *
 * kube-scheduler unrolls an incoming pod's namespaceSelector into a namespace list with the
 * namespace lister (mergeAffinityTermNamespacesIfNotEmpty). Skiff's Handle answers a namespace's
 * labels instead, so the selector is evaluated against the existing pod's namespace labels, looked
 * up once per namespace per cycle (NamespaceLabels below): the same namespaces match.
 */
import type { LabelSelector, Pod } from "@skiff/api";
import {
  compiledSelector,
  type LabelMatcher,
  type Labels,
  selectorIsEmpty,
} from "../../framework/label-selector.js";
import type { AffinityTerm } from "../../framework/pod-info.js";

/** Labels of a namespace; undefined when the namespace is unknown. */
export type NamespaceLabels = (namespace: string) => Labels;

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

function namespaceSelectorMatches(sel: LabelSelector | undefined, nsLabels: () => Labels): boolean {
  if (sel === undefined) return false; // labels.Nothing()
  if (selectorIsEmpty(sel)) return true; // labels.Everything(): every namespace, known or not
  const labels = nsLabels();
  // An unknown namespace is never listed by kube's namespace lister, so it never matches.
  return labels !== undefined && compiledSelector(sel)(labels);
}

/** AffinityTerm.Matches(pod, nsLabels); nsLabels is asked only when the namespace list does not decide. */
export function termMatches(term: AffinityTerm, pod: Pod, nsLabels: NamespaceLabels): boolean {
  const ns = pod.metadata.namespace;
  if (!term.namespaces.has(ns) && !namespaceSelectorMatches(term.namespaceSelector, () => nsLabels(ns)))
    return false;
  return selectorOf(term)(pod.metadata.labels);
}

function selectorOf(term: AffinityTerm): LabelMatcher {
  return compiledSelector(term.selector);
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
