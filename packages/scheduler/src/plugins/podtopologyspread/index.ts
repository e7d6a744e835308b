/**
 * PodTopologySpread (k8s.io/kubernetes/pkg/scheduler/framework/plugins/podtopologyspread): a pod's
 * topologySpreadConstraints, DoNotSchedule ones as a Filter and ScheduleAnyway ones as a Score;
 * pods with no constraints of their own get the cluster defaults (defaultingType System: maxSkew 3
 * per hostname and 5 per zone, ScheduleAnyway) when a controller owns them (see
 * common.defaultSelector for how Skiff finds the pods to spread against).
 */
import type { Node, Pod, TopologySpreadConstraint } from "@skiff/api";
import type { CycleState, StateData } from "../../framework/cycle-state.js";
import {
  ActionType,
  type ClusterEventWithHint,
  type EnqueueExtensions,
  type FilterPlugin,
  type Handle,
  type NodeScore,
  type Plugin,
  type PreFilterExtensions,
  type PreFilterPlugin,
  type PreFilterResult,
  type PreScorePlugin,
  type QueueingHint,
  type ScoreExtensions,
  type ScorePlugin,
} from "../../framework/interface.js";
import type { NodeInfo } from "../../framework/node-info.js";
import { NodeMatchCache } from "../../framework/node-match-cache.js";
import type { PodInfo } from "../../framework/pod-info.js";
import { Status } from "../../framework/status.js";
import {
  getConstraints,
  LabelHostname,
  LabelTopologyZone,
  nodeLabelsMatchSpreadConstraints,
} from "./common.js";
import { calPreFilterState, filter, type PreFilterState, preFilterStateKey } from "./filtering.js";
import { normalizeScore, type PreScoreState, preScore, preScoreStateKey, score } from "./scoring.js";

export { defaultSelector } from "./common.js";
export { ErrReasonConstraintsNotMatch, ErrReasonNodeLabelNotMatch } from "./filtering.js";

export const Name = "PodTopologySpread";

/** systemDefaultConstraints: applied when defaultingType is System. */
export const systemDefaultConstraints: readonly TopologySpreadConstraint[] = [
  { topologyKey: LabelHostname, whenUnsatisfiable: "ScheduleAnyway", maxSkew: 3 },
  { topologyKey: LabelTopologyZone, whenUnsatisfiable: "ScheduleAnyway", maxSkew: 5 },
];

/** config.PodTopologySpreadArgs (v1 default: defaultingType System). */
export interface PodTopologySpreadArgs {
  defaultConstraints: TopologySpreadConstraint[];
  defaultingType: "System" | "List";
}

/** Defaulting and ValidatePodTopologySpreadArgs; throws on an invalid value. */
export function podTopologySpreadArgs(raw: Record<string, unknown> | undefined): PodTopologySpreadArgs {
  const defaultingType = raw?.defaultingType ?? "System";
  if (defaultingType !== "System" && defaultingType !== "List")
    throw new Error(
      `defaultingType: Unsupported value: "${String(defaultingType)}": supported values: "List", "System"`,
    );
  const defaultConstraints = (raw?.defaultConstraints ?? []) as TopologySpreadConstraint[];
  if (!Array.isArray(defaultConstraints))
    throw new Error("defaultConstraints: Invalid value: must be a list");
  if (defaultingType === "System" && defaultConstraints.length > 0)
    throw new Error(
      'defaultingType: Invalid value: "System": when .defaultConstraints are not empty must be List',
    );
  const seen = new Set<string>();
  defaultConstraints.forEach((c, i) => {
    const path = `defaultConstraints[${i}]`;
    if (!Number.isInteger(c.maxSkew) || c.maxSkew <= 0)
      throw new Error(`${path}.maxSkew: Invalid value: ${String(c.maxSkew)}: must be greater than zero`);
    if (!c.topologyKey) throw new Error(`${path}.topologyKey: Required value: can not be empty`);
    if (c.whenUnsatisfiable !== "DoNotSchedule" && c.whenUnsatisfiable !== "ScheduleAnyway")
      throw new Error(
        `${path}.whenUnsatisfiable: Unsupported value: "${String(c.whenUnsatisfiable)}": supported values: "DoNotSchedule", "ScheduleAnyway"`,
      );
    const key = `${c.topologyKey}/${c.whenUnsatisfiable}`;
    if (seen.has(key)) throw new Error(`${path}: Duplicate value: "${key}"`);
    seen.add(key);
    if (c.labelSelector !== undefined)
      throw new Error(
        `${path}.labelSelector: Forbidden: constraint must not define a selector, as they deduced for each pod`,
      );
  });
  return { defaultConstraints, defaultingType };
}

function readState<T extends StateData>(
  state: CycleState,
  key: string,
  skipped: ReadonlySet<string>,
): { s?: T; status?: Status } {
  const s = state.read<T>(key);
  if (s !== undefined) return { s };
  if (skipped.has(Name)) return {};
  return { status: Status.error(new Error(`reading "${key}" from cycleState: not found`)) };
}

