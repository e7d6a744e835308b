/** apps/v1 Deployment and batch/v1 Job (field numbers from upstream apps/v1 and batch/v1 generated.proto). */

import { LabelSelector, ObjectMeta } from "./descriptors-meta.js";
import { PodTemplateSpec } from "./descriptors-pod.js";
import { list, msg } from "./dsl.js";

const DeploymentStrategy = msg("apps.v1.DeploymentStrategy", {
  type: [1, "string"],
  rollingUpdate: [
    2,
    msg("apps.v1.RollingUpdateDeployment", {
      maxUnavailable: [1, "intstr"],
      maxSurge: [2, "intstr"],
    }),
  ],
});

const DeploymentSpec = msg("apps.v1.DeploymentSpec", {
  replicas: [1, "int32", "ptr"],
  selector: [2, LabelSelector],
  template: [3, PodTemplateSpec],
  strategy: [4, DeploymentStrategy],
  minReadySeconds: [5, "int32"],
  revisionHistoryLimit: [6, "int32", "ptr"],
  paused: [7, "bool"],
  progressDeadlineSeconds: [9, "int32", "ptr"],
});

const DeploymentCondition = msg("apps.v1.DeploymentCondition", {
  type: [1, "string"],
  status: [2, "string"],
  reason: [4, "string"],
  message: [5, "string"],
  lastUpdateTime: [6, "time"],
  lastTransitionTime: [7, "time"],
});

const DeploymentStatus = msg("apps.v1.DeploymentStatus", {
  observedGeneration: [1, "int64"],
  replicas: [2, "int32"],
  updatedReplicas: [3, "int32"],
  availableReplicas: [4, "int32"],
  unavailableReplicas: [5, "int32"],
  conditions: [6, list(DeploymentCondition)],
  readyReplicas: [7, "int32"],
  collisionCount: [8, "int32", "ptr"],
  terminatingReplicas: [9, "int32", "ptr"],
});

export const Deployment = msg("apps.v1.Deployment", {
  metadata: [1, ObjectMeta],
  spec: [2, DeploymentSpec],
  status: [3, DeploymentStatus],
});

export const JobSpec = msg("batch.v1.JobSpec", {
  parallelism: [1, "int32", "ptr"],
  completions: [2, "int32", "ptr"],
  activeDeadlineSeconds: [3, "int64", "ptr"],
  selector: [4, LabelSelector],
  manualSelector: [5, "bool", "ptr"],
  template: [6, PodTemplateSpec],
  backoffLimit: [7, "int32", "ptr"],
  ttlSecondsAfterFinished: [8, "int32", "ptr"],
  completionMode: [9, "string", "ptr"],
  suspend: [10, "bool", "ptr"],
  backoffLimitPerIndex: [12, "int32", "ptr"],
  maxFailedIndexes: [13, "int32", "ptr"],
  podReplacementPolicy: [14, "string", "ptr"],
  managedBy: [15, "string", "ptr"],
});

/** Status is ignored on create; only the counters are decoded and anything else is skipped. */
const JobStatus = msg(
  "batch.v1.JobStatus",
  {
    startTime: [2, "time"],
    completionTime: [3, "time"],
    active: [4, "int32"],
    succeeded: [5, "int32"],
    failed: [6, "int32"],
    ready: [9, "int32", "ptr"],
    terminating: [11, "int32", "ptr"],
  },
  { skipUnknown: true },
);

export const Job = msg("batch.v1.Job", {
  metadata: [1, ObjectMeta],
  spec: [2, JobSpec],
  status: [3, JobStatus],
});
