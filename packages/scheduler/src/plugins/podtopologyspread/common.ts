/**
 * What PodTopologySpread's Filter and Score share (podtopologyspread/common.go): the pod's
 * constraints with their selectors compiled, the node inclusion policies, pod counting and the
 * cluster-level default constraints.
 */
import type { LabelSelector, Node, Pod, TopologySpreadConstraint } from "@skiff/api";
import { compiledSelector, compileSelector, type LabelMatcher } from "../../framework/label-selector.js";
import type { NodeInfo } from "../../framework/node-info.js";
import type { NodeMatchCache } from "../../framework/node-match-cache.js";
import type { PodInfo } from "../../framework/pod-info.js";
import { findMatchingUntoleratedTaint } from "../../framework/taints.js";
import { RequiredNodeAffinity } from "../helper/node-affinity.js";

export type NodeInclusionPolicy = "Honor" | "Ignore";
export type UnsatisfiableConstraintAction = "DoNotSchedule" | "ScheduleAnyway";

/** topologySpreadConstraint: a v1.TopologySpreadConstraint with its selector parsed. */
export interface SpreadConstraint {
  maxSkew: number;
  topologyKey: string;
  /** Whether a pod (of the incoming pod's namespace) is counted by this constraint. */
  matches: (pod: Pod) => boolean;
  /** What the count depends on besides the node's pods (namespace, selector): a NodeMatchCache key. */
  key: string;
  minDomains: number;
  nodeAffinityPolicy: NodeInclusionPolicy;
  nodeTaintsPolicy: NodeInclusionPolicy;
}

/** v1.LabelHostname: per-node counts are taken at Score time instead of per domain. */
export const LabelHostname = "kubernetes.io/hostname";
export const LabelTopologyZone = "topology.kubernetes.io/zone";

const byLabels =
  (m: LabelMatcher) =>
  (p: Pod): boolean =>
    m(p.metadata.labels);

/**
 * mergeLabelSetWithSelector: matchLabelKeys add `key in (pod's value)` requirements to the
 * selector; with no selector at all the keys alone select (labels.Nothing() has no requirements).
 */
function selectorWithMatchLabelKeys(
  c: TopologySpreadConstraint,
  podLabels: Record<string, string>,
): { matcher: LabelMatcher; selector: LabelSelector | undefined } {
  const extra = (c.matchLabelKeys ?? []).flatMap((k) =>
    podLabels[k] === undefined ? [] : [{ key: k, operator: "In" as const, values: [podLabels[k]] }],
  );
  if (extra.length === 0) return { matcher: compiledSelector(c.labelSelector), selector: c.labelSelector };
  const merged: LabelSelector = {
    ...(c.labelSelector?.matchLabels === undefined ? {} : { matchLabels: c.labelSelector.matchLabels }),
    matchExpressions: [...extra, ...(c.labelSelector?.matchExpressions ?? [])],
  };
  return { matcher: compileSelector(merged), selector: merged };
}

/** filterTopologySpreadConstraints: the constraints of one action, with kube's field defaults. */
export function filterTopologySpreadConstraints(
  constraints: readonly TopologySpreadConstraint[],
  podLabels: Record<string, string> | undefined,
  action: UnsatisfiableConstraintAction,
): SpreadConstraint[] {
  const out: SpreadConstraint[] = [];
  for (const c of constraints) {
    if (c.whenUnsatisfiable !== action) continue;
    const { matcher, selector } = selectorWithMatchLabelKeys(c, podLabels ?? {});
    out.push({
      maxSkew: c.maxSkew,
      topologyKey: c.topologyKey,
      matches: byLabels(matcher),
      key: `labels:${JSON.stringify(selector ?? null)}`,
      minDomains: c.minDomains ?? 1,
      nodeAffinityPolicy: c.nodeAffinityPolicy ?? "Honor",
      nodeTaintsPolicy: c.nodeTaintsPolicy ?? "Ignore",
    });
  }
  return out;
}

const controllerKinds: Record<string, string> = {
  ReplicaSet: "apps/v1",
  StatefulSet: "apps/v1",
  ReplicationController: "v1",
};

/**
 * helper.DefaultSelector, as far as Skiff's Handle can see. kube ANDs the selectors of the
 * Services selecting the pod with the selector of its controlling ReplicationController,
 * ReplicaSet or StatefulSet, read from listers. Skiff's Handle has no such listers, so the
 * default selector is "pods with the same controller" (the controller's uid in a controlling
 * ownerReference): for a controller's own pods it selects what the controller's selector selects.
 * A pod selected only by a Service, with no such controller, gets no default constraints.
 */
