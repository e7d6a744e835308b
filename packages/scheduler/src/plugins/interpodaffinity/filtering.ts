/**
 * InterPodAffinity's PreFilter, PreFilterExtensions and Filter (interpodaffinity/filtering.go).
 * PreFilter counts, per topology pair, (1) existing pods whose required anti-affinity matches the
 * incoming pod, (2) existing pods matching all of the incoming pod's required affinity terms and
 * (3) existing pods matching each of its required anti-affinity terms. Filter then answers per
 * node with a few map look-ups.
 */
import type { Node, Pod } from "@skiff/api";
import type { CycleState, StateData } from "../../framework/cycle-state.js";
import type { NodeInfoLister } from "../../framework/interface.js";
import type { NodeInfo } from "../../framework/node-info.js";
import type { NodeMatchCache } from "../../framework/node-match-cache.js";
import { PodInfo } from "../../framework/pod-info.js";
import { Status } from "../../framework/status.js";
import { type NamespaceLabels, podMatchesAllAffinityTerms, termMatches, termsMatchKey } from "./terms.js";
import { TopologyCounts } from "./topology-counts.js";

export const preFilterStateKey = "PreFilterInterPodAffinity";

export const ErrReasonExistingAntiAffinityRulesNotMatch =
  "node(s) didn't satisfy existing pods anti-affinity rules";
export const ErrReasonAffinityRulesNotMatch = "node(s) didn't match pod affinity rules";
export const ErrReasonAntiAffinityRulesNotMatch = "node(s) didn't match pod anti-affinity rules";

export class PreFilterState implements StateData {
  constructor(
    /** Pairs where existing pods' required anti-affinity terms match the incoming pod. */
    readonly existingAntiAffinityCounts: TopologyCounts,
    /** Pairs where existing pods match all of the incoming pod's required affinity terms. */
    readonly affinityCounts: TopologyCounts,
    /** Pairs where existing pods match the incoming pod's required anti-affinity terms. */
    readonly antiAffinityCounts: TopologyCounts,
    readonly podInfo: PodInfo,
    /** Namespace labels, memoized for this cycle (shared by clones: they do not change). */
    readonly nsLabels: NamespaceLabels,
  ) {}

  clone(): PreFilterState {
    return new PreFilterState(
      this.existingAntiAffinityCounts.clone(),
      this.affinityCounts.clone(),
      this.antiAffinityCounts.clone(),
      this.podInfo,
      this.nsLabels,
    );
  }

  /** updateWithPod: the counters after adding (+1) or removing (-1) `pi` on `node`. */
  updateWithPod(pi: PodInfo, node: Node, multiplier: number): void {
    const incoming = this.podInfo;
    this.existingAntiAffinityCounts.updateWithAntiAffinityTerms(
      pi.requiredAntiAffinityTerms,
      incoming.pod,
      node,
      multiplier,
      this.nsLabels,
    );
    this.affinityCounts.updateWithAffinityTerms(
      incoming.requiredAffinityTerms,
      pi.pod,
      node,
      multiplier,
      this.nsLabels,
    );
    this.antiAffinityCounts.updateWithAntiAffinityTerms(
      incoming.requiredAntiAffinityTerms,
      pi.pod,
      node,
      multiplier,
      this.nsLabels,
    );
  }
}

/** Per node: the topology keys of its pods' required anti-affinity terms that match a pod, with counts. */
export type ExistingAntiMatches = readonly (readonly [topologyKey: string, count: number])[];

/**
 * What decides whether existing pods' terms match the incoming pod: its namespace, that
 * namespace's labels (namespaceSelector) and its own labels. Two pods with the same key get the
 * same per-node answers, so a node's answer is kept while its pods do not change.
 */
function incomingMatchKey(pod: Pod, nsLabels: NamespaceLabels): string {
  const labels = pod.metadata.labels ?? {};
  const ns = pod.metadata.namespace;
  const sorted = (l: Record<string, string> | undefined) =>
    Object.keys(l ?? {})
      .sort()
      .map((k) => `${k}=${(l as Record<string, string>)[k]}`)
      .join("\u0000");
  return `existing-anti\u0001${ns}\u0001${sorted(nsLabels(ns))}\u0001${sorted(labels)}`;
}

