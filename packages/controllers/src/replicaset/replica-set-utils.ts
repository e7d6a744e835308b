/**
 * kube's pkg/controller/replicaset/replica_set_utils.go and the pod choice of replica_set.go:
 * the status a ReplicaSet should show for its pods (calculateStatus), writing it through the
 * status subresource only when it changed (updateReplicaSetStatus), the ReplicaFailure
 * condition, and which surplus pods to delete (getPodsToDelete).
 */
import { metav1Time, type Pod } from "@skiff/api";
import { cloneObject, type ResourceClient } from "@skiff/client";
import { sortActivePodsWithRanks } from "../util/active-pods.js";
import { getCondition, removeCondition, setCondition } from "../util/conditions.js";
import { isPodActive, isPodAvailable, isPodReady } from "../util/pod.js";
import { messageOf } from "../util/pod-control.js";
import { updateStatusWithRetries } from "../util/status-update.js";
import { REPLICA_SET_REPLICA_FAILURE, type ReplicaSet, type ReplicaSetStatus } from "./types.js";

/** kube's statusUpdateRetries: one fresh GET and a second try after a failed status update. */
export const STATUS_UPDATE_RETRIES = 1;

/**
 * kube's calculateStatus: counts of the RS's active pods (all, fully labeled as its template,
 * ready, available after minReadySeconds), and the ReplicaFailure condition: set with reason
 * FailedCreate (too few pods) or FailedDelete (too many) when manageReplicas failed and it was not
 * set yet, removed once manageReplicas succeeds.
 */
export function calculateStatus(
  rs: ReplicaSet,
  filteredPods: readonly Pod[],
  manageReplicasErr: unknown,
  nowMs: number,
): ReplicaSetStatus {
  const newStatus: ReplicaSetStatus = cloneObject(rs.status ?? {});
  const templateLabels = Object.entries(rs.spec.template.metadata?.labels ?? {});
  const minReadySeconds = rs.spec.minReadySeconds ?? 0;
  let fullyLabeled = 0;
  let ready = 0;
  let available = 0;
  for (const pod of filteredPods) {
    const labels = pod.metadata.labels ?? {};
    if (templateLabels.every(([k, v]) => labels[k] === v)) fullyLabeled++;
    if (isPodReady(pod)) {
      ready++;
      if (isPodAvailable(pod, minReadySeconds, nowMs)) available++;
    }
  }
  const failureCond = getCondition(newStatus.conditions, REPLICA_SET_REPLICA_FAILURE);
  if (manageReplicasErr !== undefined && failureCond === undefined) {
    const diff = filteredPods.length - (rs.spec.replicas ?? 1);
    const reason = diff < 0 ? "FailedCreate" : diff > 0 ? "FailedDelete" : "";
    setCondition(newStatus, {
      type: REPLICA_SET_REPLICA_FAILURE,
      status: "True",
      lastTransitionTime: metav1Time(new Date(nowMs)),
      reason,
      message: messageOf(manageReplicasErr),
    });
  } else if (manageReplicasErr === undefined && failureCond !== undefined) {
    removeCondition(newStatus, REPLICA_SET_REPLICA_FAILURE);
  }
  newStatus.replicas = filteredPods.length;
  newStatus.fullyLabeledReplicas = fullyLabeled;
  newStatus.readyReplicas = ready;
  newStatus.availableReplicas = available;
  return newStatus;
}

const sameConditions = (a: ReplicaSetStatus, b: ReplicaSetStatus) =>
  JSON.stringify(a.conditions ?? []) === JSON.stringify(b.conditions ?? []);

/**
 * kube's updateReplicaSetStatus: nothing when the counts, conditions and observedGeneration are
 * already what they should be; else an UpdateStatus with observedGeneration = generation, retried
 * once on a fresh copy (a conflict means someone else wrote the RS meanwhile).
 */
export async function updateReplicaSetStatus(
  client: ResourceClient<ReplicaSet>,
  rs: ReplicaSet,
  newStatus: ReplicaSetStatus,
): Promise<ReplicaSet> {
  const cur = rs.status ?? {};
  const generation = rs.metadata.generation ?? 0;
  if (
    (cur.replicas ?? 0) === newStatus.replicas &&
    (cur.fullyLabeledReplicas ?? 0) === newStatus.fullyLabeledReplicas &&
    (cur.readyReplicas ?? 0) === newStatus.readyReplicas &&
    (cur.availableReplicas ?? 0) === newStatus.availableReplicas &&
    (cur.observedGeneration ?? 0) === generation &&
    sameConditions(cur, newStatus)
  )
    return rs;
  const withStatus = (target: ReplicaSet): ReplicaSet => {
    const status = { ...newStatus, observedGeneration: target.metadata.generation ?? 0 };
    return { ...target, apiVersion: "apps/v1", kind: "ReplicaSet", status };
  };
  return updateStatusWithRetries(client, rs, withStatus, { attempts: STATUS_UPDATE_RETRIES + 1 });
}

/**
 * kube's getPodsRankedByRelatedPodsOnSameNode + getPodsToDelete: with more pods than to delete,
 * rank each by the number of active related pods (the pods of every RS of the same owner) on its
 * node, sort by ActivePodsWithRanks, and take the first `diff`.
 */
export function getPodsToDelete(
  filteredPods: readonly Pod[],
  relatedPods: readonly Pod[],
  diff: number,
  nowMs: number,
): Pod[] {
  if (diff >= filteredPods.length) return filteredPods.slice(0, diff);
  const podsOnNode = new Map<string, number>();
  for (const p of relatedPods) {
    if (!isPodActive(p)) continue;
    const node = p.spec.nodeName ?? "";
    podsOnNode.set(node, (podsOnNode.get(node) ?? 0) + 1);
  }
  const ranks = filteredPods.map((p) => podsOnNode.get(p.spec.nodeName ?? "") ?? 0);
  return sortActivePodsWithRanks(filteredPods, ranks, nowMs).slice(0, diff);
}
