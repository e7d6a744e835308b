/**
 * InterPodAffinity (k8s.io/kubernetes/pkg/scheduler/framework/plugins/interpodaffinity): required
 * pod affinity and anti-affinity as a Filter (both the incoming pod's terms and existing pods'
 * anti-affinity towards it), preferred terms as a Score. PreFilter does the per-pod work once,
 * over all nodes' pods only when the pod has required terms and otherwise only over nodes that hold
 * pods with required anti-affinity; Filter is then a few map look-ups per node.
 */
import type { Pod } from "@skiff/api";
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
import { PodInfo } from "../../framework/pod-info.js";
import { Status } from "../../framework/status.js";
import {
  type ExistingAntiMatches,
  filter,
  type IncomingMatches,
  type PreFilterState,
  preFilter,
  preFilterStateKey,
} from "./filtering.js";
import { normalizeScore, type PreScoreState, preScore, preScoreStateKey, score } from "./scoring.js";
import { type NamespaceLabels, namespaceLabelsLookup, podMatchesAllAffinityTerms } from "./terms.js";

export {
  ErrReasonAffinityRulesNotMatch,
  ErrReasonAntiAffinityRulesNotMatch,
  ErrReasonExistingAntiAffinityRulesNotMatch,
} from "./filtering.js";

export const Name = "InterPodAffinity";

/** config.InterPodAffinityArgs (v1 defaults: hardPodAffinityWeight 1). */
export interface InterPodAffinityArgs {
  /** Weight of an existing pod's required affinity term that the incoming pod matches, 0..100. */
  hardPodAffinityWeight: number;
  /** Score only by the incoming pod's preferred terms when it has any (and skip when it has none). */
  ignorePreferredTermsOfExistingPods: boolean;
}

/** ValidateInterPodAffinityArgs plus defaulting; throws on an invalid value. */
export function interPodAffinityArgs(raw: Record<string, unknown> | undefined): InterPodAffinityArgs {
  const w = raw?.hardPodAffinityWeight ?? 1;
  if (typeof w !== "number" || !Number.isInteger(w) || w < 0 || w > 100)
    throw new Error(`hardPodAffinityWeight: Invalid value: ${String(w)}: not in valid range [0, 100]`);
  return {
    hardPodAffinityWeight: w,
    ignorePreferredTermsOfExistingPods: raw?.ignorePreferredTermsOfExistingPods === true,
  };
}

/** Reads the plugin's cycle state; a Skip recorded by the runtime makes a missing state harmless. */
function readState<T extends StateData>(
  state: CycleState,
  key: string,
  skipped: ReadonlySet<string>,
): { s?: T; status?: Status } {
  const s = state.read<T>(key);
  if (s !== undefined) return { s };
  if (skipped.has(Name)) return {};
  return { status: Status.error(new Error(`error reading "${key}" from cycleState: not found`)) };
}

