/**
 * kube's pkg/controller/deployment/rolling.go: a RollingUpdate step. Scale the new ReplicaSet up
 * as far as maxSurge allows; else scale old ones down as far as maxUnavailable allows (first the
 * old replicas that are not available anyway, oldest ReplicaSet first, then available ones);
 * once complete, clean up old ReplicaSets; always refresh the status and progress conditions.
 */
import { getAllReplicaSetsAndSyncRevision } from "./new-replicaset.js";
import { syncRolloutStatus } from "./progress.js";
import { cleanupDeployment, scaleReplicaSetAndRecordEvent } from "./sync.js";
import type { DeploymentSyncer } from "./syncer.js";
import type { Deployment, ReplicaSet } from "./types.js";
import { deploymentComplete } from "./util/progress.js";
import { deploymentReplicas, maxUnavailable, newRSNewReplicas } from "./util/replicas.js";
import {
  availableReplicaCount,
  byCreationTimestamp,
  filterActiveReplicaSets,
  replicaCount,
  specReplicas,
} from "./util/replicasets.js";

export async function rolloutRolling(dc: DeploymentSyncer, d: Deployment, rsList: ReplicaSet[]) {
  const [newRS, oldRSs] = await getAllReplicaSetsAndSyncRevision(dc, d, rsList, true);
  // createIfNotExisted: a new ReplicaSet was found or created (or the call threw).
  const rs = newRS as ReplicaSet;
  const allRSs = [...oldRSs, rs];
  if (await reconcileNewReplicaSet(dc, allRSs, rs, d)) return syncRolloutStatus(dc, allRSs, rs, d);
  if (await reconcileOldReplicaSets(dc, allRSs, filterActiveReplicaSets(oldRSs), rs, d))
    return syncRolloutStatus(dc, allRSs, rs, d);
  if (deploymentComplete(d, d.status ?? {})) await cleanupDeployment(dc, oldRSs, d);
  return syncRolloutStatus(dc, allRSs, rs, d);
}

/** reconcileNewReplicaSet: true when the new ReplicaSet was scaled. */
export async function reconcileNewReplicaSet(
  dc: DeploymentSyncer,
  allRSs: readonly ReplicaSet[],
  newRS: ReplicaSet,
  d: Deployment,
): Promise<boolean> {
  const replicas = deploymentReplicas(d);
  if (specReplicas(newRS) === replicas) return false;
  if (specReplicas(newRS) > replicas) return (await scaleReplicaSetAndRecordEvent(dc, newRS, replicas, d))[0];
  const newReplicasCount = newRSNewReplicas(d, allRSs, newRS);
  return (await scaleReplicaSetAndRecordEvent(dc, newRS, newReplicasCount, d))[0];
}

/**
 * reconcileOldReplicaSets: how many old replicas may go now is
 * allPods - minAvailable - newRSUnavailable (the new ReplicaSet's unavailable pods must not be
 * counted on); true when any old ReplicaSet was scaled down.
 */
export async function reconcileOldReplicaSets(
  dc: DeploymentSyncer,
  allRSs: readonly ReplicaSet[],
  oldRSs: ReplicaSet[],
  newRS: ReplicaSet,
  d: Deployment,
): Promise<boolean> {
  if (replicaCount(oldRSs) === 0) return false;
  const allPodsCount = replicaCount(allRSs);
  const minAvailable = deploymentReplicas(d) - maxUnavailable(d);
  const newRSUnavailablePodCount = specReplicas(newRS) - (newRS.status?.availableReplicas ?? 0);
  const maxScaledDown = allPodsCount - minAvailable - newRSUnavailablePodCount;
  if (maxScaledDown <= 0) return false;
  const [cleaned, cleanupCount] = await cleanupUnhealthyReplicas(dc, oldRSs, d, maxScaledDown);
  const scaledDownCount = await scaleDownOldReplicaSetsForRollingUpdate(dc, [...cleaned, newRS], cleaned, d);
  return cleanupCount + scaledDownCount > 0;
}

/**
 * cleanupUnhealthyReplicas: scales old ReplicaSets down by their unavailable replicas (oldest
 * first), at most maxCleanupCount in all; returns the ReplicaSets as written and the count.
 */
export async function cleanupUnhealthyReplicas(
  dc: DeploymentSyncer,
  oldRSs: ReplicaSet[],
  d: Deployment,
  maxCleanupCount: number,
): Promise<[ReplicaSet[], number]> {
  const rss = [...oldRSs].sort(byCreationTimestamp);
  let totalScaledDown = 0;
  for (const [i, target] of rss.entries()) {
    if (totalScaledDown >= maxCleanupCount) break;
    const replicas = specReplicas(target);
    const available = target.status?.availableReplicas ?? 0;
    if (replicas === 0 || replicas === available) continue;
    const scaledDownCount = Math.min(maxCleanupCount - totalScaledDown, replicas - available);
    const newReplicasCount = replicas - scaledDownCount;
    if (newReplicasCount > replicas)
      throw new Error(
        `when cleaning up unhealthy replicas, got invalid request to scale down ${target.metadata.namespace}/${target.metadata.name} ${replicas} -> ${newReplicasCount}`,
      );
    const [, updated] = await scaleReplicaSetAndRecordEvent(dc, target, newReplicasCount, d);
    totalScaledDown += scaledDownCount;
    rss[i] = updated;
  }
  return [rss, totalScaledDown];
}

/**
 * scaleDownOldReplicaSetsForRollingUpdate: scales old ReplicaSets down (oldest first) by as
 * many available replicas as exceed minAvailable; returns how many.
 */
export async function scaleDownOldReplicaSetsForRollingUpdate(
  dc: DeploymentSyncer,
  allRSs: readonly ReplicaSet[],
  oldRSs: readonly ReplicaSet[],
  d: Deployment,
): Promise<number> {
  const minAvailable = deploymentReplicas(d) - maxUnavailable(d);
  const availablePodCount = availableReplicaCount(allRSs);
  if (availablePodCount <= minAvailable) return 0;
  const totalScaleDownCount = availablePodCount - minAvailable;
  let totalScaledDown = 0;
  for (const target of [...oldRSs].sort(byCreationTimestamp)) {
    if (totalScaledDown >= totalScaleDownCount) break;
    const replicas = specReplicas(target);
    if (replicas === 0) continue;
    const scaleDownCount = Math.min(replicas, totalScaleDownCount - totalScaledDown);
    const newReplicasCount = replicas - scaleDownCount;
    if (newReplicasCount > replicas)
      throw new Error(
        `when scaling down old RS, got invalid request to scale down ${target.metadata.namespace}/${target.metadata.name} ${replicas} -> ${newReplicasCount}`,
      );
    await scaleReplicaSetAndRecordEvent(dc, target, newReplicasCount, d);
    totalScaledDown += scaleDownCount;
  }
  return totalScaledDown;
}
