/**
 * PodTopologySpread's PreScore, Score and NormalizeScore (podtopologyspread/scoring.go) for the
 * ScheduleAnyway constraints (and the cluster defaults): a node scores the matching pods of its
 * domains, each weighted by log(number of domains + 2), plus maxSkew - 1; fewer is better, so
 * NormalizeScore inverts the scale.
 */
import type { Pod, TopologySpreadConstraint } from "@skiff/api";
import type { StateData } from "../../framework/cycle-state.js";
import { MAX_NODE_SCORE, type NodeInfoLister, type NodeScore } from "../../framework/interface.js";
import type { NodeInfo } from "../../framework/node-info.js";
import type { NodeMatchCache } from "../../framework/node-match-cache.js";
import { Status } from "../../framework/status.js";
import {
  countMatching,
  getConstraints,
  LabelHostname,
  nodeInclusion,
  nodeLabelsMatchSpreadConstraints,
  type SpreadConstraint,
} from "./common.js";

export const preScoreStateKey = "PreScorePodTopologySpread";
const invalidScore = -1;

export class PreScoreState implements StateData {
  constraints: SpreadConstraint[] = [];
  /** Nodes that miss a topology key: scored 0. */
  readonly ignoredNodes = new Set<string>();
  /** Per constraint: topology value -> matching pods (hostname constraints count at Score). */
  topologyValueToPodCounts: Map<string, number>[] = [];
  /** Per constraint: log(domains + 2), so that small topologies are not watered down by big ones. */
  topologyNormalizingWeight: number[] = [];

  /** Not changed after PreScore, so clones share it (as kube). */
  clone(): PreScoreState {
    return this;
  }
}

/** topologyNormalizingWeight: in [1.09, 8.52] for 1..5000 domains. */
export const topologyNormalizingWeight = (size: number): number => Math.log(size + 2);

/** scoreForCount: maxSkew - 1 waters down the differences between domains, as the skew tolerates them. */
const scoreForCount = (cnt: number, maxSkew: number, weight: number): number => cnt * weight + (maxSkew - 1);

/** initPreScoreState: the constraints, the ignored nodes and the domains seen among filtered nodes. */
function initPreScoreState(
  s: PreScoreState,
  pod: Pod,
  filteredNodes: readonly NodeInfo[],
  requireAllTopologies: boolean,
  defaults: readonly TopologySpreadConstraint[],
): void {
  s.constraints = getConstraints(pod, defaults, "ScheduleAnyway");
  if (s.constraints.length === 0) return;
  s.topologyValueToPodCounts = s.constraints.map(() => new Map());
  const topoSize = s.constraints.map(() => 0);
  for (const ni of filteredNodes) {
    const labels = ni.node?.metadata.labels;
    if (requireAllTopologies && !nodeLabelsMatchSpreadConstraints(labels, s.constraints)) {
      s.ignoredNodes.add(ni.name);
      continue;
    }
    s.constraints.forEach((c, i) => {
      if (c.topologyKey === LabelHostname) return;
      const v = labels?.[c.topologyKey] ?? "";
      const m = s.topologyValueToPodCounts[i] as Map<string, number>;
      if (!m.has(v)) {
        m.set(v, 0);
        topoSize[i] = (topoSize[i] as number) + 1;
      }
    });
  }
  s.topologyNormalizingWeight = s.constraints.map((c, i) =>
    topologyNormalizingWeight(
      c.topologyKey === LabelHostname ? filteredNodes.length - s.ignoredNodes.size : (topoSize[i] as number),
    ),
  );
}

export function preScore(
  pod: Pod,
  filteredNodes: readonly NodeInfo[],
  lister: NodeInfoLister,
  defaults: readonly TopologySpreadConstraint[],
  systemDefaulted: boolean,
  cache: NodeMatchCache<number>,
): { state?: PreScoreState; status?: Status } {
  const allNodes = lister.list();
  if (allNodes.length === 0) return { status: Status.skip() };
  const s = new PreScoreState();
  // Only non-system-default rules require every topology label, so that nodes without a zone
  // label still get hostname spreading.
  const requireAllTopologies = (pod.spec.topologySpreadConstraints?.length ?? 0) > 0 || !systemDefaulted;
  initPreScoreState(s, pod, filteredNodes, requireAllTopologies, defaults);
  if (s.constraints.length === 0) return { status: Status.skip() };
  const ns = pod.metadata.namespace;
  const included = nodeInclusion(pod);
  for (const ni of allNodes) {
    const node = ni.node;
    if (node === undefined) continue;
    if (requireAllTopologies && !nodeLabelsMatchSpreadConstraints(node.metadata.labels, s.constraints))
      continue;
    for (let i = 0; i < s.constraints.length; i++) {
      const c = s.constraints[i] as SpreadConstraint;
      const m = s.topologyValueToPodCounts[i] as Map<string, number>;
      // Only domains of candidate nodes count; per-node (hostname) counts are taken at Score.
      const v = node.metadata.labels?.[c.topologyKey] ?? "";
      const cur = m.get(v);
      if (cur === undefined || !included(c, node)) continue;
      m.set(v, cur + countMatching(cache, ni, c, ns));
    }
  }
  return { state: s };
}

export function score(s: PreScoreState, pod: Pod, nodeInfo: NodeInfo, cache: NodeMatchCache<number>): number {
  const node = nodeInfo.node;
  if (node === undefined || s.ignoredNodes.has(node.metadata.name)) return 0;
  const labels = node.metadata.labels ?? {};
  let total = 0;
  s.constraints.forEach((c, i) => {
    const tpVal = labels[c.topologyKey];
    if (tpVal === undefined) return;
    const cnt =
      c.topologyKey === LabelHostname
        ? countMatching(cache, nodeInfo, c, pod.metadata.namespace)
        : ((s.topologyValueToPodCounts[i] as Map<string, number>).get(tpVal) ?? 0);
    total += scoreForCount(cnt, c.maxSkew, s.topologyNormalizingWeight[i] as number);
  });
  return Math.round(total);
}

/** NormalizeScore: MaxNodeScore * (max + min - score) / max, integer arithmetic as kube's int64. */
export function normalizeScore(s: PreScoreState, scores: NodeScore[]): void {
  let min = Number.MAX_SAFE_INTEGER;
  let max = 0;
  for (const ns of scores) {
    if (s.ignoredNodes.has(ns.name)) {
      ns.score = invalidScore;
      continue;
    }
    if (ns.score < min) min = ns.score;
    if (ns.score > max) max = ns.score;
  }
  for (const ns of scores) {
    if (ns.score === invalidScore) ns.score = 0;
    else if (max === 0) ns.score = MAX_NODE_SCORE;
    else ns.score = Math.trunc((MAX_NODE_SCORE * (max + min - ns.score)) / max);
  }
}
