/**
 * batch/v1 Job as the job controller reads and writes it (k8s.io/api/batch/v1 types.go), and the
 * well-known names it uses: the pod tracking finalizer, the completion index annotation and label,
 * the per-index failure count annotations and the labels of the generated selector.
 */
import type { KubeObject, LabelSelector, ObjectMeta, Pod } from "@skiff/api";

/** batch.JobTrackingFinalizer: a pod keeps it until the controller has counted it. */
export const JOB_TRACKING_FINALIZER = "batch.kubernetes.io/job-tracking";
/** batch.JobCompletionIndexAnnotation (also the label, as PodIndexLabel does). */
export const JOB_COMPLETION_INDEX_ANNOTATION = "batch.kubernetes.io/job-completion-index";
/** batch.JobIndexFailureCountAnnotation / JobIndexIgnoredFailureCountAnnotation. */
export const JOB_INDEX_FAILURE_COUNT_ANNOTATION = "batch.kubernetes.io/job-index-failure-count";
export const JOB_INDEX_IGNORED_FAILURE_COUNT_ANNOTATION =
  "batch.kubernetes.io/job-index-ignored-failure-count";
/** The labels the Job strategy puts on the template (the selector is on the controller uid). */
export const CONTROLLER_UID_LABEL = "batch.kubernetes.io/controller-uid";
export const JOB_NAME_LABEL = "batch.kubernetes.io/job-name";
export const LEGACY_CONTROLLER_UID_LABEL = "controller-uid";
export const LEGACY_JOB_NAME_LABEL = "job-name";
/** The env var Indexed Jobs' containers get (from a fieldRef on the index label). */
export const COMPLETION_INDEX_ENV_NAME = "JOB_COMPLETION_INDEX";
/** batch.JobControllerName: the managedBy value this controller serves. */
export const JOB_CONTROLLER_NAME = "kubernetes.io/job-controller";

export type JobConditionType =
  | "Suspended"
  | "Complete"
  | "Failed"
  | "FailureTarget"
  | "SuccessCriteriaMet"
  | (string & {});

export interface JobCondition {
  type: JobConditionType;
  status: "True" | "False" | "Unknown";
  lastProbeTime?: string;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

export type PodFailurePolicyAction = "FailJob" | "FailIndex" | "Ignore" | "Count";

export interface PodFailurePolicyRule {
  action: PodFailurePolicyAction;
  onExitCodes?: { containerName?: string; operator: "In" | "NotIn"; values: number[] };
  onPodConditions?: { type: string; status?: "True" | "False" | "Unknown" }[];
}

export interface PodFailurePolicy {
  rules: PodFailurePolicyRule[];
}

export interface SuccessPolicyRule {
  succeededIndexes?: string;
  succeededCount?: number;
}

export interface JobPodTemplate {
  metadata?: Pick<ObjectMeta, "labels" | "annotations" | "finalizers">;
  spec: Pod["spec"] & { restartPolicy?: string; hostname?: string };
}

export interface JobSpec {
  parallelism?: number;
  completions?: number;
  activeDeadlineSeconds?: number;
  podFailurePolicy?: PodFailurePolicy;
  successPolicy?: { rules: SuccessPolicyRule[] };
  backoffLimit?: number;
  backoffLimitPerIndex?: number;
  maxFailedIndexes?: number;
  selector?: LabelSelector;
  manualSelector?: boolean;
  template: JobPodTemplate;
  ttlSecondsAfterFinished?: number;
  completionMode?: "NonIndexed" | "Indexed";
  suspend?: boolean;
  podReplacementPolicy?: "TerminatingOrFailed" | "Failed";
  managedBy?: string;
}

export interface JobStatus {
  conditions?: JobCondition[];
  startTime?: string;
  completionTime?: string;
  active?: number;
  succeeded?: number;
  failed?: number;
  terminating?: number;
  ready?: number;
  completedIndexes?: string;
  failedIndexes?: string;
  uncountedTerminatedPods?: { succeeded?: string[]; failed?: string[] };
}

export interface Job extends KubeObject {
  metadata: ObjectMeta & { name: string; namespace: string };
  spec: JobSpec;
  status?: JobStatus;
}

/** A container's state as the kubelet reports it (the part the controller reads). */
export interface ContainerStatus {
  name: string;
  restartCount?: number;
  state?: {
    running?: { startedAt?: string };
    waiting?: { reason?: string };
    terminated?: { exitCode: number; reason?: string; startedAt?: string; finishedAt?: string };
  };
}
