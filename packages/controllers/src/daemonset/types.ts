/** apps/v1 DaemonSet, the fields the daemonset controller reads and writes (k8s.io/api/apps/v1). */
import type { KubeObject, LabelSelector, ObjectMeta, PodCondition } from "@skiff/api";
import { CONTROLLER_REVISION_HASH_LABEL_KEY } from "../history/types.js";
import type { IntOrString } from "../util/intstr.js";
import type { PodTemplateSpec } from "../util/pod-control.js";

export interface RollingUpdateDaemonSet {
  /** Nodes whose daemon pod may be unavailable during the update (API default 1). */
  maxUnavailable?: IntOrString;
  /** Nodes that may run an old and a new pod at once (API default 0); exclusive with maxUnavailable. */
  maxSurge?: IntOrString;
}

export interface DaemonSetSpec {
  selector: LabelSelector;
  template: PodTemplateSpec;
  updateStrategy?: { type?: "RollingUpdate" | "OnDelete"; rollingUpdate?: RollingUpdateDaemonSet };
  minReadySeconds?: number;
  revisionHistoryLimit?: number;
}

export interface DaemonSetStatus {
  currentNumberScheduled: number;
  numberMisscheduled: number;
  desiredNumberScheduled: number;
  numberReady: number;
  observedGeneration?: number;
  updatedNumberScheduled?: number;
  numberAvailable?: number;
  numberUnavailable?: number;
  collisionCount?: number;
  conditions?: PodCondition[];
}

export interface DaemonSet extends KubeObject {
  metadata: ObjectMeta & { name: string; namespace: string };
  spec: DaemonSetSpec;
  status?: DaemonSetStatus;
}

/** apps.DefaultDaemonSetUniqueLabelKey (= ControllerRevisionHashLabelKey): a pod's template hash. */
export const DEFAULT_DAEMONSET_UNIQUE_LABEL_KEY = CONTROLLER_REVISION_HASH_LABEL_KEY;

/** The controller's kind, for controller references and adoption. */
export const DAEMONSET_KIND = { apiVersion: "apps/v1", kind: "DaemonSet" } as const;

/** Reasons of the controller's events (daemon_controller.go). */
export const SELECTING_ALL_REASON = "SelectingAll";
export const FAILED_DAEMON_POD_REASON = "FailedDaemonPod";
export const SUCCEEDED_DAEMON_POD_REASON = "SucceededDaemonPod";
