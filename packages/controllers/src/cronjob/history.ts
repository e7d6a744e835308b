/**
 * The CronJob's finished Jobs beyond successfulJobsHistoryLimit / failedJobsHistoryLimit are
 * deleted, oldest start first (cleanupFinishedJobs, removeOldestJobs and deleteJob of
 * pkg/controller/cronjob/cronjob_controllerv2.go). A Job is deleted with background propagation:
 * the garbage collector takes its pods.
 */
import type { ClientInterface, EventRecorder } from "@skiff/client";
import type { Job } from "../job/types.js";
import { finishedCondition } from "../job/util.js";
import type { CronJob } from "./types.js";
import { compareByJobStartTime } from "./utils.js";

/** What the history helpers need of the controller. */
export interface HistoryDeps {
  readonly recorder: EventRecorder;
  readonly client: ClientInterface;
}

/** deleteJob: deletes the Job and drops it from status.active; false (with an event) on failure. */
export async function deleteJob(c: HistoryDeps, cj: CronJob, job: Job): Promise<boolean> {
  try {
    await c.client
      .resource<Job>("batch/v1", "jobs", job.metadata.namespace)
      .delete(job.metadata.name, { propagationPolicy: "Background" });
  } catch (e) {
    c.recorder.eventf(cj, "Warning", "FailedDelete", "Deleted job: %v", (e as Error).message);
    return false;
  }
  if (cj.status !== undefined)
    cj.status.active = (cj.status.active ?? []).filter((r) => r.uid !== job.metadata.uid);
  c.recorder.eventf(cj, "Normal", "SuccessfulDelete", "Deleted job %v", job.metadata.name);
  return true;
}

/** cleanupFinishedJobs: returns whether the status changed. */
export async function cleanupFinishedJobs(
  c: HistoryDeps,
  cj: CronJob,
  jobs: readonly Job[],
): Promise<boolean> {
  const successfulLimit = cj.spec.successfulJobsHistoryLimit;
  const failedLimit = cj.spec.failedJobsHistoryLimit;
  if (typeof successfulLimit !== "number" && typeof failedLimit !== "number") return false;
  const successful: Job[] = [];
  const failed: Job[] = [];
  for (const j of jobs) {
    const type = finishedCondition(j)?.type;
    if (type === "Complete") successful.push(j);
    else if (type === "Failed") failed.push(j);
  }
  let updated = false;
  if (typeof successfulLimit === "number" && (await removeOldestJobs(c, cj, successful, successfulLimit)))
    updated = true;
  if (typeof failedLimit === "number" && (await removeOldestJobs(c, cj, failed, failedLimit))) updated = true;
  return updated;
}

async function removeOldestJobs(c: HistoryDeps, cj: CronJob, jobs: Job[], max: number): Promise<boolean> {
  const toDelete = jobs.length - max;
  if (toDelete <= 0) return false;
  jobs.sort(compareByJobStartTime);
  let updated = false;
  for (let i = 0; i < toDelete; i++) if (await deleteJob(c, cj, jobs[i] as Job)) updated = true;
  return updated;
}
