/**
 * kube's MarkPodsNotReady (pkg/controller/util/node/controller_utils.go): when the controller
 * finds a node gone silent, the pods bound to it are no longer Ready (so Services stop sending
 * them traffic) though nobody can ask their kubelet: each pod's Ready condition is set False and
 * its status written back (an update of the status from the cached pod, so a concurrent change
 * is a conflict, reported and retried on the next pass), with a NodeNotReady event on the pod.
 */
import type { Pod } from "@skiff/api";
import { type ClientInterface, cloneObject, type EventRecorder, isNotFound } from "@skiff/client";
import { getPodReadyCondition } from "../util/pod.js";
import { messageOf } from "../util/pod-control.js";
import { updatePodCondition } from "../util/pod-status.js";

export async function markPodsNotReady(
  client: ClientInterface,
  recorder: EventRecorder,
  pods: readonly Pod[],
  nodeName: string,
  nowMs: number,
): Promise<void> {
  const errors: string[] = [];
  for (const cached of pods) {
    // Defensive, as kube: the index may be stale.
    if (cached.spec.nodeName !== nodeName) continue;
    const ready = getPodReadyCondition(cached);
    if (ready === undefined) continue;
    const pod = cloneObject(cached);
    pod.status ??= {};
    if (!updatePodCondition(pod.status, { ...ready, status: "False" }, nowMs)) continue;
    try {
      await client.resource<Pod>("v1", "pods", pod.metadata.namespace).updateStatus(pod);
    } catch (e) {
      // Already gone: nothing left to do for it.
      if (isNotFound(e)) continue;
      errors.push(`${pod.metadata.namespace}/${pod.metadata.name}: ${messageOf(e)}`);
    }
    recorder.event(pod, "Warning", "NodeNotReady", "Node is not ready");
  }
  if (errors.length > 0) throw new Error(`failed to mark pods NotReady: ${errors.join("; ")}`);
}
