/**
 * The CronJob controller's time reckoning and Job making (pkg/controller/cronjob/utils.go): the
 * most recent schedule time not yet started (from the last schedule time, or the creation time,
 * cut by startingDeadlineSeconds), how many were missed, when to look again, and the Job of a
 * schedule time (named `<cronjob>-<minutes since the epoch>`, so that one schedule time can never
 * make two Jobs).
 */
import { cloneObject } from "@skiff/client";
import type { Job } from "../job/types.js";
import { newControllerRef } from "../util/controller-ref.js";
import { parseTime } from "../util/time.js";
import type { Schedule } from "./schedule.js";
import { CRONJOB_SCHEDULED_TIMESTAMP_ANNOTATION, type CronJob } from "./types.js";
import { loadLocation, type Zone } from "./zone.js";

/** nextScheduleDelta: requeue a little after the schedule time (clock skew between machines). */
export const NEXT_SCHEDULE_DELTA_MS = 100;

export type MissedSchedules = "none" | "few" | "many";

export interface MostRecent {
  /** The last schedule time, or the creation time. */
  earliestTime: number;
  /** The most recent schedule time at or before now, if any. */
  mostRecentTime: number | undefined;
  missed: MissedSchedules;
  error?: string;
}

/**
 * mostRecentScheduleTime. The number missed is estimated from the interval between the next two
 * schedule times, so a CronJob that missed years of minutes costs two Next calls, not millions.
 */
export function mostRecentScheduleTime(
  cj: CronJob,
  now: number,
  schedule: Schedule,
  includeStartingDeadlineSeconds: boolean,
): MostRecent {
  let earliestTime = parseTime(cj.metadata.creationTimestamp) ?? 0;
  const last = parseTime(cj.status?.lastScheduleTime);
  if (last !== undefined) earliestTime = last;
  const sds = cj.spec.startingDeadlineSeconds;
  if (includeStartingDeadlineSeconds && typeof sds === "number") {
    // Nothing older than the deadline will be started anyway.
    const schedulingDeadline = now - sds * 1000;
    if (schedulingDeadline > earliestTime) earliestTime = schedulingDeadline;
  }
  const t1 = schedule.next(earliestTime);
  const t2 = t1 === undefined ? undefined : schedule.next(t1);
  if (t1 !== undefined && now < t1) return { earliestTime, mostRecentTime: undefined, missed: "none" };
  if (t1 !== undefined && t2 !== undefined && now < t2)
    return { earliestTime, mostRecentTime: t1, missed: "none" };
  // A schedule that parses but never fires (31 February) gives no interval.
  const between = t1 === undefined || t2 === undefined ? 0 : Math.round((t2 - t1) / 1000);
  if (between < 1)
    return {
      earliestTime,
      mostRecentTime: undefined,
      missed: "none",
      error: "time difference between two schedules is less than 1 second",
    };
  const start = t1 as number;
  const elapsed = Math.trunc((now - start) / 1000);
  const missedCount = Math.trunc(elapsed / between) + 1;
  // Start one interval earlier than the estimate and let Next find the exact times, which
  // matters for irregular schedules (30 6-16/4 * * 1-5) and @every.
  const potentialEarliest = start + (missedCount - 2) * between * 1000;
  let mostRecentTime: number | undefined;
  for (let t = schedule.next(potentialEarliest); t !== undefined && t <= now; t = schedule.next(t))
    mostRecentTime = t;
  const missed: MissedSchedules = missedCount > 100 ? "many" : missedCount > 0 ? "few" : "none";
  return { earliestTime, mostRecentTime, missed };
}

/** nextScheduleTimeDuration: how long until the next schedule time (plus the delta). */
export function nextScheduleTimeDuration(cj: CronJob, now: number, schedule: Schedule): number {
  const r = mostRecentScheduleTime(cj, now, schedule, false);
  let from: number;
  if (r.error !== undefined) from = now;
  else if (r.mostRecentTime === undefined) from = r.missed === "none" ? r.earliestTime : now;
  else from = r.mostRecentTime;
  const next = schedule.next(from);
  // Never: look again in a while rather than never (kube would aim at year 1).
  return next === undefined ? 24 * 3_600_000 : next + NEXT_SCHEDULE_DELTA_MS - now;
}

/** nextScheduleTime: the schedule time to start now, if any, and whether many were missed. */
export function nextScheduleTime(
  cj: CronJob,
  now: number,
  schedule: Schedule,
): { time: number | undefined; missed: MissedSchedules; error?: string } {
  const r = mostRecentScheduleTime(cj, now, schedule, true);
  if (r.mostRecentTime === undefined || r.mostRecentTime > now)
    return { time: undefined, missed: r.missed, ...(r.error === undefined ? {} : { error: r.error }) };
  return { time: r.mostRecentTime, missed: r.missed };
}

/** getJobName: `<cronjob>-<minutes since the epoch>`. */
export function getJobName(cj: CronJob, scheduledTime: number): string {
  return `${cj.metadata.name}-${Math.floor(scheduledTime / 60_000)}`;
}

/** RFC 3339 in a zone, as Go's Format(time.RFC3339): "2024-05-01T14:00:00+02:00", "Z" for UTC. */
export function formatRFC3339(ms: number, zone: Zone): string {
  const f = zone.fields(ms);
  const wall = Date.UTC(f.year, f.month - 1, f.day, f.hour, f.minute, f.second);
  const offsetMin = Math.round((wall - Math.floor(ms / 1000) * 1000) / 60_000);
  const p = (n: number, w = 2) => String(Math.abs(n)).padStart(w, "0");
  const base = `${p(f.year, 4)}-${p(f.month)}-${p(f.day)}T${p(f.hour)}:${p(f.minute)}:${p(f.second)}`;
  if (offsetMin === 0) return `${base}Z`;
  return `${base}${offsetMin < 0 ? "-" : "+"}${p(Math.trunc(offsetMin / 60))}:${p(offsetMin % 60)}`;
}

/**
 * getJobFromTemplate2: the Job of a schedule time: the template's labels and annotations, the
 * scheduled-timestamp annotation (in spec.timeZone, UTC without one), the controller reference.
 */
export function getJobFromTemplate(cj: CronJob, scheduledTime: number): Job {
  const template = cj.spec.jobTemplate;
  const zone = loadLocation(cj.spec.timeZone ?? "");
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: {
      name: getJobName(cj, scheduledTime),
      namespace: cj.metadata.namespace,
      labels: { ...template.metadata?.labels },
      annotations: {
        ...template.metadata?.annotations,
        [CRONJOB_SCHEDULED_TIMESTAMP_ANNOTATION]: formatRFC3339(scheduledTime, zone),
      },
      ownerReferences: [newControllerRef(cj, { apiVersion: "batch/v1", kind: "CronJob" })],
    },
    spec: cloneObject(template.spec),
  };
}

/** byJobStartTime: started before not started, earlier first, then by name. */
export function compareByJobStartTime(a: Job, b: Job): number {
  const sa = parseTime(a.status?.startTime);
  const sb = parseTime(b.status?.startTime);
  if (sa === undefined && sb !== undefined) return 1;
  if (sa !== undefined && sb === undefined) return -1;
  if (sa === sb) return a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0;
  return (sa as number) - (sb as number);
}
