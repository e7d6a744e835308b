/**
 * Deployment conditions (deploymentutil's NewDeploymentCondition, GetDeploymentCondition,
 * SetDeploymentCondition, RemoveDeploymentCondition) and their reasons, spelled as kube 1.32.
 */
import { metav1Time } from "@skiff/api";
import { getCondition, removeCondition, setCondition } from "../../util/conditions.js";
import type {
  ConditionStatus,
  DeploymentCondition,
  DeploymentStatus,
  ReplicaSetCondition,
} from "../types.js";

// Condition types (apps/v1).
export const DEPLOYMENT_AVAILABLE = "Available";
export const DEPLOYMENT_PROGRESSING = "Progressing";
export const DEPLOYMENT_REPLICA_FAILURE = "ReplicaFailure";

// Reasons (deploymentutil's constants).
/** A new ReplicaSet is being scaled up or an old one down. */
export const REPLICA_SET_UPDATED_REASON = "ReplicaSetUpdated";
/** Creating the new ReplicaSet failed. */
export const FAILED_RS_CREATE_REASON = "ReplicaSetCreateError";
/** The new ReplicaSet was created. */
export const NEW_REPLICA_SET_REASON = "NewReplicaSetCreated";
/** An existing ReplicaSet matched the template (a controller that started caring about progress). */
export const FOUND_NEW_RS_REASON = "FoundNewReplicaSet";
/** The rollout is complete: every replica updated and available. */
export const NEW_RS_AVAILABLE_REASON = "NewReplicaSetAvailable";
/** No progress within progressDeadlineSeconds. */
export const TIMED_OUT_REASON = "ProgressDeadlineExceeded";
export const PAUSED_DEPLOY_REASON = "DeploymentPaused";
export const RESUMED_DEPLOY_REASON = "DeploymentResumed";
export const MINIMUM_REPLICAS_AVAILABLE = "MinimumReplicasAvailable";
export const MINIMUM_REPLICAS_UNAVAILABLE = "MinimumReplicasUnavailable";

/** NewDeploymentCondition: both times now. */
export function newDeploymentCondition(
  type: string,
  status: ConditionStatus,
  reason: string,
  message: string,
  nowMs: number,
): DeploymentCondition {
  const now = metav1Time(new Date(nowMs));
  return { type, status, lastUpdateTime: now, lastTransitionTime: now, reason, message };
}

export function getDeploymentCondition(
  status: DeploymentStatus | undefined,
  type: string,
): DeploymentCondition | undefined {
  return getCondition(status?.conditions, type);
}

/**
 * SetDeploymentCondition: no change when status and reason are the same (so lastUpdateTime only
 * moves when something is said anew); lastTransitionTime kept while the status stays.
 */
export function setDeploymentCondition(status: DeploymentStatus, condition: DeploymentCondition): void {
  const current = getDeploymentCondition(status, condition.type);
  const next = { ...condition };
  if (current !== undefined && current.status === condition.status)
    next.lastTransitionTime = current.lastTransitionTime as string;
  setCondition(status, next);
}

export function removeDeploymentCondition(status: DeploymentStatus, type: string): void {
  removeCondition(status, type);
}

/** ReplicaSetToDeploymentCondition: a ReplicaSet's condition carried to its Deployment. */
export function replicaSetToDeploymentCondition(c: ReplicaSetCondition): DeploymentCondition {
  const out: DeploymentCondition = { type: c.type, status: c.status };
  if (c.lastTransitionTime !== undefined) {
    out.lastUpdateTime = c.lastTransitionTime;
    out.lastTransitionTime = c.lastTransitionTime;
  }
  if (c.reason !== undefined) out.reason = c.reason;
  if (c.message !== undefined) out.message = c.message;
  return out;
}
