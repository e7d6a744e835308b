/**
 * Which unschedulable pods an assigned pod's arrival may help (kube's
 * getUnschedulablePodsWithCrossTopologyTerm): pods with a required affinity term the new pod
 * matches, and pods PodTopologySpread rejected in the same namespace. Other pods' verdicts are
 * about single nodes, which an assigned pod does not change for the better.
 */
import type { Pod } from "@skiff/api";
import { labelSelectorMatches } from "../framework/labels.js";
import type { AffinityTerm, QueuedPodInfo } from "../framework/pod-info.js";

const POD_TOPOLOGY_SPREAD = "PodTopologySpread";

/** Labels of a namespace, for namespaceSelector (undefined when unknown). */
export type NamespaceLabels = (namespace: string) => Record<string, string> | undefined;

/** kube's AffinityTerm.Matches: the pod is in one of the term's namespaces and has matching labels. */
export function affinityTermMatches(term: AffinityTerm, pod: Pod, nsLabels: NamespaceLabels): boolean {
  const ns = pod.metadata.namespace;
  const inNamespace =
    term.namespaces.has(ns) ||
    (term.namespaceSelector !== undefined && labelSelectorMatches(term.namespaceSelector, nsLabels(ns)));
  return inNamespace && labelSelectorMatches(term.selector, pod.metadata.labels);
}

export function mayBeHelpedByAssignedPod(
  qpi: QueuedPodInfo,
  assigned: Pod,
  nsLabels: NamespaceLabels,
): boolean {
  if (
    qpi.unschedulablePlugins.has(POD_TOPOLOGY_SPREAD) &&
    qpi.podInfo.pod.metadata.namespace === assigned.metadata.namespace
  )
    return true;
  return qpi.podInfo.requiredAffinityTerms.some((t) => affinityTermMatches(t, assigned, nsLabels));
}
