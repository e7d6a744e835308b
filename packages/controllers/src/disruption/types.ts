/**
 * What the disruption controller reads and writes: policy/v1 PodDisruptionBudget with its whole
 * status (conditions, observedGeneration, disruptedPods), and the scale (spec.replicas) of the
 * workload kinds that own pods. Field names are k8s.io/api's.
 */
import type { KubeObject, LabelSelector, ObjectMeta } from "@skiff/api";

/** metav1.Condition. */
export interface Condition {
  type: string;
  status: "True" | "False" | "Unknown";
  observedGeneration?: number;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

export interface PodDisruptionBudgetStatus {
  observedGeneration?: number;
  /** Pod name -> when its eviction was admitted (removed once the pod is seen going). */
  disruptedPods?: Record<string, string>;
  disruptionsAllowed?: number;
  currentHealthy?: number;
  desiredHealthy?: number;
  expectedPods?: number;
  conditions?: Condition[];
}

export interface PodDisruptionBudget extends KubeObject {
  metadata: ObjectMeta & { name: string; namespace: string };
  spec?: {
    selector?: LabelSelector;
    minAvailable?: number | string;
    maxUnavailable?: number | string;
    unhealthyPodEvictionPolicy?: "IfHealthyBudget" | "AlwaysAllow";
  };
  status?: PodDisruptionBudgetStatus;
}

/** A ReplicaSet, Deployment, StatefulSet or ReplicationController: what its scale is. */
export interface ScalableObject extends KubeObject {
  spec?: { replicas?: number; [field: string]: unknown };
}

/** policy.DisruptionAllowedCondition and its reasons. */
export const DISRUPTION_ALLOWED_CONDITION = "DisruptionAllowed";
export const SUFFICIENT_PODS_REASON = "SufficientPods";
export const INSUFFICIENT_PODS_REASON = "InsufficientPods";
export const SYNC_FAILED_REASON = "SyncFailed";
/** v1.DisruptionTarget: the pod condition set by whoever is about to disrupt the pod. */
export const DISRUPTION_TARGET = "DisruptionTarget";
/** v1.PodReasonTerminationByKubelet: a DisruptionTarget set by the kubelet is never stale. */
export const POD_REASON_TERMINATION_BY_KUBELET = "TerminationByKubelet";
