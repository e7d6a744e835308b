/**
 * Matching a pod against a parsed affinity term (framework.AffinityTerm.Matches): the pod's
 * namespace must be named by the term or carry labels its namespaceSelector selects, and the pod's
 * labels must match the term's labelSelector. Shared by InterPodAffinity and the queue's
 * cross-topology check.
 *
 * kube-scheduler unrolls an incoming pod's namespaceSelector into a namespace list with the
 * namespace lister (mergeAffinityTermNamespacesIfNotEmpty). Skiff's Handle answers a namespace's
 * labels instead, so the selector is evaluated against the pod's namespace labels: the same
 * namespaces match.
 */
import type { LabelSelector, Pod } from "@skiff/api";
import { compiledSelector, type LabelMatcher, type Labels, selectorIsEmpty } from "./label-selector.js";
import type { AffinityTerm } from "./pod-info.js";

/** Labels of a namespace; undefined when the namespace is unknown. */
export type NamespaceLabels = (namespace: string) => Labels;

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
