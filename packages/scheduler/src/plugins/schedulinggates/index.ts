/**
 * SchedulingGates (kube's pkg/scheduler/framework/plugins/schedulinggates): the PreEnqueue plugin
 * that keeps a pod with spec.schedulingGates out of the activeQ until every gate is removed.
 */
import type { Pod } from "@skiff/api";
import {
  ActionType,
  type ClusterEventWithHint,
  type EnqueueExtensions,
  type Handle,
  type PreEnqueuePlugin,
  type QueueingHint,
} from "../../framework/interface.js";
import { Status } from "../../framework/status.js";

export const Name = "SchedulingGates";

export class SchedulingGates implements PreEnqueuePlugin, EnqueueExtensions {
  readonly name = Name;

  preEnqueue(pod: Pod): Status | undefined {
    const gates = pod.spec.schedulingGates ?? [];
    if (gates.length === 0) return undefined;
    // Spelled as kube's fmt.Sprintf("%v", gates): "waiting for scheduling gates: [a b]".
    return Status.unresolvable(`waiting for scheduling gates: [${gates.map((g) => g.name).join(" ")}]`);
  }

  /** A gated pod can only become schedulable when its own last gate goes. */
  eventsToRegister(): ClusterEventWithHint[] {
    return [
      {
        event: { resource: "Pod", actionType: ActionType.UpdatePodSchedulingGatesEliminated },
        queueingHintFn: isSchedulableAfterUpdatePodSchedulingGatesEliminated,
      },
    ];
  }
}

/** As kube 1.32's hint: another pod losing its gates does nothing for this one. */
function isSchedulableAfterUpdatePodSchedulingGatesEliminated(
  pod: Pod,
  _oldObj: unknown,
  newObj: unknown,
): QueueingHint {
  const modified = newObj as Pod | undefined;
  return modified?.metadata?.uid === pod.metadata.uid ? "Queue" : "QueueSkip";
}

export function New(_args: Record<string, unknown> | undefined, _handle: Handle): SchedulingGates {
  return new SchedulingGates();
}
