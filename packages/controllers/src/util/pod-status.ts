/**
 * Pod status writes the node controllers share: kube's UpdatePodCondition (pkg/api/v1/pod) and
 * PatchPodStatus (pkg/util/pod). A status change goes out as a strategic merge patch of the
 * status subresource (conditions merge by type) carrying the pod's uid, so that it never lands on
 * a newer pod of the same name.
 */
import { metav1Time, type Pod, type PodCondition, type PodStatus } from "@skiff/api";
import type { ClientInterface } from "@skiff/client";

/**
 * UpdatePodCondition: sets the condition in `status` (changed in place), its lastTransitionTime
 * now unless the status stays; whether anything changed.
 */
export function updatePodCondition(status: PodStatus, condition: PodCondition, nowMs: number): boolean {
  const c: PodCondition = { ...condition, lastTransitionTime: metav1Time(new Date(nowMs)) };
  status.conditions ??= [];
  const i = status.conditions.findIndex((x) => x.type === c.type);
  const old = i < 0 ? undefined : status.conditions[i];
  if (old === undefined) {
    status.conditions.push(c);
    return true;
  }
  if (c.status === old.status) {
    if (old.lastTransitionTime === undefined) delete c.lastTransitionTime;
    else c.lastTransitionTime = old.lastTransitionTime;
  }
  const equal =
    c.status === old.status &&
    (c.reason ?? "") === (old.reason ?? "") &&
    (c.message ?? "") === (old.message ?? "") &&
    (c.lastProbeTime ?? null) === (old.lastProbeTime ?? null) &&
    c.lastTransitionTime === old.lastTransitionTime;
  status.conditions[i] = c;
  return !equal;
}

/**
 * PatchPodStatus: the changed fields of the status (conditions by type, phase) as one strategic
 * merge patch of pods/status with the uid precondition.
 */
export async function patchPodStatus(
  client: ClientInterface,
  pod: Pod,
  change: { phase?: PodStatus["phase"]; conditions?: PodCondition[] },
): Promise<Pod> {
  const status: Record<string, unknown> = {};
  if (change.phase !== undefined) status.phase = change.phase;
  if (change.conditions !== undefined) status.conditions = change.conditions;
  return client
    .resource<Pod>("v1", "pods", pod.metadata.namespace)
    .patch(pod.metadata.name, { metadata: { uid: pod.metadata.uid }, status }, "strategic", {
      subresource: "status",
    });
}
