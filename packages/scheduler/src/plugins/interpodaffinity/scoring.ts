/**
 * InterPodAffinity's PreScore, Score and NormalizeScore (interpodaffinity/scoring.go): a sum of
 * weights per topology pair from preferred terms in both directions (and existing pods' required
 * affinity terms, weighted by hardPodAffinityWeight), read per node and scaled to 0..100 by
 * min-max.
 */
import type { Node, Pod } from "@skiff/api";
import type { CycleState, StateData } from "../../framework/cycle-state.js";
import { MAX_NODE_SCORE, type NodeInfoLister, type NodeScore } from "../../framework/interface.js";
import type { NodeInfo } from "../../framework/node-info.js";
import type { NodeMatchCache } from "../../framework/node-match-cache.js";
import { type AffinityTerm, PodInfo, type WeightedAffinityTerm } from "../../framework/pod-info.js";
import { Status } from "../../framework/status.js";
import { type NamespaceLabels, termMatches, termsMatchKey } from "./terms.js";

export const preScoreStateKey = "PreScoreInterPodAffinity";

/** topologyKey -> topology value -> summed weight. */
type ScoreMap = Map<string, Map<string, number>>;

export class PreScoreState implements StateData {
  constructor(
    readonly topologyScore: ScoreMap,
    readonly podInfo: PodInfo,
  ) {}

  /** Not changed after PreScore, so clones share it (as kube). */
  clone(): PreScoreState {
    return this;
  }
}

function processTerm(
  m: ScoreMap,
  term: AffinityTerm,
  weight: number,
  pod: Pod,
  nsLabels: NamespaceLabels,
  node: Node,
  multiplier: number,
): void {
  if (!termMatches(term, pod, nsLabels)) return;
  const tv = node.metadata.labels?.[term.topologyKey];
  if (tv === undefined) return;
  let values = m.get(term.topologyKey);
  if (values === undefined) {
    values = new Map();
    m.set(term.topologyKey, values);
  }
  values.set(tv, (values.get(tv) ?? 0) + weight * multiplier);
}

function processTerms(
  m: ScoreMap,
  terms: readonly WeightedAffinityTerm[],
  pod: Pod,
  nsLabels: NamespaceLabels,
  node: Node,
  multiplier: number,
): void {
  for (const t of terms) processTerm(m, t, t.weight, pod, nsLabels, node, multiplier);
}

export interface ScoringArgs {
  hardPodAffinityWeight: number;
  ignorePreferredTermsOfExistingPods: boolean;
}

/** The existing pod's terms matched against the incoming pod (kube's processExistingPod, second half). */
function processExistingPodTerms(
  m: ScoreMap,
  incoming: PodInfo,
  existing: PodInfo,
  node: Node,
  args: ScoringArgs,
  nsLabels: NamespaceLabels,
): void {
  if (args.hardPodAffinityWeight > 0)
    for (const t of existing.requiredAffinityTerms)
      processTerm(m, t, args.hardPodAffinityWeight, incoming.pod, nsLabels, node, 1);
  processTerms(m, existing.preferredAffinityTerms, incoming.pod, nsLabels, node, 1);
  processTerms(m, existing.preferredAntiAffinityTerms, incoming.pod, nsLabels, node, -1);
}

/** Adds `delta` to the pair (tk, node's value of tk) when the node has the label. */
function addToPair(m: ScoreMap, node: Node, tk: string, delta: number): void {
  const tv = node.metadata.labels?.[tk];
  if (tv === undefined) return;
  let values = m.get(tk);
  if (values === undefined) {
    values = new Map();
    m.set(tk, values);
  }
  values.set(tv, (values.get(tv) ?? 0) + delta);
}

const countMatching = (t: AffinityTerm, ni: NodeInfo, nsLabels: NamespaceLabels): number => {
  let n = 0;
  for (const p of ni.pods) if (termMatches(t, p.pod, nsLabels)) n++;
  return n;
};

/**
 * PreScore. The incoming pod's preferred terms are matched against every pod of a node at once
 * (n matching pods add n times the weight, as n single updates would), with per-node counts
 * reused from `cache` while the node's pods do not change; the existing pods' own terms are
 * matched against the incoming pod for the pods with affinity only, as only they have terms.
 */
export function preScore(
  cycleState: CycleState,
  pod: Pod,
  nodes: readonly NodeInfo[],
  lister: NodeInfoLister,
  args: ScoringArgs,
  nsLabels: NamespaceLabels,
  cache: NodeMatchCache<number>,
): Status | undefined {
  if (nodes.length === 0) return Status.skip();
  const a = pod.spec.affinity;
  const hasConstraints =
    (a?.podAffinity?.preferredDuringSchedulingIgnoredDuringExecution?.length ?? 0) > 0 ||
    (a?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution?.length ?? 0) > 0;
  if (args.ignorePreferredTermsOfExistingPods && !hasConstraints) return Status.skip();
  let pi: PodInfo;
  try {
    pi = new PodInfo(pod);
  } catch (e) {
    return Status.error(new Error(`failed to parse pod: ${e instanceof Error ? e.message : String(e)}`));
  }
  const incomingTerms = [
    ...pi.preferredAffinityTerms.map((t) => ({ t, sign: 1, key: termsMatchKey("preferred", [t]) })),
    ...pi.preferredAntiAffinityTerms.map((t) => ({ t, sign: -1, key: termsMatchKey("preferred", [t]) })),
  ];
  // Unless the incoming pod has preferred terms, only pods with affinity can contribute.
  const allNodes = hasConstraints ? lister.list() : lister.havePodsWithAffinityList();
  const m: ScoreMap = new Map();
  for (const ni of allNodes) {
    const node = ni.node;
    if (node === undefined || Object.keys(node.metadata.labels ?? {}).length === 0) continue;
    for (const { t, sign, key } of incomingTerms) {
      const n =
        key === undefined
          ? countMatching(t, ni, nsLabels)
          : cache.get(ni, key, (x) => countMatching(t, x, nsLabels));
      if (n > 0) addToPair(m, node, t.topologyKey, sign * t.weight * n);
    }
    for (const existing of ni.podsWithAffinity)
      processExistingPodTerms(m, pi, existing, node, args, nsLabels);
  }
  if (m.size === 0) return Status.skip();
  cycleState.write(preScoreStateKey, new PreScoreState(m, pi));
  return undefined;
}

/** Score: the sum of the pair scores of the node's labels (negative for anti-affinity). */
export function score(s: PreScoreState, nodeInfo: NodeInfo): number {
  const labels = nodeInfo.node?.metadata.labels ?? {};
  let total = 0;
  for (const [tk, values] of s.topologyScore) {
    const v = labels[tk];
    if (v !== undefined) total += values.get(v) ?? 0;
  }
  return total;
}

/** NormalizeScore: min-max into 0..MaxNodeScore (all equal: all 0), truncated as kube's int64(). */
export function normalizeScore(s: PreScoreState, scores: NodeScore[]): void {
  if (s.topologyScore.size === 0) return;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const ns of scores) {
    if (ns.score > max) max = ns.score;
    if (ns.score < min) min = ns.score;
  }
  const diff = max - min;
  for (const ns of scores) ns.score = diff > 0 ? Math.trunc(MAX_NODE_SCORE * ((ns.score - min) / diff)) : 0;
}
