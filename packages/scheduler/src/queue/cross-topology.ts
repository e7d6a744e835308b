/**
 * Which unschedulable pods an assigned pod's arrival may help (kube's
 * getUnschedulablePodsWithCrossTopologyTerm): pods with a required affinity term the new pod
 * matches, and pods PodTopologySpread rejected in the same namespace. Other pods' verdicts are
 * about single nodes, which an assigned pod does not change for the better.
 */
import type { Pod } from "@skiff/api";
import { type NamespaceLabels, termMatches } from "../framework/affinity-term.js";
import type { QueuedPodInfo } from "../framework/pod-info.js";

const POD_TOPOLOGY_SPREAD = "PodTopologySpread";

export type { NamespaceLabels };

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
  return qpi.podInfo.requiredAffinityTerms.some((t) => termMatches(t, assigned, nsLabels));
}
