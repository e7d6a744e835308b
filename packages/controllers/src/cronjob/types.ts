/** batch/v1 CronJob as the cronjob controller reads and writes it (k8s.io/api/batch/v1). */
import type { KubeObject, ObjectMeta, ObjectReference } from "@skiff/api";
import type { JobSpec } from "../job/types.js";

/** batch.CronJobScheduledTimestampAnnotation: the scheduled time of a Job, RFC 3339 in the CronJob's zone. */
export const CRONJOB_SCHEDULED_TIMESTAMP_ANNOTATION = "batch.kubernetes.io/cronjob-scheduled-timestamp";

export interface CronJobSpec {
  schedule: string;
  timeZone?: string;
  startingDeadlineSeconds?: number;
  concurrencyPolicy?: "Allow" | "Forbid" | "Replace";
  suspend?: boolean;
  jobTemplate: { metadata?: Pick<ObjectMeta, "labels" | "annotations">; spec: JobSpec };
  successfulJobsHistoryLimit?: number;
  failedJobsHistoryLimit?: number;
}

export interface CronJobStatus {
  active?: ObjectReference[];
  lastScheduleTime?: string;
  lastSuccessfulTime?: string;
}

export interface CronJob extends KubeObject {
  metadata: ObjectMeta & { name: string; namespace: string };
  spec: CronJobSpec;
  status?: CronJobStatus;
}
