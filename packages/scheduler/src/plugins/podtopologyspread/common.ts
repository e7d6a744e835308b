/**
 * What PodTopologySpread's Filter and Score share (podtopologyspread/common.go): the pod's
 * constraints with their selectors compiled, the node inclusion policies, pod counting and the
 * cluster-level default constraints.
 */
import type { LabelSelector, Node, Pod, TopologySpreadConstraint } from "@skiff/api";
import { compiledSelector, compileSelector, type LabelMatcher } from "../../framework/label-selector.js";
import { podMatchesNodeSelectorAndAffinityTerms } from "../../framework/node-selector.js";
import type { PodInfo } from "../../framework/pod-info.js";
import { findMatchingUntoleratedTaint } from "../../framework/taints.js";

export type NodeInclusionPolicy = "Honor" | "Ignore";
export type UnsatisfiableConstraintAction = "DoNotSchedule" | "ScheduleAnyway";

/** topologySpreadConstraint: a v1.TopologySpreadConstraint with its selector parsed. */
export interface SpreadConstraint {
  maxSkew: number;
  topologyKey: string;
  /** Whether a pod (of the incoming pod's namespace) is counted by this constraint. */
  matches: (pod: Pod) => boolean;
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
): LabelMatcher {
  const extra = (c.matchLabelKeys ?? []).flatMap((k) =>
    podLabels[k] === undefined ? [] : [{ key: k, operator: "In" as const, values: [podLabels[k]] }],
  );
  if (extra.length === 0) return compiledSelector(c.labelSelector);
  const merged: LabelSelector = {
    ...(c.labelSelector?.matchLabels === undefined ? {} : { matchLabels: c.labelSelector.matchLabels }),
    matchExpressions: [...extra, ...(c.labelSelector?.matchExpressions ?? [])],
  };
  return compileSelector(merged);
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
    out.push({
      maxSkew: c.maxSkew,
      topologyKey: c.topologyKey,
      matches: byLabels(selectorWithMatchLabelKeys(c, podLabels ?? {})),
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
export function defaultSelector(pod: Pod): ((p: Pod) => boolean) | undefined {
  const owner = pod.metadata.ownerReferences?.find((r) => r.controller === true);
  if (owner === undefined || controllerKinds[owner.kind] !== owner.apiVersion) return undefined;
  const uid = owner.uid;
  return (p) => p.metadata.ownerReferences?.some((r) => r.controller === true && r.uid === uid) ?? false;
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
  for (const c of constraints) c.matches = selector;
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
  if (c.nodeAffinityPolicy === "Honor" && !podMatchesNodeSelectorAndAffinityTerms(pod, node)) return false;
  if (
    c.nodeTaintsPolicy === "Honor" &&
    findMatchingUntoleratedTaint(node.spec?.taints, pod.spec.tolerations, doNotScheduleTaints) !== undefined
  )
    return false;
  return true;
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
  if (own.length > 0) return filterTopologySpreadConstraints(own, pod.metadata.labels, action);
  return buildDefaultConstraints(defaults, pod, action);
}