export function defaultSelector(pod: Pod): { matches: (p: Pod) => boolean; key: string } | undefined {
  const owner = pod.metadata.ownerReferences?.find((r) => r.controller === true);
  if (owner === undefined || controllerKinds[owner.kind] !== owner.apiVersion) return undefined;
  const uid = owner.uid;
  const matches = (p: Pod): boolean => {
    const refs = p.metadata.ownerReferences;
    if (refs === undefined) return false;
    for (const r of refs) if (r.uid === uid && r.controller === true) return true;
    return false;
  };
  return { matches, key: `controller:${uid}` };
}

/** buildDefaultConstraints: the default constraints of one action, selecting by defaultSelector. */
export function buildDefaultConstraints(
  defaults: readonly TopologySpreadConstraint[],
  pod: Pod,
  action: UnsatisfiableConstraintAction,
): SpreadConstraint[] {
  const constraints = filterTopologySpreadConstraints(defaults, pod.metadata.labels, action);
  if (constraints.length === 0) return [];
  const selector = defaultSelector(pod);
  if (selector === undefined) return [];
  for (const c of constraints) {
    c.matches = selector.matches;
    c.key = selector.key;
  }
  return constraints;
}

/** nodeLabelsMatchSpreadConstraints: the node has every constraint's topology key. */
export function nodeLabelsMatchSpreadConstraints(
  labels: Record<string, string> | undefined,
  constraints: readonly SpreadConstraint[],
): boolean {
  if (labels === undefined) return constraints.length === 0;
  for (const c of constraints) if (!Object.hasOwn(labels, c.topologyKey)) return false;
  return true;
}

/** helper.DoNotScheduleTaintsFilterFunc: only NoSchedule and NoExecute taints keep pods away. */
const doNotScheduleTaints = (t: { effect: string }) => t.effect === "NoSchedule" || t.effect === "NoExecute";

/** matchNodeInclusionPolicies: whether the node's domain counts for this pod at all. */
export function matchNodeInclusionPolicies(c: SpreadConstraint, pod: Pod, node: Node): boolean {
  if (c.nodeAffinityPolicy === "Honor" && !new RequiredNodeAffinity(pod).match(node)) return false;
  if (
    c.nodeTaintsPolicy === "Honor" &&
    findMatchingUntoleratedTaint(node.spec?.taints, pod.spec.tolerations, doNotScheduleTaints) !== undefined
  )
    return false;
  return true;
}

/**
 * matchNodeInclusionPolicies for one pod over many nodes and constraints: the node affinity and
 * taint verdicts are computed once per node, whatever the number of constraints.
 */
export function nodeInclusion(pod: Pod): (c: SpreadConstraint, node: Node) => boolean {
  let last: Node | undefined;
  let required: RequiredNodeAffinity | undefined;
  let affinity: boolean | undefined;
  let taints: boolean | undefined;
  return (c, node) => {
    if (node !== last) {
      last = node;
      affinity = undefined;
      taints = undefined;
    }
    if (c.nodeAffinityPolicy === "Honor") {
      required ??= new RequiredNodeAffinity(pod);
      affinity ??= required.match(node);
      if (!affinity) return false;
    }
    if (c.nodeTaintsPolicy === "Honor") {
      taints ??=
        findMatchingUntoleratedTaint(node.spec?.taints, pod.spec.tolerations, doNotScheduleTaints) ===
        undefined;
      if (!taints) return false;
    }
    return true;
  };
}

/** countPodsMatchSelector: terminating pods and other namespaces are not counted (kube #87621). */
export function countPodsMatchSelector(
  pods: readonly PodInfo[],
  c: SpreadConstraint,
  namespace: string,
): number {
  let n = 0;
  for (const pi of pods) {
    const p = pi.pod;
    if (p.metadata.deletionTimestamp || p.metadata.namespace !== namespace) continue;
    if (c.matches(p)) n++;
  }
  return n;
}

/** getConstraints: the pod's own constraints of one action, or the defaults when it has none at all. */
export function getConstraints(
  pod: Pod,
  defaults: readonly TopologySpreadConstraint[],
  action: UnsatisfiableConstraintAction,
): SpreadConstraint[] {
  const own = pod.spec.topologySpreadConstraints ?? [];
  const constraints =
    own.length > 0
      ? filterTopologySpreadConstraints(own, pod.metadata.labels, action)
      : buildDefaultConstraints(defaults, pod, action);
  // Only pods of the incoming pod's namespace are counted: the namespace is part of the key.
  for (const c of constraints) c.key = `${pod.metadata.namespace}\u0000${c.key}`;
  return constraints;
}

/**
 * countPodsMatchSelector for one node, remembered while the node's pods stay the same; `c` comes
 * from getConstraints for a pod of `namespace` (its key names the namespace).
 */
export function countMatching(
  cache: NodeMatchCache<number>,
  ni: NodeInfo,
  c: SpreadConstraint,
  namespace: string,
): number {
  return cache.get(ni, c.key, (n) => countPodsMatchSelector(n.pods, c, namespace));
}
