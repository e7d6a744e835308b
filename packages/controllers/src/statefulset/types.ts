/** apps/v1 StatefulSet, the fields the statefulset controller reads and writes (k8s.io/api/apps/v1). */
import type { KubeObject, LabelSelector, ObjectMeta, PersistentVolumeClaim, PodCondition } from "@skiff/api";
import { CONTROLLER_REVISION_HASH_LABEL_KEY } from "../history/types.js";
import type { IntOrString } from "../util/intstr.js";
import type { PodTemplateSpec } from "../util/pod-control.js";

export type PersistentVolumeClaimRetentionPolicyType = "Retain" | "Delete";

export interface StatefulSetSpec {
  /** Desired pods (API default 1). */
  replicas?: number;
  selector: LabelSelector;
  template: PodTemplateSpec;
  /** Claims every pod gets, one per template: `<claim>-<set>-<ordinal>`. */
  volumeClaimTemplates?: PersistentVolumeClaim[];
  /** The headless Service whose domain the pods' hostnames live in (their subdomain). */
  serviceName?: string;
  podManagementPolicy?: "OrderedReady" | "Parallel";
  updateStrategy?: {
    type?: "RollingUpdate" | "OnDelete";
    rollingUpdate?: { partition?: number; maxUnavailable?: IntOrString };
  };
  revisionHistoryLimit?: number;
  minReadySeconds?: number;
  persistentVolumeClaimRetentionPolicy?: {
    whenDeleted?: PersistentVolumeClaimRetentionPolicyType;
    whenScaled?: PersistentVolumeClaimRetentionPolicyType;
  };
  /** The first ordinal (default 0). */
  ordinals?: { start?: number };
}

export interface StatefulSetStatus {
  observedGeneration?: number;
  replicas: number;
  readyReplicas?: number;
  currentReplicas?: number;
  updatedReplicas?: number;
  currentRevision?: string;
  updateRevision?: string;
  collisionCount?: number;
  conditions?: PodCondition[];
  availableReplicas?: number;
}

export interface StatefulSet extends KubeObject {
  metadata: ObjectMeta & { name: string; namespace: string };
  spec: StatefulSetSpec;
  status?: StatefulSetStatus;
}

/** apps.StatefulSetPodNameLabel: each pod's own name, so a Service can select one pod. */
export const STATEFULSET_POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name";
/** apps.PodIndexLabel (PodIndexLabel feature, on by default in 1.32): the pod's ordinal. */
export const POD_INDEX_LABEL = "apps.kubernetes.io/pod-index";
/** apps.StatefulSetRevisionLabel (= ControllerRevisionHashLabelKey): the revision a pod was made from. */
export const STATEFULSET_REVISION_LABEL = CONTROLLER_REVISION_HASH_LABEL_KEY;

export const STATEFULSET_KIND = { apiVersion: "apps/v1", kind: "StatefulSet" } as const;
export const POD_KIND = { apiVersion: "v1", kind: "Pod" } as const;
