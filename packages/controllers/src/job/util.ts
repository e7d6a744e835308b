/**
 * Job conditions (pkg/controller/job/util and the condition helpers of job_controller.go): whether
 * a Job is finished, and how a condition is added or changed. Used by the job, cronjob and
 * ttl-after-finished controllers alike.
 */
import { metav1Time } from "@skiff/api";
import type { Job, JobCondition, JobConditionType } from "./types.js";

/** util.FinishedCondition: Complete or Failed with status True, if any. */
export function finishedCondition(job: Job): JobCondition | undefined {
  return job.status?.conditions?.find(
    (c) => (c.type === "Complete" || c.type === "Failed") && c.status === "True",
  );
}

/** util.IsJobFinished. */
export function isJobFinished(job: Job): boolean {
  return finishedCondition(job) !== undefined;
}

/** util.IsJobSucceeded. */
export function isJobSucceeded(job: Job): boolean {
  return job.status?.conditions?.some((c) => c.type === "Complete" && c.status === "True") === true;
}

/** newCondition: probe and transition time are now. */
export function newCondition(
  type: JobConditionType,
  status: JobCondition["status"],
  reason: string,
  message: string,
  now: number,
): JobCondition {
  const t = metav1Time(new Date(now));
  const c: JobCondition = { type, status, lastProbeTime: t, lastTransitionTime: t };
  if (reason !== "") c.reason = reason;
  if (message !== "") c.message = message;
  return c;
}

/**
 * ensureJobConditionStatus: sets a condition of this type (replacing one whose status, reason or
 * message differ); a False condition is never added where none was (nothing to False is no
 * news). Returns the list and whether it changed.
 */
export function ensureJobConditionStatus(
  list: JobCondition[],
  type: JobConditionType,
  status: JobCondition["status"],
  reason: string,
  message: string,
  now: number,
): [JobCondition[], boolean] {
  const i = list.findIndex((c) => c.type === type);
  if (i >= 0) {
    const c = list[i] as JobCondition;
    if (c.status !== status || (c.reason ?? "") !== reason || (c.message ?? "") !== message) {
      list[i] = newCondition(type, status, reason, message, now);
      return [list, true];
    }
    return [list, false];
  }
  if (status !== "False") return [[...list, newCondition(type, status, reason, message, now)], true];
  return [list, false];
}