function scanExistingAnti(pod: Pod, ni: NodeInfo, nsLabels: NamespaceLabels): ExistingAntiMatches {
  const byKey = new Map<string, number>();
  for (const existing of ni.podsWithRequiredAntiAffinity)
    for (const t of existing.requiredAntiAffinityTerms)
      if (termMatches(t, pod, nsLabels)) byKey.set(t.topologyKey, (byKey.get(t.topologyKey) ?? 0) + 1);
  return [...byKey];
}

/**
 * getExistingAntiAffinityCounts: only nodes holding pods with required anti-affinity are visited,
 * and a node's answer is reused while its pods do not change (an O(pods with anti-affinity) scan
 * per cycle otherwise, which kube spreads over 16 goroutines).
 */
function existingAntiAffinityCounts(
  pod: Pod,
  nodes: readonly NodeInfo[],
  nsLabels: NamespaceLabels,
  cache: NodeMatchCache<ExistingAntiMatches>,
): TopologyCounts {
  const counts = new TopologyCounts();
  if (nodes.length === 0) return counts;
  const key = incomingMatchKey(pod, nsLabels);
  const scan = (ni: NodeInfo) => scanExistingAnti(pod, ni, nsLabels);
  for (const ni of nodes) {
    const node = ni.node;
    if (node === undefined) continue;
    for (const [tk, n] of cache.get(ni, key, scan)) counts.update(node, tk, n);
  }
  return counts;
}

/** Per node: pods matching all the incoming pod's affinity terms, and each of its anti-affinity terms. */
export interface IncomingMatches {
  affinity: number;
  anti: number[];
}

function scanIncoming(pi: PodInfo, ni: NodeInfo, nsLabels: NamespaceLabels): IncomingMatches {
  const anti = pi.requiredAntiAffinityTerms.map(() => 0);
  let affinity = 0;
  for (const existing of ni.pods) {
    if (podMatchesAllAffinityTerms(pi.requiredAffinityTerms, existing.pod, nsLabels)) affinity++;
    pi.requiredAntiAffinityTerms.forEach((t, i) => {
      if (termMatches(t, existing.pod, nsLabels)) anti[i] = (anti[i] as number) + 1;
    });
  }
  return { affinity, anti };
}

/**
 * getIncomingAffinityAntiAffinityCounts: every pod is visited (only for a pod with required
 * terms); per-node answers are reused from `cache` while the node's pods do not change. A node's
 * n matching pods add n to the pair of each term, as n single updates would.
 */
function incomingCounts(
  pi: PodInfo,
  nodes: readonly NodeInfo[],
  nsLabels: NamespaceLabels,
  cache: NodeMatchCache<IncomingMatches>,
): [TopologyCounts, TopologyCounts] {
  const affinity = new TopologyCounts();
  const anti = new TopologyCounts();
  if (pi.requiredAffinityTerms.length === 0 && pi.requiredAntiAffinityTerms.length === 0)
    return [affinity, anti];
  const key = termsMatchKey(`required/${pi.requiredAffinityTerms.length}`, [
    ...pi.requiredAffinityTerms,
    ...pi.requiredAntiAffinityTerms,
  ]);
  const scan = (ni: NodeInfo) => scanIncoming(pi, ni, nsLabels);
  for (const ni of nodes) {
    const node = ni.node;
    if (node === undefined) continue;
    const m = key === undefined ? scan(ni) : cache.get(ni, key, scan);
    if (m.affinity > 0)
      for (const t of pi.requiredAffinityTerms) affinity.update(node, t.topologyKey, m.affinity);
    pi.requiredAntiAffinityTerms.forEach((t, i) => {
      const n = m.anti[i] as number;
      if (n > 0) anti.update(node, t.topologyKey, n);
    });
  }
  return [affinity, anti];
}

