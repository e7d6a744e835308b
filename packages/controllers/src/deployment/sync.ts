/**
 * kube's pkg/controller/deployment/sync.go: syncing without a rollout (status only for a
 * Deployment being deleted; scaling for a paused Deployment or a scaling event, with
 * proportional scaling over the active ReplicaSets), the Paused/Resumed condition, scaling one
 * ReplicaSet with its event and annotations, old-ReplicaSet cleanup under revisionHistoryLimit,
 * and the status computed from the ReplicaSets.
 */
import { cloneObject, isNotFound } from "@skiff/client";
import { getAllReplicaSetsAndSyncRevision } from "./new-replicaset.js";
import { type DeploymentSyncer, replicaSetsOf, statusEqual, updateDeploymentStatus } from "./syncer.js";
import type { Deployment, DeploymentStatus, ReplicaSet } from "./types.js";
import {
  desiredReplicasAnnotation,
  replicasAnnotationsNeedUpdate,
  setReplicasAnnotations,
} from "./util/annotations.js";
import {
  DEPLOYMENT_AVAILABLE,
  DEPLOYMENT_PROGRESSING,
  getDeploymentCondition,
  MINIMUM_REPLICAS_AVAILABLE,
  MINIMUM_REPLICAS_UNAVAILABLE,
  newDeploymentCondition,
  PAUSED_DEPLOY_REASON,
  RESUMED_DEPLOY_REASON,
  setDeploymentCondition,
  TIMED_OUT_REASON,
} from "./util/conditions.js";
import { hasProgressDeadline, hasRevisionHistoryLimit } from "./util/progress.js";
import {
  deploymentReplicas,
  getProportion,
  isRollingUpdate,
  isSaturated,
  maxSurge,
  maxUnavailable,
} from "./util/replicas.js";
import {
  actualReplicaCount,
  availableReplicaCount,
  byRevision,
  bySizeNewer,
  bySizeOlder,
  filterActiveReplicaSets,
  findActiveOrLatest,
  readyReplicaCount,
  replicaCount,
  specReplicas,
} from "./util/replicasets.js";

/** syncStatusOnly: a Deployment being deleted gets its status, nothing else. */
export async function syncStatusOnly(dc: DeploymentSyncer, d: Deployment, rsList: ReplicaSet[]) {
  const [newRS, oldRSs] = await getAllReplicaSetsAndSyncRevision(dc, d, rsList, false);
  await syncDeploymentStatus(dc, [...oldRSs, newRS], newRS, d);
}

/** sync: scaling (a scaling event, or a paused Deployment) without rolling out. */
export async function sync(dc: DeploymentSyncer, d: Deployment, rsList: ReplicaSet[]) {
  const [newRS, oldRSs] = await getAllReplicaSetsAndSyncRevision(dc, d, rsList, false);
  await scale(dc, d, newRS, oldRSs);
  if (d.spec.paused === true) await cleanupDeployment(dc, oldRSs, d);
  await syncDeploymentStatus(dc, [...oldRSs, newRS], newRS, d);
}

/**
 * checkPausedConditions: Progressing=Unknown DeploymentPaused / DeploymentResumed, so that time
 * spent paused never counts against the progress deadline (a timed-out condition stays).
 */
export async function checkPausedConditions(dc: DeploymentSyncer, d: Deployment): Promise<void> {
  if (!hasProgressDeadline(d)) return;
  const cond = getDeploymentCondition(d.status, DEPLOYMENT_PROGRESSING);
  if (cond?.reason === TIMED_OUT_REASON) return;
  const pausedCondExists = cond?.reason === PAUSED_DEPLOY_REASON;
  const paused = d.spec.paused === true;
  let reason: string;
  let message: string;
  if (paused && !pausedCondExists) [reason, message] = [PAUSED_DEPLOY_REASON, "Deployment is paused"];
  else if (!paused && pausedCondExists) [reason, message] = [RESUMED_DEPLOY_REASON, "Deployment is resumed"];
  else return;
  d.status ??= {};
  setDeploymentCondition(
    d.status,
    newDeploymentCondition(DEPLOYMENT_PROGRESSING, "Unknown", reason, message, dc.now()),
  );
  await updateDeploymentStatus(dc, d);
}

