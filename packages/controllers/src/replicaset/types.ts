/** apps/v1 ReplicaSet as the controller reads and writes it (k8s.io/api/apps/v1 types.go). */
import type { KubeObject, LabelSelector, ObjectMeta } from "@skiff/api";
import type { GroupVersionKind } from "../util/controller-ref.js";
import type { PodTemplateSpec } from "../util/pod-control.js";

export const REPLICA_SET_KIND: GroupVersionKind = { apiVersion: "apps/v1", kind: "ReplicaSet" };

/** apps.ReplicaSetReplicaFailure: pods could not be created or deleted. */
export const REPLICA_SET_REPLICA_FAILURE = "ReplicaFailure";

export interface ReplicaSetCondition {
  type: string;
  status: "True" | "False" | "Unknown";
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

export interface ReplicaSetSpec {
  /** Desired pods; the API server defaults it to 1. */
  replicas?: number;
  minReadySeconds?: number;
  selector: LabelSelector;
  template: PodTemplateSpec;
}

export interface ReplicaSetStatus {
  replicas?: number;
  fullyLabeledReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  observedGeneration?: number;
  conditions?: ReplicaSetCondition[];
}

export interface ReplicaSet extends KubeObject {
  metadata: ObjectMeta & { name: string; namespace: string };
  spec: ReplicaSetSpec;
  status?: ReplicaSetStatus;
}
