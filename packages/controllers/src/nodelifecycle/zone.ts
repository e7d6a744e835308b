/**
 * Zones as the node lifecycle controller sees them: the zone key of a node (component-helpers'
 * node/topology GetZoneKey) and a zone's state from its nodes' Ready conditions (kube's
 * ComputeZoneState), which sets how fast the nodes of the zone are tainted for eviction.
 */
import type { Node, NodeCondition } from "@skiff/api";

export type ZoneState = "Initial" | "Normal" | "PartialDisruption" | "FullDisruption";

/** A label that keeps a node out of the zone's disruption count (labelNodeDisruptionExclusion). */
export const LABEL_NODE_DISRUPTION_EXCLUSION = "node.kubernetes.io/exclude-disruption";

/**
 * GetZoneKey: region and zone (the topology labels, else the deprecated failure-domain ones)
 * joined by ":\0:"; "" when the node has neither.
 */
export function getZoneKey(node: Node): string {
  const labels = node.metadata.labels ?? {};
  const zone =
    labels["topology.kubernetes.io/zone"] ?? labels["failure-domain.beta.kubernetes.io/zone"] ?? "";
  const region =
    labels["topology.kubernetes.io/region"] ?? labels["failure-domain.beta.kubernetes.io/region"] ?? "";
  if (region === "" && zone === "") return "";
  return `${region}:\x00:${zone}`;
}

/** The zone key as a metric label or log field (the NUL shown as nothing, as klog prints it). */
export function zoneLabel(zoneKey: string): string {
  return zoneKey.replace("\x00", "");
}

export function isNodeExcludedFromDisruptionChecks(node: Node): boolean {
  return node.metadata.labels?.[LABEL_NODE_DISRUPTION_EXCLUSION] !== undefined;
}

/**
 * ComputeZoneState: FullDisruption when no node of the zone is Ready, PartialDisruption when
 * more than 2 are not and they are at least `unhealthyZoneThreshold` of the zone, else Normal;
 * with the number of nodes not Ready.
 */
export function computeZoneState(
  readyConditions: readonly (NodeCondition | undefined)[],
  unhealthyZoneThreshold: number,
): { unhealthy: number; state: ZoneState } {
  let ready = 0;
  let notReady = 0;
  for (const c of readyConditions) {
    if (c?.status === "True") ready++;
    else notReady++;
  }
  if (ready === 0 && notReady > 0) return { unhealthy: notReady, state: "FullDisruption" };
  if (notReady > 2 && notReady / (notReady + ready) >= unhealthyZoneThreshold)
    return { unhealthy: notReady, state: "PartialDisruption" };
  return { unhealthy: notReady, state: "Normal" };
}
