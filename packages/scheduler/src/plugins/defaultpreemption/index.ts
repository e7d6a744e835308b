/**
 * DefaultPreemption (k8s.io/kubernetes/pkg/scheduler/framework/plugins/defaultpreemption): the
 * PostFilter that, when no node fits a pod, evicts lower-priority pods from the one node where
 * that helps most and nominates the pod to it. The search is bounded as kube's: from a random
 * offset, until max(minCandidateNodesPercentage% of the candidates, minCandidateNodesAbsolute)
 * candidates are found.
 */
import type { Pod, PodDisruptionBudget } from "@skiff/api";
import type { CycleState } from "../../framework/cycle-state.js";
import type {
  Handle,
  NodeToStatus,
  Plugin,
  PostFilterPlugin,
  PostFilterResult,
} from "../../framework/interface.js";
import type { NodeInfo } from "../../framework/node-info.js";
import { priorityOf } from "../../framework/pod-info.js";
import { Code, Status } from "../../framework/status.js";
import { Evaluator, type PreemptionInterface } from "./preemption.js";
import { type SelectedVictims, selectVictimsOnNode } from "./victims.js";

export type { Candidate, Victims } from "./candidates.js";
export { fitErrorMessage, pickOneNodeForPreemption } from "./candidates.js";
export { Evaluator, type PreemptionInterface, PreemptionNotHelpful } from "./preemption.js";
export { filterPodsWithPDBViolation, moreImportantPod, selectVictimsOnNode } from "./victims.js";

export const Name = "DefaultPreemption";

/** config.DefaultPreemptionArgs (v1 defaults 10% / 100). */
export interface DefaultPreemptionArgs {
  minCandidateNodesPercentage: number;
  minCandidateNodesAbsolute: number;
  /**
   * rand.Int31n for the search's start offset: an integer in [0, n). Injected so that tests (and
   * a seeded simulation) choose it; Math.random by default.
   */
  getOffsetRand: (n: number) => number;
}

/** Defaulting and ValidateDefaultPreemptionArgs; throws on an invalid value. */
export function defaultPreemptionArgs(raw: Record<string, unknown> | undefined): DefaultPreemptionArgs {
  const pct = raw?.minCandidateNodesPercentage ?? 10;
  const abs = raw?.minCandidateNodesAbsolute ?? 100;
  const rand = raw?.getOffsetRand ?? ((n: number) => Math.floor(Math.random() * n));
  if (typeof pct !== "number" || !Number.isInteger(pct) || pct < 0 || pct > 100)
    throw new Error(
      `minCandidateNodesPercentage: Invalid value: ${String(pct)}: not in valid range [0, 100]`,
    );
  if (typeof abs !== "number" || !Number.isInteger(abs) || abs < 0)
    throw new Error(`minCandidateNodesAbsolute: Invalid value: ${String(abs)}: not in valid range [0, inf)`);
  if (pct === 0 && abs === 0)
    throw new Error(
      "minCandidateNodesPercentage: Invalid value: 0: cannot be zero at the same time as minCandidateNodesAbsolute",
    );
  if (typeof rand !== "function") throw new Error("getOffsetRand: must be a function");
  return {
    minCandidateNodesPercentage: pct,
    minCandidateNodesAbsolute: abs,
    getOffsetRand: rand as (n: number) => number,
  };
}

/** podTerminatingByPreemption: deleted, and the DisruptionTarget condition says the scheduler did it. */
function podTerminatingByPreemption(p: Pod): boolean {
  if (!p.metadata.deletionTimestamp) return false;
  const c = (p.status?.conditions ?? []).find((x) => x.type === "DisruptionTarget");
  return c !== undefined && c.status === "True" && c.reason === "PreemptionByScheduler";
}

export class DefaultPreemption implements PostFilterPlugin, PreemptionInterface {
  readonly name = Name;
  readonly evaluator: Evaluator;

  constructor(
    readonly args: DefaultPreemptionArgs,
    private readonly handle: Handle,
  ) {
    this.evaluator = new Evaluator(Name, handle, this);
  }

  /** PostFilter: the evaluator's outcome, its message prefixed "preemption: " as kube. */
  async postFilter(
    state: CycleState,
    pod: Pod,
    filteredNodeStatus: NodeToStatus,
  ): Promise<{ result?: PostFilterResult; status?: Status }> {
    const { result, status } = await this.evaluator.preempt(state, pod, filteredNodeStatus);
    const msg = status.message();
    const out = msg === "" ? status : new Status(status.code, [`preemption: ${msg}`], status.error);
    return result === undefined ? { status: out } : { result, status: out };
  }

  /** calculateNumCandidates: a percentage of the nodes, at least the absolute, at most them all. */
  calculateNumCandidates(numNodes: number): number {
    let n = Math.trunc((numNodes * this.args.minCandidateNodesPercentage) / 100);
    if (n < this.args.minCandidateNodesAbsolute) n = this.args.minCandidateNodesAbsolute;
    if (n > numNodes) n = numNodes;
    return n;
  }

  getOffsetAndNumCandidates(numNodes: number): [number, number] {
    return [this.args.getOffsetRand(numNodes), this.calculateNumCandidates(numNodes)];
  }

  /**
   * PodEligibleToPreemptOthers: not with preemptionPolicy Never, and not again while a
   * lower-priority pod it preempted on its nominated node is still terminating (unless that node
   * became UnschedulableAndUnresolvable for it).
   */
  podEligibleToPreemptOthers(pod: Pod, nominatedNodeStatus: Status | undefined): [boolean, string] {
    if (pod.spec.preemptionPolicy === "Never") return [false, "not eligible due to preemptionPolicy=Never."];
    const nominated = pod.status?.nominatedNodeName;
    if (nominated) {
      if (nominatedNodeStatus?.code === Code.UnschedulableAndUnresolvable) return [true, ""];
      const ni = this.handle.snapshotSharedLister().nodeInfos().get(nominated);
      const prio = priorityOf(pod);
      if (ni?.pods.some((p) => priorityOf(p.pod) < prio && podTerminatingByPreemption(p.pod)))
        return [false, "not eligible due to a terminating pod on the nominated node."];
    }
    return [true, ""];
  }

  selectVictimsOnNode(
    state: CycleState,
    pod: Pod,
    nodeInfo: NodeInfo,
    pdbs: readonly PodDisruptionBudget[],
  ): SelectedVictims {
    return selectVictimsOnNode(this.handle, state, pod, nodeInfo, pdbs);
  }
}

/** The plugin factory (frameworkruntime.PluginFactory). */
export function New(args: Record<string, unknown> | undefined, handle: Handle): Plugin {
  return new DefaultPreemption(defaultPreemptionArgs(args), handle);
}