/** PreFilter: Skip when neither the pod nor any existing pod has required (anti-)affinity for it. */
export function preFilter(
  cycleState: CycleState,
  pod: Pod,
  allNodes: readonly NodeInfo[],
  lister: NodeInfoLister,
  nsLabels: NamespaceLabels,
  cache: NodeMatchCache<IncomingMatches>,
  existingCache: NodeMatchCache<ExistingAntiMatches>,
): Status | undefined {
  let pi: PodInfo;
  try {
    pi = new PodInfo(pod);
  } catch (e) {
    return Status.unresolvable(`parsing pod: ${e instanceof Error ? e.message : String(e)}`);
  }
  const existing = existingAntiAffinityCounts(
    pod,
    lister.havePodsWithRequiredAntiAffinityList(),
    nsLabels,
    existingCache,
  );
  const [affinity, anti] = incomingCounts(pi, allNodes, nsLabels, cache);
  if (
    existing.size === 0 &&
    pi.requiredAffinityTerms.length === 0 &&
    pi.requiredAntiAffinityTerms.length === 0
  )
    return Status.skip();
  cycleState.write(preFilterStateKey, new PreFilterState(existing, affinity, anti, pi, nsLabels));
  return undefined;
}

/** The state PreFilter wrote; throws when PreFilter did not run for this cycle. */
export function getPreFilterState(cycleState: CycleState): PreFilterState {
  return cycleState.mustRead<PreFilterState>(preFilterStateKey);
}

/** satisfyExistingPodsAntiAffinity: no pair of the node's labels is claimed by an existing pod's anti-affinity. */
function satisfyExistingPodsAntiAffinity(s: PreFilterState, node: Node): boolean {
  if (s.existingAntiAffinityCounts.size === 0) return true;
  const labels = node.metadata.labels ?? {};
  for (const k in labels) if (s.existingAntiAffinityCounts.get(k, labels[k] as string) > 0) return false;
  return true;
}

/** satisfyPodAntiAffinity: no pod matching one of the pod's anti-affinity terms shares the term's domain. */
function satisfyPodAntiAffinity(s: PreFilterState, node: Node): boolean {
  if (s.antiAffinityCounts.size === 0) return true;
  const labels = node.metadata.labels ?? {};
  for (const t of s.podInfo.requiredAntiAffinityTerms) {
    const v = labels[t.topologyKey];
    if (v !== undefined && s.antiAffinityCounts.get(t.topologyKey, v) > 0) return false;
  }
  return true;
}

/** satisfyPodAffinity: every term's domain on this node holds a matching pod (or the first-pod exception). */
function satisfyPodAffinity(s: PreFilterState, node: Node): boolean {
  const labels = node.metadata.labels ?? {};
  let podsExist = true;
  for (const t of s.podInfo.requiredAffinityTerms) {
    const v = labels[t.topologyKey];
    // All topology labels must exist on the node.
    if (v === undefined) return false;
    if (s.affinityCounts.get(t.topologyKey, v) <= 0) podsExist = false;
  }
  if (podsExist) return true;
  // The first pod of a group with affinity to itself: when no pod anywhere matches the terms
  // and the pod matches its own terms, it may go to any node having the topology keys.
  return (
    s.affinityCounts.size === 0 &&
    podMatchesAllAffinityTerms(s.podInfo.requiredAffinityTerms, s.podInfo.pod, s.nsLabels)
  );
}

export function filter(s: PreFilterState, nodeInfo: NodeInfo): Status | undefined {
  const node = nodeInfo.node;
  if (node === undefined) return Status.error(new Error("node not found"));
  if (!satisfyPodAffinity(s, node)) return Status.unresolvable(ErrReasonAffinityRulesNotMatch);
  if (!satisfyPodAntiAffinity(s, node)) return Status.unschedulable(ErrReasonAntiAffinityRulesNotMatch);
  if (!satisfyExistingPodsAntiAffinity(s, node))
    return Status.unschedulable(ErrReasonExistingAntiAffinityRulesNotMatch);
  return undefined;
}
