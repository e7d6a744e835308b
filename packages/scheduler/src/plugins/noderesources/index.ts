/**
 * NodeResourcesFit (k8s.io/kubernetes/pkg/scheduler/framework/plugins/noderesources/fit.go):
 * PreFilter computes the pod's request once, Filter checks it against each node (fit.ts), and
 * PreScore/Score rank nodes with the configured strategy: LeastAllocated (the default, cpu and
 * memory weight 1), MostAllocated or RequestedToCapacityRatio (args.ts, scorers.ts).
 */
import type { Node, Pod } from "@skiff/api";
import type { CycleState, StateData } from "../../framework/cycle-state.js";
import {
  ActionType,
  type ClusterEventWithHint,
  type EnqueueExtensions,
  type FilterPlugin,
  type Handle,
  type Plugin,
  type PreFilterPlugin,
  type PreFilterResult,
  type PreScorePlugin,
  type QueueingHint,
  type ScorePlugin,
} from "../../framework/interface.js";
import type { NodeInfo } from "../../framework/node-info.js";
import { podRequests } from "../../framework/resource.js";
import { Status } from "../../framework/status.js";
import { type NodeResourcesFitArgs, nodeResourcesFitArgs, type ScoringStrategy } from "./args.js";
import {
  haveAnyRequestedResourcesIncreased,
  insufficientResources,
  isFit,
  PodResourceRequest,
  wasAssigned,
} from "./fit.js";
import { ResourceAllocationScorer } from "./resource-allocation.js";
import {
  leastResourceScorer,
  mostResourceScorer,
  requestedToCapacityRatioScorer,
  type Scorer,
} from "./scorers.js";

export type { NodeResourcesFitArgs } from "./args.js";
export { insufficientResources, PodResourceRequest } from "./fit.js";

export const Name = "NodeResourcesFit";

const preFilterStateKey = `PreFilter${Name}`;
const preScoreStateKey = `PreScore${Name}`;

class PreFilterState implements StateData {
  constructor(readonly request: PodResourceRequest) {}
  clone(): StateData {
    return this;
  }
}

/** nodeResourceStrategyTypeMap: the scorer of each strategy type. */
function strategyScorer(s: ScoringStrategy): Scorer {
  switch (s.type) {
    case "LeastAllocated":
      return leastResourceScorer(s.resources);
    case "MostAllocated":
      return mostResourceScorer(s.resources);
    case "RequestedToCapacityRatio":
      return requestedToCapacityRatioScorer(s.resources, s.requestedToCapacityRatio?.shape ?? []);
  }
}

export class Fit implements PreFilterPlugin, FilterPlugin, PreScorePlugin, ScorePlugin, EnqueueExtensions {
  readonly name = Name;
  private readonly ignoredResources: ReadonlySet<string>;
  private readonly ignoredResourceGroups: ReadonlySet<string>;
  readonly scorer: ResourceAllocationScorer;

  constructor(readonly args: NodeResourcesFitArgs) {
    this.ignoredResources = new Set(args.ignoredResources);
    this.ignoredResourceGroups = new Set(args.ignoredResourceGroups);
    const s = args.scoringStrategy;
    // Fit scores with NonZeroRequested, so that pods without requests still spread.
    this.scorer = new ResourceAllocationScorer(s.type, s.resources, false, strategyScorer(s));
  }

  preFilter(state: CycleState, pod: Pod): { result?: PreFilterResult; status?: Status } {
    let request: PodResourceRequest;
    try {
      request = new PodResourceRequest(podRequests(pod), this.ignoredResources, this.ignoredResourceGroups);
    } catch (e) {
      return { status: Status.error(e) };
    }
    state.write(preFilterStateKey, new PreFilterState(request));
    return {};
  }

  filter(state: CycleState, _pod: Pod, nodeInfo: NodeInfo): Status | undefined {
    const s = state.read<PreFilterState>(preFilterStateKey);
    if (s === undefined)
      return Status.error(`error reading "${preFilterStateKey}" from cycleState: not found`);
    const reasons = insufficientResources(s.request, nodeInfo);
    // Unschedulable (1.32): preemption may free what is missing.
    return reasons === undefined ? undefined : Status.unschedulable(...reasons);
  }

  preScore(state: CycleState, pod: Pod): Status | undefined {
    return this.scorer.preScore(state, preScoreStateKey, pod);
  }

  score(state: CycleState, pod: Pod, nodeInfo: NodeInfo): { score: number; status?: Status } {
    return this.scorer.scoreWithState(state, preScoreStateKey, pod, nodeInfo);
  }

  eventsToRegister(): ClusterEventWithHint[] {
    return [
      {
        event: { resource: "Pod", actionType: ActionType.Delete },
        queueingHintFn: isSchedulableAfterPodEvent,
      },
      {
        event: { resource: "Node", actionType: ActionType.Add | ActionType.UpdateNodeAllocatable },
        queueingHintFn: isSchedulableAfterNodeChange,
      },
    ];
  }
}

/** A deleted pod frees resources only if it was assigned to a node. */
export function isSchedulableAfterPodEvent(_pod: Pod, oldObj: unknown, newObj: unknown): QueueingHint {
  const deleted = oldObj as Pod | undefined | null;
  if (newObj !== undefined && newObj !== null) return "QueueSkip"; // an update: no scale-down in 1.32
  if (deleted === undefined || deleted === null) return "Queue";
  return wasAssigned(deleted) ? "Queue" : "QueueSkip";
}

/** Queue when the (new or updated) node could take the pod and, on update, grew in something it wants. */
export function isSchedulableAfterNodeChange(pod: Pod, oldObj: unknown, newObj: unknown): QueueingHint {
  const modified = newObj as Node | undefined | null;
  const original = oldObj as Node | undefined | null;
  try {
    const request = podRequests(pod);
    if (!isFit(request, modified)) return "QueueSkip";
    if (original === undefined || original === null) return "Queue";
    return haveAnyRequestedResourcesIncreased(request, original, modified as Node) ? "Queue" : "QueueSkip";
  } catch {
    // A malformed quantity: let the scheduling attempt report it.
    return "Queue";
  }
}

/** Builds the plugin; invalid args throw (a start-up error, as kube's validation). */
export function New(args: Record<string, unknown> | undefined, _handle: Handle): Plugin {
  return new Fit(nodeResourcesFitArgs(args));
}