export class PodTopologySpread
  implements
    PreFilterPlugin,
    FilterPlugin,
    PreScorePlugin,
    ScorePlugin,
    EnqueueExtensions,
    PreFilterExtensions,
    ScoreExtensions
{
  readonly name = Name;
  readonly defaultConstraints: readonly TopologySpreadConstraint[];
  readonly systemDefaulted: boolean;
  /** Matching-pod counts per node and selector, reused while a node's pods do not change. */
  private readonly counts = new NodeMatchCache<number>(64);

  constructor(
    args: PodTopologySpreadArgs,
    private readonly handle: Handle,
  ) {
    this.systemDefaulted = args.defaultingType === "System";
    this.defaultConstraints = this.systemDefaulted ? systemDefaultConstraints : args.defaultConstraints;
  }

  /** PreFilter: Skip when the pod has no DoNotSchedule constraint (its own or defaulted). */
  preFilter(
    state: CycleState,
    pod: Pod,
    nodes: readonly NodeInfo[],
  ): { result?: PreFilterResult; status?: Status } {
    const s = calPreFilterState(pod, nodes, this.defaultConstraints, this.counts);
    if (s.constraints.length === 0) return { status: Status.skip() };
    state.write(preFilterStateKey, s);
    return {};
  }

  preFilterExtensions(): PreFilterExtensions {
    return this;
  }

  addPod(state: CycleState, pod: Pod, pi: PodInfo, nodeInfo: NodeInfo): Status | undefined {
    const { s, status } = readState<PreFilterState>(state, preFilterStateKey, state.skipFilterPlugins);
    s?.updateWithPod(pi.pod, pod, nodeInfo.node, 1);
    return status;
  }

  removePod(state: CycleState, pod: Pod, pi: PodInfo, nodeInfo: NodeInfo): Status | undefined {
    const { s, status } = readState<PreFilterState>(state, preFilterStateKey, state.skipFilterPlugins);
    s?.updateWithPod(pi.pod, pod, nodeInfo.node, -1);
    return status;
  }

  filter(state: CycleState, _pod: Pod, nodeInfo: NodeInfo): Status | undefined {
    const { s, status } = readState<PreFilterState>(state, preFilterStateKey, state.skipFilterPlugins);
    return s === undefined ? status : filter(s, nodeInfo);
  }

  preScore(state: CycleState, pod: Pod, nodes: readonly NodeInfo[]): Status | undefined {
    const lister = this.handle.snapshotSharedLister().nodeInfos();
    const r = preScore(pod, nodes, lister, this.defaultConstraints, this.systemDefaulted, this.counts);
    if (r.state !== undefined) state.write(preScoreStateKey, r.state);
    return r.status;
  }

  score(state: CycleState, pod: Pod, nodeInfo: NodeInfo): { score: number; status?: Status } {
    const { s, status } = readState<PreScoreState>(state, preScoreStateKey, state.skipScorePlugins);
    if (s === undefined) return status === undefined ? { score: 0 } : { score: 0, status };
    return { score: score(s, pod, nodeInfo, this.counts) };
  }

  scoreExtensions(): ScoreExtensions {
    return this;
  }

  normalizeScore(state: CycleState, _pod: Pod, scores: NodeScore[]): Status | undefined {
    const { s, status } = readState<PreScoreState>(state, preScoreStateKey, state.skipScorePlugins);
    if (s !== undefined) normalizeScore(s, scores);
    return status;
  }

  /** As kube 1.32: assigned pods added, relabelled or deleted; nodes added, deleted, relabelled or tainted. */
  eventsToRegister(): ClusterEventWithHint[] {
    return [
      {
        event: {
          resource: "Pod",
          actionType: ActionType.Add | ActionType.UpdatePodLabel | ActionType.Delete,
        },
        queueingHintFn: (pod, oldObj, newObj) => this.afterPodChange(pod, oldObj as Pod, newObj as Pod),
      },
      {
        event: {
          resource: "Node",
          actionType:
            ActionType.Add | ActionType.Delete | ActionType.UpdateNodeLabel | ActionType.UpdateNodeTaint,
        },
        queueingHintFn: (pod, oldObj, newObj) => this.afterNodeChange(pod, oldObj as Node, newObj as Node),
      },
    ];
  }

  private afterPodChange(pod: Pod, original: Pod | undefined, modified: Pod | undefined): QueueingHint {
    if (
      (modified !== undefined && !modified.spec.nodeName) ||
      (original !== undefined && !original.spec.nodeName)
    )
      return "QueueSkip";
    const constraints = getConstraints(pod, this.defaultConstraints, "DoNotSchedule");
    if (original !== undefined && modified !== undefined) {
      // Queue when a label that a constraint's selector looks at was added, changed or removed.
      return constraints.some((c) => c.matches(original) !== c.matches(modified)) ? "Queue" : "QueueSkip";
    }
    const p = modified ?? original;
    if (p === undefined || p.metadata.namespace !== pod.metadata.namespace) return "QueueSkip";
    return constraints.some((c) => c.matches(p)) ? "Queue" : "QueueSkip";
  }

  private afterNodeChange(pod: Pod, original: Node | undefined, modified: Node | undefined): QueueingHint {
    const constraints = getConstraints(pod, this.defaultConstraints, "DoNotSchedule");
    const node = modified ?? original;
    if (node === undefined) return "Queue";
    return nodeLabelsMatchSpreadConstraints(node.metadata.labels, constraints) ? "Queue" : "QueueSkip";
  }
}

/** The plugin factory (frameworkruntime.PluginFactory). */
export function New(args: Record<string, unknown> | undefined, handle: Handle): Plugin {
  return new PodTopologySpread(podTopologySpreadArgs(args), handle);
}
