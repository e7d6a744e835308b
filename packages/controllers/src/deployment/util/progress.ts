/**
 * Rollout progress as deploymentutil judges it: complete (every replica updated and available,
 * the generation observed), progressing (more updated, ready or available replicas, or fewer old
 * ones, than the last status said), timed out (no such progress for progressDeadlineSeconds
 * since the Progressing condition's lastUpdateTime).
 */
import type { Deployment, DeploymentStatus } from "../types.js";
import {
  DEPLOYMENT_PROGRESSING,
  getDeploymentCondition,
  NEW_RS_AVAILABLE_REASON,
  TIMED_OUT_REASON,
} from "./conditions.js";
import { deploymentReplicas, MAX_INT32 } from "./replicas.js";

/** HasProgressDeadline: set and not MaxInt32. */
export function hasProgressDeadline(d: Deployment): boolean {
  const s = d.spec.progressDeadlineSeconds;
  return s !== undefined && s !== null && s !== MAX_INT32;
}

/** HasRevisionHistoryLimit: set and not MaxInt32. */
export function hasRevisionHistoryLimit(d: Deployment): boolean {
  const l = d.spec.revisionHistoryLimit;
  return l !== undefined && l !== null && l !== MAX_INT32;
}

/** DeploymentComplete. */
export function deploymentComplete(d: Deployment, s: DeploymentStatus): boolean {
  const replicas = deploymentReplicas(d);
  return (
    (s.updatedReplicas ?? 0) === replicas &&
    (s.replicas ?? 0) === replicas &&
    (s.availableReplicas ?? 0) === replicas &&
    (s.observedGeneration ?? 0) >= (d.metadata.generation ?? 0)
  );
}

/** DeploymentProgressing: the new status shows progress over the Deployment's current one. */
export function deploymentProgressing(d: Deployment, s: DeploymentStatus): boolean {
  const old = d.status ?? {};
  const oldOld = (old.replicas ?? 0) - (old.updatedReplicas ?? 0);
  const newOld = (s.replicas ?? 0) - (s.updatedReplicas ?? 0);
  return (
    (s.updatedReplicas ?? 0) > (old.updatedReplicas ?? 0) ||
    newOld < oldOld ||
    (s.readyReplicas ?? 0) > (old.readyReplicas ?? 0) ||
    (s.availableReplicas ?? 0) > (old.availableReplicas ?? 0)
  );
}

/**
 * DeploymentTimedOut: the Progressing condition says ProgressDeadlineExceeded already, or its
 * lastUpdateTime is more than progressDeadlineSeconds ago. A completed rollout never times out
 * (its condition may lag a resync that a new ReplicaSet's creation triggered).
 */
export function deploymentTimedOut(d: Deployment, s: DeploymentStatus, nowMs: number): boolean {
  if (!hasProgressDeadline(d)) return false;
  const c = getDeploymentCondition(s, DEPLOYMENT_PROGRESSING);
  if (c === undefined) return false;
  if (c.reason === NEW_RS_AVAILABLE_REASON) return false;
  if (c.reason === TIMED_OUT_REASON) return true;
  const from = Date.parse(c.lastUpdateTime ?? "");
  if (Number.isNaN(from)) return false;
  return from + (d.spec.progressDeadlineSeconds as number) * 1000 < nowMs;
}