/** isScalingEvent: an active ReplicaSet was last sized for another replica count. */
export async function isScalingEvent(
  dc: DeploymentSyncer,
  d: Deployment,
  rsList: ReplicaSet[],
): Promise<boolean> {
  const [newRS, oldRSs] = await getAllReplicaSetsAndSyncRevision(dc, d, rsList, false);
  for (const rs of filterActiveReplicaSets([...oldRSs, newRS])) {
    const desired = desiredReplicasAnnotation(rs);
    if (desired !== undefined && desired !== deploymentReplicas(d)) return true;
  }
  return false;
}

/**
 * scale: one active ReplicaSet (or none: the newest) takes the whole count; a saturated new
 * ReplicaSet means the old ones go to zero; otherwise, in a rolling update, the replicas to add
 * or remove (up to replicas+maxSurge) are shared among the active ReplicaSets in proportion to
 * their size, the largest taking the rounding leftovers.
 */
export async function scale(
  dc: DeploymentSyncer,
  d: Deployment,
  newRS: ReplicaSet | undefined,
  oldRSs: ReplicaSet[],
): Promise<void> {
  const replicas = deploymentReplicas(d);
  const activeOrLatest = findActiveOrLatest(newRS, oldRSs);
  if (activeOrLatest !== undefined) {
    if (specReplicas(activeOrLatest) === replicas) return;
    await scaleReplicaSetAndRecordEvent(dc, activeOrLatest, replicas, d);
    return;
  }
  if (isSaturated(d, newRS)) {
    for (const old of filterActiveReplicaSets(oldRSs)) await scaleReplicaSetAndRecordEvent(dc, old, 0, d);
    return;
  }
  if (!isRollingUpdate(d)) return;
  const allRSs = filterActiveReplicaSets([...oldRSs, newRS]);
  const allowedSize = replicas > 0 ? replicas + maxSurge(d) : 0;
  const toAdd = allowedSize - replicaCount(allRSs);
  let scalingOperation = "";
  if (toAdd > 0) {
    allRSs.sort(bySizeNewer);
    scalingOperation = "up";
  } else if (toAdd < 0) {
    allRSs.sort(bySizeOlder);
    scalingOperation = "down";
  }
  let added = 0;
  const nameToSize = new Map<string, number>();
  for (const rs of allRSs) {
    if (toAdd !== 0) {
      const proportion = getProportion(rs, d, toAdd, added);
      nameToSize.set(rs.metadata.name, specReplicas(rs) + proportion);
      added += proportion;
    } else nameToSize.set(rs.metadata.name, specReplicas(rs));
  }
  for (const [i, rs] of allRSs.entries()) {
    let size = nameToSize.get(rs.metadata.name) as number;
    if (i === 0 && toAdd !== 0) size = Math.max(0, size + (toAdd - added));
    await scaleReplicaSet(dc, rs, size, d, scalingOperation);
  }
}

/** scaleReplicaSetAndRecordEvent: [scaled, the ReplicaSet as written]. */
export async function scaleReplicaSetAndRecordEvent(
  dc: DeploymentSyncer,
  rs: ReplicaSet,
  newScale: number,
  d: Deployment,
): Promise<[boolean, ReplicaSet]> {
  if (specReplicas(rs) === newScale) return [false, rs];
  return scaleReplicaSet(dc, rs, newScale, d, specReplicas(rs) < newScale ? "up" : "down");
}

/**
 * scaleReplicaSet: sets spec.replicas and the desired/max-replicas annotations (the Deployment's
 * size when this happened, for later scaling events), with a ScalingReplicaSet event.
 */
