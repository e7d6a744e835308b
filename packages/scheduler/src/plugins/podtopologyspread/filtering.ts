/**
 * PodTopologySpread's PreFilter, PreFilterExtensions and Filter (podtopologyspread/filtering.go):
 * PreFilter counts the matching pods per topology value of each DoNotSchedule constraint once per
 * pod, keeping the two smallest domains (critical paths); Filter then checks
 * `matching pods in the node's domain + self - global minimum <= maxSkew` per constraint in O(1).
 */
import type { Node, Pod, TopologySpreadConstraint } from "@skiff/api";
import type { StateData } from "../../framework/cycle-state.js";
import type { NodeInfo } from "../../framework/node-info.js";
import type { NodeMatchCache } from "../../framework/node-match-cache.js";
import { Status } from "../../framework/status.js";
import {
  countMatching,
  getConstraints,
  matchNodeInclusionPolicies,
  nodeInclusion,
  nodeLabelsMatchSpreadConstraints,
  type SpreadConstraint,
} from "./common.js";

export const preFilterStateKey = "PreFilterPodTopologySpread";

export const ErrReasonConstraintsNotMatch = "node(s) didn't match pod topology spread constraints";
export const ErrReasonNodeLabelNotMatch = `${ErrReasonConstraintsNotMatch} (missing required label)`;

const MaxInt32 = 2 ** 31 - 1;

interface CriticalPath {
  topologyValue: string;
  matchNum: number;
}

/**
 * criticalPaths: the two domains with the fewest matching pods. [0].matchNum is always the
 * minimum; [1] is not guaranteed to be the second minimum. Two suffice because preemption only
 * removes pods from one node, on its own copy of the state (kube's CAVEAT).
 */
export class CriticalPaths {
  readonly p: [CriticalPath, CriticalPath] = [
    { topologyValue: "", matchNum: MaxInt32 },
    { topologyValue: "", matchNum: MaxInt32 },
  ];

  update(tpVal: string, num: number): void {
    const [a, b] = this.p;
    const i = tpVal === a.topologyValue ? 0 : tpVal === b.topologyValue ? 1 : undefined;
    if (i !== undefined) {
      this.p[i] = { topologyValue: tpVal, matchNum: num };
      if (this.p[0].matchNum > this.p[1].matchNum) this.p.reverse();
    } else if (num < a.matchNum) {
      this.p[1] = a;
      this.p[0] = { topologyValue: tpVal, matchNum: num };
    } else if (num < b.matchNum) {
      this.p[1] = { topologyValue: tpVal, matchNum: num };
    }
  }

  clone(): CriticalPaths {
    const c = new CriticalPaths();
    c.p[0] = { ...this.p[0] };
    c.p[1] = { ...this.p[1] };
    return c;
  }
}

export class PreFilterState implements StateData {
  constructor(
    /** Shared by clones: they do not change. */
    readonly constraints: readonly SpreadConstraint[],
    /** Per constraint: whether the incoming pod itself matches (it adds one to its domain). */
    readonly selfMatch: readonly boolean[],
    readonly criticalPaths: CriticalPaths[],
    /** Per constraint: topology value -> matching pods in that domain. */
    readonly tpValueToMatchNum: Map<string, number>[],
  ) {}

  /** minMatchNum: the global minimum, taken as 0 while fewer than minDomains domains are eligible. */
  minMatchNum(i: number): number {
    const c = this.constraints[i] as SpreadConstraint;
    const domains = (this.tpValueToMatchNum[i] as Map<string, number>).size;
    if (domains < c.minDomains) return 0;
    return (this.criticalPaths[i] as CriticalPaths).p[0].matchNum;
  }

  clone(): PreFilterState {
    return new PreFilterState(
      this.constraints,
      this.selfMatch,
      this.criticalPaths.map((p) => p.clone()),
      this.tpValueToMatchNum.map((m) => new Map(m)),
    );
  }

  /** updateWithPod: AddPod (+1) / RemovePod (-1) of `updated` on `node`, for the preemptor `pod`. */
  updateWithPod(updated: Pod, pod: Pod, node: Node | undefined, delta: number): void {
    if (updated.metadata.namespace !== pod.metadata.namespace || node === undefined) return;
    const labels = node.metadata.labels;
    if (!nodeLabelsMatchSpreadConstraints(labels, this.constraints)) return;
    this.constraints.forEach((c, i) => {
      if (!c.matches(updated) || !matchNodeInclusionPolicies(c, pod, node)) return;
      const v = labels?.[c.topologyKey] ?? "";
      const m = this.tpValueToMatchNum[i] as Map<string, number>;
      const n = (m.get(v) ?? 0) + delta;
      m.set(v, n);
      (this.criticalPaths[i] as CriticalPaths).update(v, n);
    });
  }
}

/** calPreFilterState: one pass over the nodes, counting each eligible node's matching pods. */
export function calPreFilterState(
  pod: Pod,
  allNodes: readonly NodeInfo[],
  defaults: readonly TopologySpreadConstraint[],
  cache: NodeMatchCache<number>,
): PreFilterState {
  const constraints = getConstraints(pod, defaults, "DoNotSchedule");
  // No DoNotSchedule constraint: the plugin skips its Filter; no node needs counting.
  if (constraints.length === 0) return new PreFilterState(constraints, [], [], []);
  const counts = constraints.map(() => new Map<string, number>());
  const ns = pod.metadata.namespace;
  const included = nodeInclusion(pod);
  for (const ni of allNodes) {
    const node = ni.node;
    if (node === undefined || !nodeLabelsMatchSpreadConstraints(node.metadata.labels, constraints)) continue;
    for (let i = 0; i < constraints.length; i++) {
      const c = constraints[i] as SpreadConstraint;
      if (!included(c, node)) continue;
      const v = node.metadata.labels?.[c.topologyKey] ?? "";
      const m = counts[i] as Map<string, number>;
      m.set(v, (m.get(v) ?? 0) + countMatching(cache, ni, c, ns));
    }
  }
  const paths = counts.map((m) => {
    const p = new CriticalPaths();
    for (const [v, n] of m) p.update(v, n);
    return p;
  });
  return new PreFilterState(
    constraints,
    constraints.map((c) => c.matches(pod)),
    paths,
    counts,
  );
}

export function filter(s: PreFilterState, nodeInfo: NodeInfo): Status | undefined {
  if (s.constraints.length === 0) return undefined;
  const labels = nodeInfo.node?.metadata.labels ?? {};
  for (let i = 0; i < s.constraints.length; i++) {
    const c = s.constraints[i] as SpreadConstraint;
    const tpVal = labels[c.topologyKey];
    if (tpVal === undefined) return Status.unresolvable(ErrReasonNodeLabelNotMatch);
    const matchNum = (s.tpValueToMatchNum[i] as Map<string, number>).get(tpVal) ?? 0;
    const skew = matchNum + (s.selfMatch[i] ? 1 : 0) - s.minMatchNum(i);
    if (skew > c.maxSkew) return Status.unschedulable(ErrReasonConstraintsNotMatch);
  }
  return undefined;
}
