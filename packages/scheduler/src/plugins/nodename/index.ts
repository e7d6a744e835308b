/**
 * NodeName (k8s.io/kubernetes/pkg/scheduler/framework/plugins/nodename): a pod that names a node in
 * spec.nodeName fits only that node.
 */
import type { Pod } from "@skiff/api";
import type { CycleState } from "../../framework/cycle-state.js";
import {
  ActionType,
  type ClusterEventWithHint,
  type EnqueueExtensions,
  type FilterPlugin,
  type Handle,
  type Plugin,
} from "../../framework/interface.js";
import type { NodeInfo } from "../../framework/node-info.js";
import { Status } from "../../framework/status.js";

export const Name = "NodeName";

/** ErrReason: the message FailedScheduling events show. */
export const ErrReason = "node(s) didn't match the requested node name";

/** kube's Fits: no requested node, or this one. */
export function fits(pod: Pod, nodeInfo: NodeInfo): boolean {
  const want = pod.spec.nodeName;
  return want === undefined || want === "" || want === nodeInfo.name;
}

export class NodeName implements FilterPlugin, EnqueueExtensions {
  readonly name = Name;

  filter(_state: CycleState, pod: Pod, nodeInfo: NodeInfo): Status | undefined {
    // Unresolvable: evicting pods from another node never makes it that node.
    return fits(pod, nodeInfo) ? undefined : Status.unresolvable(ErrReason);
  }

  /** Only a new node can be the named one (queueing hints on, as in 1.32: no hint needed). */
  eventsToRegister(): ClusterEventWithHint[] {
    return [{ event: { resource: "Node", actionType: ActionType.Add } }];
  }
}

export function New(_args: Record<string, unknown> | undefined, _handle: Handle): Plugin {
  return new NodeName();
}
