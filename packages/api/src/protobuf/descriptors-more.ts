/**
 * What else `kubectl create` sends as protobuf: core/v1 ResourceQuota (`create quota`), policy/v1
 * PodDisruptionBudget (`create pdb`), batch/v1 CronJob (`create cronjob`). Field numbers from
 * upstream core/v1, policy/v1 and batch/v1 generated.proto.
 */
import { JobSpec } from "./descriptors-apps.js";
import { Condition, LabelSelector, ObjectMeta } from "./descriptors-meta.js";
import { list, map, msg } from "./dsl.js";

const ScopedResourceSelectorRequirement = msg("core.v1.ScopedResourceSelectorRequirement", {
  scopeName: [1, "string"],
  operator: [2, "string"],
  values: [3, list("string")],
});

const ResourceQuotaSpec = msg("core.v1.ResourceQuotaSpec", {
  hard: [1, map("quantity")],
  scopes: [2, list("string")],
  scopeSelector: [
    3,
    msg("core.v1.ScopeSelector", { matchExpressions: [1, list(ScopedResourceSelectorRequirement)] }),
  ],
});

export const ResourceQuota = msg("core.v1.ResourceQuota", {
  metadata: [1, ObjectMeta],
  spec: [2, ResourceQuotaSpec],
  status: [3, msg("core.v1.ResourceQuotaStatus", { hard: [1, map("quantity")], used: [2, map("quantity")] })],
});

const PodDisruptionBudgetSpec = msg("policy.v1.PodDisruptionBudgetSpec", {
  minAvailable: [1, "intstr"],
  selector: [2, LabelSelector],
  maxUnavailable: [3, "intstr"],
  unhealthyPodEvictionPolicy: [4, "string", "ptr"],
});

const PodDisruptionBudgetStatus = msg(
  "policy.v1.PodDisruptionBudgetStatus",
  {
    observedGeneration: [1, "int64"],
    disruptionsAllowed: [3, "int32"],
    currentHealthy: [4, "int32"],
    desiredHealthy: [5, "int32"],
    expectedPods: [6, "int32"],
    conditions: [7, list(Condition)],
  },
  { skipUnknown: true },
);

export const PodDisruptionBudget = msg("policy.v1.PodDisruptionBudget", {
  metadata: [1, ObjectMeta],
  spec: [2, PodDisruptionBudgetSpec],
  status: [3, PodDisruptionBudgetStatus],
});

const CronJobSpec = msg("batch.v1.CronJobSpec", {
  schedule: [1, "string"],
  startingDeadlineSeconds: [2, "int64", "ptr"],
  concurrencyPolicy: [3, "string"],
  suspend: [4, "bool", "ptr"],
  jobTemplate: [5, msg("batch.v1.JobTemplateSpec", { metadata: [1, ObjectMeta], spec: [2, JobSpec] })],
  successfulJobsHistoryLimit: [6, "int32", "ptr"],
  failedJobsHistoryLimit: [7, "int32", "ptr"],
  timeZone: [8, "string", "ptr"],
});

export const CronJob = msg("batch.v1.CronJob", {
  metadata: [1, ObjectMeta],
  spec: [2, CronJobSpec],
  status: [3, msg("batch.v1.CronJobStatus", {}, { skipUnknown: true })],
});
