/**
 * NodeUnschedulable (k8s.io/kubernetes/pkg/scheduler/framework/plugins/nodeunschedulable): a node
 * with spec.unschedulable (kubectl cordon) takes only pods that tolerate the
 * node.kubernetes.io/unschedulable:NoSchedule taint.
 */
import { type Node, type Pod, type Taint, TaintNodeUnschedulable } from "@skiff/api";
import type { CycleState } from "../../framework/cycle-state.js";
import {
  ActionType,
  type ClusterEventWithHint,
  type EnqueueExtensions,
  type FilterPlugin,
  type Handle,
  type Plugin,
  type QueueingHint,
} from "../../framework/interface.js";
import type { NodeInfo } from "../../framework/node-info.js";
import { Status } from "../../framework/status.js";
import { tolerationsTolerateTaint } from "../../framework/taints.js";

export const Name = "NodeUnschedulable";

export const ErrReasonUnschedulable = "node(s) were unschedulable";

/** v1.TaintNodeUnschedulable with NoSchedule: tolerating it means tolerating a cordoned node. */
const unschedulableTaint: Taint = { key: TaintNodeUnschedulable, effect: "NoSchedule" };

const toleratesUnschedulable = (pod: Pod) =>
  tolerationsTolerateTaint(pod.spec.tolerations, unschedulableTaint);

export class NodeUnschedulable implements FilterPlugin, EnqueueExtensions {
  readonly name = Name;

  filter(_state: CycleState, pod: Pod, nodeInfo: NodeInfo): Status | undefined {
    if (nodeInfo.node?.spec?.unschedulable !== true) return undefined;
    return toleratesUnschedulable(pod) ? undefined : Status.unresolvable(ErrReasonUnschedulable);
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

/** Queue only when a node becomes schedulable (added schedulable, or uncordoned). */
export function isSchedulableAfterNodeChange(_pod: Pod, oldObj: unknown, newObj: unknown): QueueingHint {
  const modified = newObj as Node | undefined;
  if (modified === undefined || modified === null) return "Queue";
  const original = oldObj as Node | undefined | null;
  const wasSchedulable = original !== undefined && original !== null && original.spec?.unschedulable !== true;
  return !wasSchedulable && modified.spec?.unschedulable !== true ? "Queue" : "QueueSkip";
}

/** Queue when the rejected pod itself gained a toleration of the unschedulable taint. */
export function isSchedulableAfterPodTolerationChange(
  pod: Pod,
  _oldObj: unknown,
  newObj: unknown,
): QueueingHint {
  const modified = newObj as Pod | undefined;
  if (modified === undefined || modified === null) return "Queue";
  return modified.metadata.uid === pod.metadata.uid && toleratesUnschedulable(modified)
    ? "Queue"
    : "QueueSkip";
}

export function New(_args: Record<string, unknown> | undefined, _handle: Handle): Plugin {
  return new NodeUnschedulable();
}
