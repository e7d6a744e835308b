/**
 * NodeAffinity (k8s.io/kubernetes/pkg/scheduler/framework/plugins/nodeaffinity): Filter on the
 * pod's nodeSelector and required node affinity (and the profile's addedAffinity); Score sums the
 * weights of the preferred terms a node matches, normalized onto 0..100. The selectors are parsed
 * once per cycle in PreFilter/PreScore; Filter and Score only match.
 */
import type { Node, NodeAffinity as NodeAffinitySpec, Pod } from "@skiff/api";
import type { CycleState, StateData } from "../../framework/cycle-state.js";
import {
  ActionType,
  type ClusterEventWithHint,
  type EnqueueExtensions,
  type FilterPlugin,
  type Handle,
  MAX_NODE_SCORE,
  type NodeScore,
  type Plugin,
  type PreFilterPlugin,
  type PreFilterResult,
  type PreScorePlugin,
  type QueueingHint,
  type ScoreExtensions,
  type ScorePlugin,
} from "../../framework/interface.js";
import type { NodeInfo } from "../../framework/node-info.js";
import { Status } from "../../framework/status.js";
import {
  type NodeSelectorMatcher,
  newNodeSelector,
  OBJECT_NAME_FIELD,
  PreferredSchedulingTerms,
  RequiredNodeAffinity,
} from "../helper/node-affinity.js";
import { defaultNormalizeScore } from "../helper/normalize.js";

export const Name = "NodeAffinity";

/** ErrReasonPod: the pod's own nodeSelector or required affinity does not match. */
export const ErrReasonPod = "node(s) didn't match Pod's node affinity/selector";
/** The profile's addedAffinity does not match. */
export const ErrReasonEnforced = "node(s) didn't match scheduler-enforced node affinity";
/** Every required term names metadata.name values that exclude each other. */
export const ErrReasonConflict = "pod affinity terms conflict";

const preFilterStateKey = `PreFilter${Name}`;
const preScoreStateKey = `PreScore${Name}`;

/** NodeAffinityArgs: node affinity applied to every pod of the profile. */
export interface NodeAffinityArgs {
  addedAffinity?: NodeAffinitySpec;
}

class PreFilterState implements StateData {
  constructor(readonly required: RequiredNodeAffinity) {}
  clone(): StateData {
    return this;
  }
}

class PreScoreState implements StateData {
  constructor(readonly preferred: PreferredSchedulingTerms | undefined) {}
  clone(): StateData {
    return this;
  }
}

/** The pod's preferred terms, parsed; undefined when it has none (kube's getPodPreferredNodeAffinity). */
function podPreferredNodeAffinity(pod: Pod): PreferredSchedulingTerms | undefined {
  const terms = pod.spec.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution;
  return terms === undefined || terms === null ? undefined : new PreferredSchedulingTerms(terms);
}

/**
 * The node names the required terms restrict the pod to, when every term has a matchFields
 * metadata.name In requirement (ANDed requirements intersect, ORed terms unite); undefined when
 * some term allows any node.
 */
function requiredNodeNames(pod: Pod): Set<string> | undefined {
  const terms =
    pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  if (terms === undefined || terms === null || terms.length === 0) return undefined;
  let nodeNames: Set<string> | undefined;
  for (const t of terms) {
    let termNames: Set<string> | undefined;
    for (const r of t.matchFields ?? []) {
      if (r.key !== OBJECT_NAME_FIELD || r.operator !== "In") continue;
      const s = new Set(r.values ?? []);
      termNames = termNames === undefined ? s : new Set([...termNames].filter((n) => s.has(n)));
    }
    if (termNames === undefined) return undefined;
    nodeNames ??= new Set();
    for (const n of termNames) nodeNames.add(n);
  }
  return nodeNames;
}

