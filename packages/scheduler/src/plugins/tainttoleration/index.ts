/**
 * TaintToleration (k8s.io/kubernetes/pkg/scheduler/framework/plugins/tainttoleration): Filter
 * rejects nodes with a NoSchedule or NoExecute taint the pod does not tolerate; Score counts the
 * PreferNoSchedule taints it does not tolerate, and NormalizeScore reverses the counts so that
 * fewer is better.
 */
import type { Node, Pod, Taint, Toleration } from "@skiff/api";
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
  type PreScorePlugin,
  type QueueingHint,
  type ScoreExtensions,
  type ScorePlugin,
} from "../../framework/interface.js";
import type { NodeInfo } from "../../framework/node-info.js";
import { Status } from "../../framework/status.js";
import { findMatchingUntoleratedTaint, formatTaint, toleratesTaint } from "../../framework/taints.js";
import { defaultNormalizeScore } from "../helper/normalize.js";

export const Name = "TaintToleration";

const preScoreStateKey = `PreScore${Name}`;

/** helper.DoNotScheduleTaintsFilterFunc: the taints that keep pods off a node. */
const doNotSchedule = (t: Taint) => t.effect === "NoSchedule" || t.effect === "NoExecute";

/** The pod's tolerations that can tolerate a PreferNoSchedule taint (effect empty or PreferNoSchedule). */
class PreScoreState implements StateData {
  constructor(readonly tolerationsPreferNoSchedule: readonly Toleration[]) {}
  clone(): StateData {
    return this;
  }
}

const NO_TOLERATIONS: readonly Toleration[] = [];

function tolerated(tolerations: readonly Toleration[], taint: Taint): boolean {
  for (const t of tolerations) if (toleratesTaint(t, taint)) return true;
  return false;
}

/**
 * FindMatchingUntoleratedTaint with DoNotScheduleTaintsFilterFunc, in plain loops: Filter runs it
 * for every node, and most nodes have no taint at all.
 */
function untoleratedDoNotScheduleTaint(
  taints: readonly Taint[] | undefined,
  tolerations: readonly Toleration[] | undefined,
): Taint | undefined {
  if (taints === undefined || taints === null) return undefined;
  const tols = tolerations ?? NO_TOLERATIONS;
  for (const taint of taints) if (doNotSchedule(taint) && !tolerated(tols, taint)) return taint;
  return undefined;
}

/** kube's countIntolerableTaintsPreferNoSchedule. */
export function countIntolerableTaintsPreferNoSchedule(
  taints: readonly Taint[] | undefined,
  tolerations: readonly Toleration[],
): number {
  if (taints === undefined || taints === null) return 0;
  let n = 0;
  for (const t of taints) if (t.effect === "PreferNoSchedule" && !tolerated(tolerations, t)) n++;
  return n;
}

export class TaintToleration
  implements FilterPlugin, PreScorePlugin, ScorePlugin, ScoreExtensions, EnqueueExtensions
{
  readonly name = Name;

  filter(_state: CycleState, pod: Pod, nodeInfo: NodeInfo): Status | undefined {
    const taint = untoleratedDoNotScheduleTaint(nodeInfo.node?.spec?.taints, pod.spec.tolerations);
    if (taint === undefined) return undefined;
    return Status.unresolvable(`node(s) had untolerated taint ${formatTaint(taint)}`);
  }

  preScore(state: CycleState, pod: Pod): Status | undefined {
    const tolerations = (pod.spec.tolerations ?? []).filter(
      (t) => t.effect === undefined || t.effect === "" || t.effect === "PreferNoSchedule",
    );
    state.write(preScoreStateKey, new PreScoreState(tolerations));
    return undefined;
  }

  score(state: CycleState, _pod: Pod, nodeInfo: NodeInfo): { score: number; status?: Status } {
    const s = state.read<PreScoreState>(preScoreStateKey);
    if (s === undefined)
      return { score: 0, status: Status.error(`reading "${preScoreStateKey}" from cycleState: not found`) };
    return {
      score: countIntolerableTaintsPreferNoSchedule(
        nodeInfo.node?.spec?.taints,
        s.tolerationsPreferNoSchedule,
      ),
    };
  }

  scoreExtensions(): ScoreExtensions {
    return this;
  }

  normalizeScore(_state: CycleState, _pod: Pod, scores: NodeScore[]): Status | undefined {
    return defaultNormalizeScore(MAX_NODE_SCORE, true, scores);
  }

  eventsToRegister(): ClusterEventWithHint[] {
    return [
      {
        event: { resource: "Node", actionType: ActionType.Add | ActionType.UpdateNodeTaint },
        queueingHintFn: isSchedulableAfterNodeChange,
      },
      {
        event: { resource: "Pod", actionType: ActionType.UpdatePodTolerations },
        queueingHintFn: isSchedulableAfterPodTolerationChange,
      },
    ];
  }
}

/** Queue when the node went from having an untolerated NoSchedule/NoExecute taint to none. */
export function isSchedulableAfterNodeChange(pod: Pod, oldObj: unknown, newObj: unknown): QueueingHint {
  const modified = newObj as Node | undefined | null;
  if (modified === undefined || modified === null) return "Queue";
  const original = oldObj as Node | undefined | null;
  const wasUntolerated =
    original === undefined ||
    original === null ||
    findMatchingUntoleratedTaint(original.spec?.taints, pod.spec.tolerations, doNotSchedule) !== undefined;
  const isUntolerated =
    findMatchingUntoleratedTaint(modified.spec?.taints, pod.spec.tolerations, doNotSchedule) !== undefined;
  return wasUntolerated && !isUntolerated ? "Queue" : "QueueSkip";
}

/** Tolerations can only be added: a change to the rejected pod's own tolerations may help it. */
export function isSchedulableAfterPodTolerationChange(
  pod: Pod,
  _oldObj: unknown,
  newObj: unknown,
): QueueingHint {
  const modified = newObj as Pod | undefined | null;
  if (modified === undefined || modified === null) return "Queue";
  return modified.metadata.uid === pod.metadata.uid ? "Queue" : "QueueSkip";
}

export function New(_args: Record<string, unknown> | undefined, _handle: Handle): Plugin {
  return new TaintToleration();
}
