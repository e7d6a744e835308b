/**
 * NodeResourcesBalancedAllocation (k8s.io/kubernetes/pkg/scheduler/framework/plugins/noderesources/
 * balanced_allocation.go): favours nodes whose resources (cpu and memory by default) would be
 * used in even proportions with the pod: 100 × (1 − the standard deviation of the utilization
 * fractions). Uses the real requests (kube's useRequested: true), not the non-zero defaults.
 */
import type { Pod } from "@skiff/api";
import type { CycleState } from "../../framework/cycle-state.js";
import type { Handle, Plugin, PreScorePlugin, ScorePlugin } from "../../framework/interface.js";
import type { NodeInfo } from "../../framework/node-info.js";
import type { Status } from "../../framework/status.js";
import {
  type NodeResourcesBalancedAllocationArgs,
  nodeResourcesBalancedAllocationArgs,
} from "../noderesources/args.js";
import { ResourceAllocationScorer } from "../noderesources/resource-allocation.js";
import { balancedResourceScorer } from "../noderesources/scorers.js";

export type { NodeResourcesBalancedAllocationArgs } from "../noderesources/args.js";

export const Name = "NodeResourcesBalancedAllocation";

const preScoreStateKey = `PreScore${Name}`;

export class BalancedAllocation implements PreScorePlugin, ScorePlugin {
  readonly name = Name;
  readonly scorer: ResourceAllocationScorer;

  constructor(readonly args: NodeResourcesBalancedAllocationArgs) {
    this.scorer = new ResourceAllocationScorer(Name, args.resources, true, balancedResourceScorer);
  }

  preScore(state: CycleState, pod: Pod): Status | undefined {
    return this.scorer.preScore(state, preScoreStateKey, pod);
  }

  score(state: CycleState, pod: Pod, nodeInfo: NodeInfo): { score: number; status?: Status } {
    return this.scorer.scoreWithState(state, preScoreStateKey, pod, nodeInfo);
  }
}

/** Builds the plugin; invalid args (a weight other than 1, a duplicate resource) throw. */
export function New(args: Record<string, unknown> | undefined, _handle: Handle): Plugin {
  return new BalancedAllocation(nodeResourcesBalancedAllocationArgs(args));
}