export class NodeAffinity
  implements PreFilterPlugin, FilterPlugin, PreScorePlugin, ScorePlugin, ScoreExtensions, EnqueueExtensions
{
  readonly name = Name;

  constructor(
    private readonly addedNodeSelector: NodeSelectorMatcher | undefined,
    private readonly addedPrefSchedTerms: PreferredSchedulingTerms | undefined,
  ) {}

  preFilter(state: CycleState, pod: Pod): { result?: PreFilterResult; status?: Status } {
    const required = pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
    const noNodeAffinity = required === undefined || required === null;
    const noNodeSelector = pod.spec.nodeSelector === undefined || pod.spec.nodeSelector === null;
    // Nothing for Filter to check.
    if (noNodeAffinity && noNodeSelector && this.addedNodeSelector === undefined)
      return { status: Status.skip() };
    state.write(preFilterStateKey, new PreFilterState(new RequiredNodeAffinity(pod)));
    const nodeNames = requiredNodeNames(pod);
    if (nodeNames === undefined) return {};
    if (nodeNames.size === 0) return { status: Status.unresolvable(ErrReasonConflict) };
    return { result: { nodeNames } };
  }

  filter(state: CycleState, pod: Pod, nodeInfo: NodeInfo): Status | undefined {
    const node = nodeInfo.node as Node;
    if (this.addedNodeSelector !== undefined && !this.addedNodeSelector.match(node))
      return Status.unresolvable(ErrReasonEnforced);
    // Without PreFilter (disabled in the profile) parse here, as kube falls back to.
    const required = state.read<PreFilterState>(preFilterStateKey)?.required ?? new RequiredNodeAffinity(pod);
    return required.match(node) ? undefined : Status.unresolvable(ErrReasonPod);
  }

  preScore(state: CycleState, pod: Pod): Status | undefined {
    let preferred: PreferredSchedulingTerms | undefined;
    try {
      preferred = podPreferredNodeAffinity(pod);
    } catch (e) {
      return Status.error(e);
    }
    // Nothing for Score to count.
    if (preferred === undefined && this.addedPrefSchedTerms === undefined) return Status.skip();
    state.write(preScoreStateKey, new PreScoreState(preferred));
    return undefined;
  }

  score(state: CycleState, pod: Pod, nodeInfo: NodeInfo): { score: number; status?: Status } {
    const node = nodeInfo.node as Node;
    let count = this.addedPrefSchedTerms?.score(node) ?? 0;
    let s = state.read<PreScoreState>(preScoreStateKey);
    if (s === undefined) {
      try {
        s = new PreScoreState(podPreferredNodeAffinity(pod));
      } catch (e) {
        return { score: 0, status: Status.error(e) };
      }
    }
    if (s.preferred !== undefined) count += s.preferred.score(node);
    return { score: count };
  }

  scoreExtensions(): ScoreExtensions {
    return this;
  }

  normalizeScore(_state: CycleState, _pod: Pod, scores: NodeScore[]): Status | undefined {
    return defaultNormalizeScore(MAX_NODE_SCORE, false, scores);
  }

  eventsToRegister(): ClusterEventWithHint[] {
    return [
      {
        event: { resource: "Node", actionType: ActionType.Add | ActionType.UpdateNodeLabel },
        queueingHintFn: (pod, oldObj, newObj) => this.isSchedulableAfterNodeChange(pod, oldObj, newObj),
      },
    ];
  }

  /** Queue when a node is added that matches, or an update turned a non-matching node into a matching one. */
  isSchedulableAfterNodeChange(pod: Pod, oldObj: unknown, newObj: unknown): QueueingHint {
    const modified = newObj as Node | undefined | null;
    if (modified === undefined || modified === null) return "Queue";
    if (this.addedNodeSelector !== undefined && !this.addedNodeSelector.match(modified)) return "QueueSkip";
    const required = new RequiredNodeAffinity(pod);
    if (!required.match(modified)) return "QueueSkip";
    const original = oldObj as Node | undefined | null;
    if (original === undefined || original === null) return "Queue";
    return required.match(original) ? "QueueSkip" : "Queue";
  }
}

/**
 * Builds the plugin; a malformed addedAffinity throws (kube's ValidateNodeAffinityArgs fails the
 * scheduler's start).
 */
export function New(args: Record<string, unknown> | undefined, _handle: Handle): Plugin {
  const added = (args as NodeAffinityArgs | undefined)?.addedAffinity;
  let addedNodeSelector: NodeSelectorMatcher | undefined;
  let addedPrefSchedTerms: PreferredSchedulingTerms | undefined;
  const req = added?.requiredDuringSchedulingIgnoredDuringExecution;
  if (req !== undefined && req !== null) {
    try {
      addedNodeSelector = newNodeSelector(
        req,
        "addedAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms",
      );
    } catch (e) {
      throw new Error(`NodeAffinity args: ${(e as Error).message}`);
    }
  }
  const pref = added?.preferredDuringSchedulingIgnoredDuringExecution;
  if (pref !== undefined && pref !== null && pref.length > 0) {
    try {
      addedPrefSchedTerms = new PreferredSchedulingTerms(
        pref,
        "addedAffinity.preferredDuringSchedulingIgnoredDuringExecution",
      );
    } catch (e) {
      throw new Error(`NodeAffinity args: ${(e as Error).message}`);
    }
  }
  return new NodeAffinity(addedNodeSelector, addedPrefSchedTerms);
}