export class InterPodAffinity
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
  /** Per-node matches of the incoming pod's required terms, reused while a node's pods do not change. */
  private readonly requiredMatches = new NodeMatchCache<IncomingMatches>(32);
  /** Per node: what its pods' required anti-affinity terms count for an incoming pod (by labels). */
  private readonly existingAntiMatches = new NodeMatchCache<ExistingAntiMatches>(64);
  /** Per-node matches of one preferred term, likewise. */
  private readonly preferredMatches = new NodeMatchCache<number>(64);

  constructor(
    readonly args: InterPodAffinityArgs,
    private readonly handle: Handle,
  ) {}

  private nsLabels(): NamespaceLabels {
    return namespaceLabelsLookup((ns) => this.handle.namespaceLabels(ns));
  }

  preFilter(
    state: CycleState,
    pod: Pod,
    nodes: readonly NodeInfo[],
  ): { result?: PreFilterResult; status?: Status } {
    const lister = this.handle.snapshotSharedLister().nodeInfos();
    const status = preFilter(
      state,
      pod,
      nodes,
      lister,
      this.nsLabels(),
      this.requiredMatches,
      this.existingAntiMatches,
    );
    return status === undefined ? {} : { status };
  }

  preFilterExtensions(): PreFilterExtensions {
    return this;
  }

  addPod(state: CycleState, _pod: Pod, pi: PodInfo, nodeInfo: NodeInfo): Status | undefined {
    return this.update(state, pi, nodeInfo, 1);
  }

  removePod(state: CycleState, _pod: Pod, pi: PodInfo, nodeInfo: NodeInfo): Status | undefined {
    return this.update(state, pi, nodeInfo, -1);
  }

  private update(state: CycleState, pi: PodInfo, nodeInfo: NodeInfo, multiplier: number): Status | undefined {
    const { s, status } = readState<PreFilterState>(state, preFilterStateKey, state.skipFilterPlugins);
    if (s !== undefined && nodeInfo.node !== undefined) s.updateWithPod(pi, nodeInfo.node, multiplier);
    return status;
  }

  filter(state: CycleState, _pod: Pod, nodeInfo: NodeInfo): Status | undefined {
    const { s, status } = readState<PreFilterState>(state, preFilterStateKey, state.skipFilterPlugins);
    return s === undefined ? status : filter(s, nodeInfo);
  }

  preScore(state: CycleState, pod: Pod, nodes: readonly NodeInfo[]): Status | undefined {
    const lister = this.handle.snapshotSharedLister().nodeInfos();
    return preScore(state, pod, nodes, lister, this.args, this.nsLabels(), this.preferredMatches);
  }

  score(state: CycleState, _pod: Pod, nodeInfo: NodeInfo): { score: number; status?: Status } {
    const { s, status } = readState<PreScoreState>(state, preScoreStateKey, state.skipScorePlugins);
    if (s === undefined) return status === undefined ? { score: 0 } : { score: 0, status };
    return { score: score(s, nodeInfo) };
  }

  scoreExtensions(): ScoreExtensions {
    return this;
  }

  normalizeScore(state: CycleState, _pod: Pod, scores: NodeScore[]): Status | undefined {
    const { s, status } = readState<PreScoreState>(state, preScoreStateKey, state.skipScorePlugins);
    if (s !== undefined) normalizeScore(s, scores);
    return status;
  }

  /**
   * As kube: assigned pods being added, relabelled or deleted, and nodes being added or
   * relabelled. The hints are kube's, made a little more permissive where kube's would miss a
   * change that can help: a deleted pod whose own anti-affinity repelled this pod, and a new node
   * for a pod that was rejected only by existing pods' anti-affinity.
   */
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
          actionType: ActionType.Add | ActionType.UpdateNodeLabel | ActionType.UpdateNodeTaint,
        },
        queueingHintFn: (pod, _old, newObj) =>
          this.afterNodeChange(pod, newObj as { metadata?: { labels?: Record<string, string> } }),
      },
    ];
  }

  private afterPodChange(pod: Pod, original: Pod | undefined, modified: Pod | undefined): QueueingHint {
    if (
      (modified !== undefined && !modified.spec.nodeName) ||
      (original !== undefined && !original.spec.nodeName)
    )
      return "QueueSkip";
    let pi: PodInfo;
    try {
      pi = new PodInfo(pod);
    } catch {
      return "Queue";
    }
    const ns = this.nsLabels();
    const matchesAffinity = (p: Pod) => podMatchesAllAffinityTerms(pi.requiredAffinityTerms, p, ns);
    const matchesAnti = (p: Pod) => podMatchesAllAffinityTerms(pi.requiredAntiAffinityTerms, p, ns);
    if (original !== undefined && modified !== undefined) {
      if (!matchesAffinity(original) && matchesAffinity(modified)) return "Queue";
      if (matchesAnti(original) && !matchesAnti(modified)) return "Queue";
      return "QueueSkip";
    }
    if (modified !== undefined) return matchesAffinity(modified) ? "Queue" : "QueueSkip";
    if (original === undefined) return "Queue";
    if (matchesAnti(original)) return "Queue";
    try {
      const deleted = new PodInfo(original);
      for (const t of deleted.requiredAntiAffinityTerms)
        if (podMatchesAllAffinityTerms([t], pod, ns)) return "Queue";
    } catch {
      return "Queue";
    }
    return "QueueSkip";
  }

  private afterNodeChange(
    pod: Pod,
    node: { metadata?: { labels?: Record<string, string> } } | undefined,
  ): QueueingHint {
    let pi: PodInfo;
    try {
      pi = new PodInfo(pod);
    } catch {
      return "Queue";
    }
    const terms = [...pi.requiredAffinityTerms, ...pi.requiredAntiAffinityTerms];
    if (terms.length === 0) return "Queue";
    const labels = node?.metadata?.labels ?? {};
    return terms.some((t) => Object.hasOwn(labels, t.topologyKey)) ? "Queue" : "QueueSkip";
  }
}

/** The plugin factory (frameworkruntime.PluginFactory). */
export function New(args: Record<string, unknown> | undefined, handle: Handle): Plugin {
  return new InterPodAffinity(interPodAffinityArgs(args), handle);
}
