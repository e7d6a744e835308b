/**
 * kube's pkg/controller/deployment/progress.go: the status after a rollout step with the
 * Progressing condition (NewReplicaSetAvailable once complete, ReplicaSetUpdated while it makes
 * progress, ProgressDeadlineExceeded after progressDeadlineSeconds without any), ReplicaFailure
 * carried over from the ReplicaSets, and a requeue for when the deadline would pass, so that a
 * stuck rollout is noticed without any event to wake it.
 */
import { calculateStatus } from "./sync.js";
import { type DeploymentSyncer, statusEqual, updateDeploymentStatus } from "./syncer.js";
import {
  type Deployment,
  type DeploymentCondition,
  type DeploymentStatus,
  REPLICA_SET_REPLICA_FAILURE,
  type ReplicaSet,
} from "./types.js";
import {
  DEPLOYMENT_PROGRESSING,
  DEPLOYMENT_REPLICA_FAILURE,
  getDeploymentCondition,
  NEW_RS_AVAILABLE_REASON,
  newDeploymentCondition,
  REPLICA_SET_UPDATED_REASON,
  removeDeploymentCondition,
  replicaSetToDeploymentCondition,
  setDeploymentCondition,
  TIMED_OUT_REASON,
} from "./util/conditions.js";
import {
  deploymentComplete,
  deploymentProgressing,
  deploymentTimedOut,
  hasProgressDeadline,
} from "./util/progress.js";

export async function syncRolloutStatus(
  dc: DeploymentSyncer,
  allRSs: readonly (ReplicaSet | undefined)[],
  newRS: ReplicaSet | undefined,
  d: Deployment,
): Promise<void> {
  const now = dc.now();
  const newStatus = calculateStatus(allRSs, newRS, d, now);
  if (!hasProgressDeadline(d)) removeDeploymentCondition(newStatus, DEPLOYMENT_PROGRESSING);
  const currentCond = getDeploymentCondition(d.status, DEPLOYMENT_PROGRESSING);
  const isCompleteDeployment =
    (newStatus.replicas ?? 0) === (newStatus.updatedReplicas ?? 0) &&
    currentCond?.reason === NEW_RS_AVAILABLE_REASON;
  if (hasProgressDeadline(d) && !isCompleteDeployment) {
    const subject =
      newRS === undefined
        ? `Deployment ${JSON.stringify(d.metadata.name)}`
        : `ReplicaSet ${JSON.stringify(newRS.metadata.name)}`;
    if (deploymentComplete(d, newStatus)) {
      setDeploymentCondition(
        newStatus,
        newDeploymentCondition(
          DEPLOYMENT_PROGRESSING,
          "True",
          NEW_RS_AVAILABLE_REASON,
          `${subject} has successfully progressed.`,
          now,
        ),
      );
    } else if (deploymentProgressing(d, newStatus)) {
      // Progress always refreshes lastUpdateTime (the deadline counts from it), so the
      // condition is replaced, keeping lastTransitionTime while it stays True.
      const condition = newDeploymentCondition(
        DEPLOYMENT_PROGRESSING,
        "True",
        REPLICA_SET_UPDATED_REASON,
        `${subject} is progressing.`,
        now,
      );
      if (currentCond !== undefined) {
        if (currentCond.status === "True" && currentCond.lastTransitionTime !== undefined)
          condition.lastTransitionTime = currentCond.lastTransitionTime;
        removeDeploymentCondition(newStatus, DEPLOYMENT_PROGRESSING);
      }
      setDeploymentCondition(newStatus, condition);
    } else if (deploymentTimedOut(d, newStatus, now)) {
      setDeploymentCondition(
        newStatus,
        newDeploymentCondition(
          DEPLOYMENT_PROGRESSING,
          "False",
          TIMED_OUT_REASON,
          `${subject} has timed out progressing.`,
          now,
        ),
      );
    }
  }
  const failures = getReplicaFailures(allRSs, newRS);
  if (failures[0] !== undefined) setDeploymentCondition(newStatus, failures[0]);
  else removeDeploymentCondition(newStatus, DEPLOYMENT_REPLICA_FAILURE);

  if (statusEqual(d.status, newStatus)) {
    requeueStuckDeployment(dc, d, newStatus, now);
    return;
  }
  d.status = newStatus;
  await updateDeploymentStatus(dc, d);
}

/** getReplicaFailures: the new ReplicaSet's ReplicaFailure conditions, else the old ones'. */
export function getReplicaFailures(
  allRSs: readonly (ReplicaSet | undefined)[],
  newRS: ReplicaSet | undefined,
): DeploymentCondition[] {
  const of = (rs: ReplicaSet | undefined) =>
    (rs?.status?.conditions ?? [])
      .filter((c) => c.type === REPLICA_SET_REPLICA_FAILURE)
      .map(replicaSetToDeploymentCondition);
  const fromNew = of(newRS);
  if (fromNew.length > 0) return fromNew;
  return allRSs.flatMap(of);
}

/**
 * requeueStuckDeployment: a rollout without progress is looked at again when its deadline
 * passes (Progressing's lastUpdateTime + progressDeadlineSeconds, plus a second), or at once
 * (rate-limited) when that is less than a second away. Returns the delay, -1 for none.
 */
export function requeueStuckDeployment(
  dc: DeploymentSyncer,
  d: Deployment,
  newStatus: DeploymentStatus,
  nowMs: number,
): number {
  const currentCond = getDeploymentCondition(d.status, DEPLOYMENT_PROGRESSING);
  if (!hasProgressDeadline(d) || currentCond === undefined) return -1;
  if (deploymentComplete(d, newStatus) || currentCond.reason === TIMED_OUT_REASON) return -1;
  const last = Date.parse(currentCond.lastUpdateTime ?? "");
  if (Number.isNaN(last)) return -1;
  const after = last + (d.spec.progressDeadlineSeconds as number) * 1000 - nowMs;
  if (after < 1000) {
    dc.enqueueRateLimited(d);
    return 0;
  }
  dc.enqueueAfter(d, after + 1000);
  return after;
}
