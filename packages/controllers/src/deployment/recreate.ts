/**
 * kube's pkg/controller/deployment/recreate.go: scale every old ReplicaSet to zero, wait until
 * none of their pods is still running (pod deletes requeue the Deployment), then create and
 * scale up the new ReplicaSet; clean up once complete.
 */
import type { Pod } from "@skiff/api";
import { getAllReplicaSetsAndSyncRevision } from "./new-replicaset.js";
import { syncRolloutStatus } from "./progress.js";
import { cleanupDeployment, scaleReplicaSetAndRecordEvent } from "./sync.js";
import type { DeploymentSyncer } from "./syncer.js";
import type { Deployment, ReplicaSet } from "./types.js";
import { deploymentComplete } from "./util/progress.js";
import { deploymentReplicas } from "./util/replicas.js";
import { actualReplicaCount, filterActiveReplicaSets } from "./util/replicasets.js";

export async function rolloutRecreate(
  dc: DeploymentSyncer,
  d: Deployment,
  rsList: ReplicaSet[],
  podMap: ReadonlyMap<string, readonly Pod[]>,
) {
  let [newRS, oldRSs] = await getAllReplicaSetsAndSyncRevision(dc, d, rsList, false);
  let allRSs = [...oldRSs, newRS];
  if (await scaleDownOldReplicaSetsForRecreate(dc, filterActiveReplicaSets(oldRSs), d))
    return syncRolloutStatus(dc, allRSs, newRS, d);
  // Never run old and new pods at once: wait for the old ones to be gone.
  if (oldPodsRunning(newRS, oldRSs, podMap)) return syncRolloutStatus(dc, allRSs, newRS, d);
  if (newRS === undefined) {
    [newRS, oldRSs] = await getAllReplicaSetsAndSyncRevision(dc, d, rsList, true);
    allRSs = [...oldRSs, newRS];
  }
  await scaleReplicaSetAndRecordEvent(dc, newRS as ReplicaSet, deploymentReplicas(d), d);
  if (deploymentComplete(d, d.status ?? {})) await cleanupDeployment(dc, oldRSs, d);
  return syncRolloutStatus(dc, allRSs, newRS, d);
}

/** scaleDownOldReplicaSetsForRecreate: every active old ReplicaSet to zero; true if any. */
async function scaleDownOldReplicaSetsForRecreate(
  dc: DeploymentSyncer,
  oldRSs: readonly ReplicaSet[],
  d: Deployment,
): Promise<boolean> {
  let scaled = false;
  for (const rs of oldRSs) {
    if ((rs.spec.replicas ?? 0) === 0) continue;
    const [scaledRS] = await scaleReplicaSetAndRecordEvent(dc, rs, 0, d);
    if (scaledRS) scaled = true;
  }
  return scaled;
}

/**
 * oldPodsRunning: old ReplicaSets still report replicas, or a pod of one is in any phase but
 * Succeeded or Failed (Unknown may still be running).
 */
export function oldPodsRunning(
  newRS: ReplicaSet | undefined,
  oldRSs: readonly ReplicaSet[],
  podMap: ReadonlyMap<string, readonly Pod[]>,
): boolean {
  if (actualReplicaCount(oldRSs) > 0) return true;
  for (const [rsUid, pods] of podMap) {
    if (newRS !== undefined && newRS.metadata.uid === rsUid) continue;
    for (const pod of pods) {
      const phase = pod.status?.phase;
      if (phase !== "Failed" && phase !== "Succeeded") return true;
    }
  }
  return false;
}