export async function scaleReplicaSet(
  dc: DeploymentSyncer,
  rs: ReplicaSet,
  newScale: number,
  d: Deployment,
  scalingOperation: string,
): Promise<[boolean, ReplicaSet]> {
  const replicas = deploymentReplicas(d);
  const sizeNeedsUpdate = specReplicas(rs) !== newScale;
  const annotationsNeedUpdate = replicasAnnotationsNeedUpdate(rs, replicas, replicas + maxSurge(d));
  if (!sizeNeedsUpdate && !annotationsNeedUpdate) return [false, rs];
  const oldScale = specReplicas(rs);
  const rsCopy = cloneObject(rs);
  rsCopy.spec.replicas = newScale;
  setReplicasAnnotations(rsCopy, replicas, replicas + maxSurge(d));
  const updated = await replicaSetsOf(dc, rsCopy.metadata.namespace).update(rsCopy);
  if (sizeNeedsUpdate)
    dc.recorder.eventf(
      d,
      "Normal",
      "ScalingReplicaSet",
      "Scaled %s replica set %s from %d to %d",
      scalingOperation,
      updated.metadata.name,
      oldScale,
      newScale,
    );
  return [sizeNeedsUpdate, updated];
}

/**
 * cleanupDeployment: deletes the oldest old ReplicaSets beyond revisionHistoryLimit, only those
 * fully scaled down, observed, and not already being deleted.
 */
export async function cleanupDeployment(dc: DeploymentSyncer, oldRSs: readonly ReplicaSet[], d: Deployment) {
  if (!hasRevisionHistoryLimit(d)) return;
  const cleanable = oldRSs.filter((rs) => rs.metadata.deletionTimestamp === undefined);
  const diff = cleanable.length - (d.spec.revisionHistoryLimit as number);
  if (diff <= 0) return;
  cleanable.sort(byRevision);
  for (const rs of cleanable.slice(0, diff)) {
    if (
      (rs.status?.replicas ?? 0) !== 0 ||
      specReplicas(rs) !== 0 ||
      (rs.metadata.generation ?? 0) > (rs.status?.observedGeneration ?? 0) ||
      rs.metadata.deletionTimestamp !== undefined
    )
      continue;
    try {
      await replicaSetsOf(dc, rs.metadata.namespace).delete(rs.metadata.name);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}

/** syncDeploymentStatus: writes the computed status when it differs. */
export async function syncDeploymentStatus(
  dc: DeploymentSyncer,
  allRSs: readonly (ReplicaSet | undefined)[],
  newRS: ReplicaSet | undefined,
  d: Deployment,
): Promise<void> {
  const newStatus = calculateStatus(allRSs, newRS, d, dc.now());
  if (statusEqual(d.status, newStatus)) return;
  d.status = newStatus;
  await updateDeploymentStatus(dc, d);
}

/**
 * calculateStatus: counts from the ReplicaSets (replicas, ready and available from their
 * statuses, unavailable against their specs), the generation observed, and Available by
 * whether at least replicas-maxUnavailable are available.
 */
export function calculateStatus(
  allRSs: readonly (ReplicaSet | undefined)[],
  newRS: ReplicaSet | undefined,
  d: Deployment,
  nowMs: number,
): DeploymentStatus {
  const available = availableReplicaCount(allRSs);
  const status: DeploymentStatus = {
    observedGeneration: d.metadata.generation ?? 0,
    replicas: actualReplicaCount(allRSs),
    updatedReplicas: actualReplicaCount([newRS]),
    readyReplicas: readyReplicaCount(allRSs),
    availableReplicas: available,
    unavailableReplicas: Math.max(0, replicaCount(allRSs) - available),
  };
  if (d.status?.collisionCount !== undefined) status.collisionCount = d.status.collisionCount;
  status.conditions = (d.status?.conditions ?? []).map((c) => ({ ...c }));
  const cond =
    available >= deploymentReplicas(d) - maxUnavailable(d)
      ? newDeploymentCondition(
          DEPLOYMENT_AVAILABLE,
          "True",
          MINIMUM_REPLICAS_AVAILABLE,
          "Deployment has minimum availability.",
          nowMs,
        )
      : newDeploymentCondition(
          DEPLOYMENT_AVAILABLE,
          "False",
          MINIMUM_REPLICAS_UNAVAILABLE,
          "Deployment does not have minimum availability.",
          nowMs,
        );
  setDeploymentCondition(status, cond);
  return status;
}
