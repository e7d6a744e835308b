/**
 * The apps/v1 shapes the Deployment controller reads and writes (k8s.io/api/apps/v1 types.go):
 * Deployment with its spec, status and conditions, as JSON; ReplicaSet is the ReplicaSet
 * controller's.
 */
import type { KubeObject, LabelSelector, ObjectMeta } from "@skiff/api";
import type { IntOrString } from "../util/intstr.js";
import type { PodTemplateSpec } from "../util/pod-control.js";

export {
  REPLICA_SET_REPLICA_FAILURE,
  type ReplicaSet,
  type ReplicaSetCondition,
  type ReplicaSetSpec,
  type ReplicaSetStatus,
} from "../replicaset/types.js";

export interface RollingUpdateDeployment {
  maxUnavailable?: IntOrString;
  maxSurge?: IntOrString;
}

export type DeploymentStrategyType = "Recreate" | "RollingUpdate";

export interface DeploymentStrategy {
  type?: DeploymentStrategyType;
  rollingUpdate?: RollingUpdateDeployment;
}

export interface DeploymentSpec {
  /** Defaulted to 1 by the API server. */
  replicas?: number;
  selector: LabelSelector;
  template: PodTemplateSpec;
  strategy?: DeploymentStrategy;
  minReadySeconds?: number;
  /** Defaulted to 10; undefined keeps every old ReplicaSet. */
  revisionHistoryLimit?: number;
  paused?: boolean;
  /** Defaulted to 600; undefined (or MaxInt32) means no deadline. */
  progressDeadlineSeconds?: number;
}

export type ConditionStatus = "True" | "False" | "Unknown";

export interface DeploymentCondition {
  type: string;
  status: ConditionStatus;
  /** RFC 3339, seconds: the last time this condition was updated. */
  lastUpdateTime?: string;
  /** RFC 3339, seconds: the last time the condition moved from one status to another. */
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

export interface DeploymentStatus {
  observedGeneration?: number;
  replicas?: number;
  updatedReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  unavailableReplicas?: number;
  conditions?: DeploymentCondition[];
  collisionCount?: number;
}

export interface Deployment extends KubeObject {
  metadata: ObjectMeta & { name: string; namespace: string };
  spec: DeploymentSpec;
  status?: DeploymentStatus;
}

/** apps/v1's DefaultDeploymentUniqueLabelKey. */
export const DEFAULT_DEPLOYMENT_UNIQUE_LABEL_KEY = "pod-template-hash";

export const deploymentGVK = { apiVersion: "apps/v1", kind: "Deployment" } as const;
