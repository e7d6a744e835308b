/**
 * The scheduling algorithm of one cycle (pkg/scheduler/schedule_one.go's schedulePod): PreFilter,
 * Filter over a rotating window of nodes until enough feasible ones are found
 * (percentageOfNodesToScore), PreScore and Score over those, and the best-scored node with ties
 * broken at random. Synchronous: a cycle never waits for I/O.
 */
import type { Pod } from "@skiff/api";
import type { CycleState } from "./framework/cycle-state.js";
import { FitError, NoNodesAvailableError, newDiagnosis } from "./framework/fit-error.js";
import type { NodeInfo } from "./framework/node-info.js";
import type { Framework } from "./framework/runtime.js";
import type { Snapshot } from "./framework/snapshot.js";
import { Code, isSuccess, type Status } from "./framework/status.js";

/** kube's minFeasibleNodesToFind and minFeasibleNodesPercentageToFind. */
const MIN_FEASIBLE_NODES_TO_FIND = 100;
const MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND = 5;

export interface ScheduleResult {
  suggestedHost: string;
  evaluatedNodes: number;
  feasibleNodes: number;
}

/** numFeasibleNodesToFind: all nodes below 100; else the percentage (adaptive: 50 - n/125, at least 5), at least 100. */
export function numFeasibleNodesToFind(percentage: number | undefined, numAllNodes: number): number {
  if (numAllNodes < MIN_FEASIBLE_NODES_TO_FIND) return numAllNodes;
  let p = percentage ?? 0;
  if (p === 0) p = Math.max(50 - Math.trunc(numAllNodes / 125), MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND);
  const n = Math.trunc((numAllNodes * p) / 100);
  return Math.max(n, MIN_FEASIBLE_NODES_TO_FIND);
}

export class ScheduleAlgorithm {
  /** Where the next cycle's node window starts (kube's nextStartNodeIndex). */
  private nextStartNodeIndex = 0;

  constructor(
    private readonly random: () => number,
    private readonly globalPercentage: number | undefined,
  ) {}

  /** Throws FitError (no node fits), NoNodesAvailableError, or an Error from a plugin. */
  schedulePod(fwk: Framework, state: CycleState, pod: Pod, snapshot: Snapshot): ScheduleResult {
    const all = snapshot.list();
    if (all.length === 0) throw new NoNodesAvailableError();
    const { feasible, diagnosis } = this.findNodesThatFitPod(fwk, state, pod, snapshot, all);
    if (feasible.length === 0) throw new FitError(pod, all.length, diagnosis);
    if (feasible.length === 1)
      return {
        suggestedHost: (feasible[0] as NodeInfo).name,
        evaluatedNodes: 1 + diagnosis.nodeToStatus.size,
        feasibleNodes: 1,
      };
    const host = this.prioritize(fwk, state, pod, feasible);
    return {
      suggestedHost: host,
      evaluatedNodes: feasible.length + diagnosis.nodeToStatus.size,
      feasibleNodes: feasible.length,
    };
  }

  private findNodesThatFitPod(
    fwk: Framework,
    state: CycleState,
    pod: Pod,
    snapshot: Snapshot,
    all: readonly NodeInfo[],
  ) {
    const diagnosis = newDiagnosis();
    const pre = fwk.runPreFilterPlugins(state, pod, all);
    for (const p of pre.unschedulablePlugins) diagnosis.unschedulablePlugins.add(p);
    if (!isSuccess(pre.status)) {
      const s = pre.status as Status;
      if (s.code === Code.Error) throw s.error ?? new Error(s.message());
      diagnosis.preFilterMsg = s.message();
      for (const ni of all) diagnosis.nodeToStatus.set(ni.name, s);
      return { feasible: [] as NodeInfo[], diagnosis };
    }
    // A pod nominated by an earlier preemption tries that node first (evaluateNominatedNode).
    const nominated = pod.status?.nominatedNodeName;
    if (nominated !== undefined && nominated !== "") {
      const ni = snapshot.get(nominated);
      if (ni !== undefined && (pre.result?.nodeNames === undefined || pre.result.nodeNames.has(nominated))) {
        const s = fwk.runFilterPluginsWithNominatedPods(state, pod, ni);
        if (isSuccess(s)) return { feasible: [ni], diagnosis };
      }
    }
    let nodes = all;
    if (pre.result?.nodeNames !== undefined) {
      const names = pre.result.nodeNames;
      nodes = [];
      for (const n of names) {
        const ni = snapshot.get(n);
        if (ni !== undefined) (nodes as NodeInfo[]).push(ni);
      }
    }
    const feasible = this.findNodesThatPassFilters(fwk, state, pod, nodes, diagnosis);
    return { feasible, diagnosis };
  }

  private findNodesThatPassFilters(
    fwk: Framework,
    state: CycleState,
    pod: Pod,
    nodes: readonly NodeInfo[],
    diagnosis: ReturnType<typeof newDiagnosis>,
  ): NodeInfo[] {
    const n = nodes.length;
    const toFind = numFeasibleNodesToFind(fwk.percentageOfNodesToScore ?? this.globalPercentage, n);
    const feasible: NodeInfo[] = [];
    const start = n === 0 ? 0 : this.nextStartNodeIndex % n;
    let processed = 0;
    for (; processed < n && feasible.length < toFind; processed++) {
      const ni = nodes[(start + processed) % n] as NodeInfo;
      const s = fwk.runFilterPluginsWithNominatedPods(state, pod, ni);
      if (s === undefined || s.code === Code.Success) {
        feasible.push(ni);
        continue;
      }
      if (s.code === Code.Error) throw s.error ?? new Error(s.message());
      diagnosis.nodeToStatus.set(ni.name, s);
      diagnosis.unschedulablePlugins.add(s.plugin);
    }
    this.nextStartNodeIndex = n === 0 ? 0 : (start + processed) % n;
    return feasible;
  }

  /** PreScore, Score, then selectHost: the highest total, ties broken uniformly at random. */
  private prioritize(fwk: Framework, state: CycleState, pod: Pod, feasible: readonly NodeInfo[]): string {
    if (fwk.score.length === 0) return (feasible[0] as NodeInfo).name;
    const pre = fwk.runPreScorePlugins(state, pod, feasible);
    if (!isSuccess(pre)) throw (pre as Status).error ?? new Error((pre as Status).message());
    const { totals, status } = fwk.runScorePlugins(state, pod, feasible);
    if (!isSuccess(status)) throw (status as Status).error ?? new Error((status as Status).message());
    let best = -1;
    let bestScore = Number.NEGATIVE_INFINITY;
    let ties = 0;
    for (let i = 0; i < totals.length; i++) {
      const s = totals[i] as number;
      if (s > bestScore) {
        bestScore = s;
        best = i;
        ties = 1;
      } else if (s === bestScore) {
        ties++;
        // Reservoir sampling: each tied node wins with probability 1/ties.
        if (this.random() * ties < 1) best = i;
      }
    }
    return (feasible[best] as NodeInfo).name;
  }
}
