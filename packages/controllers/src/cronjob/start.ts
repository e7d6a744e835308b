/**
 * The second half of syncCronJob (pkg/controller/cronjob/cronjob_controllerv2.go): start the
 * most recent schedule time not yet started, if it is within startingDeadlineSeconds, was not
 * started before (its Job name or lastScheduleTime says so) and the concurrency policy allows it
 * (Forbid: not while a Job runs; Replace: the running ones are deleted first). The Job's name is
 * fixed by the schedule time, so a lost status write can never start one time twice: the create
 * answers AlreadyExists and the Job is put back in the list. Returns when to look again.
 */
import { metav1Time } from "@skiff/api";
import { type ClientInterface, type EventRecorder, isAlreadyExists } from "@skiff/client";
import type { Job } from "../job/types.js";
import { getControllerOf } from "../util/controller-ref.js";
import { isNamespaceTerminating } from "../util/errors.js";
import { type CronJobSyncState, inActiveList } from "./active.js";
import { deleteJob } from "./history.js";
import type { Schedule } from "./schedule.js";
import { getJobFromTemplate, getJobName, nextScheduleTimeDuration } from "./utils.js";

/** Go's time.RFC1123Z in UTC: "Mon, 02 Jan 2006 15:04:05 +0000". */
function rfc1123z(ms: number): string {
  return new Date(ms).toUTCString().replace("GMT", "+0000");
}

export async function startScheduledJob(
  c: { readonly client: ClientInterface; readonly recorder: EventRecorder },
  st: CronJobSyncState,
  sched: Schedule,
  scheduledTime: number,
  now: number,
): Promise<number | undefined> {
  const { cj, status } = st;
  const requeue = () => nextScheduleTimeDuration(cj, now, sched);
  const sds = cj.spec.startingDeadlineSeconds;
  if (typeof sds === "number" && scheduledTime + sds * 1000 < now) {
    const when = rfc1123z(scheduledTime);
    c.recorder.eventf(cj, "Warning", "MissSchedule", "Missed scheduled time to start a job: %s", when);
    return requeue();
  }
  const name = getJobName(cj, scheduledTime);
  const last = status.lastScheduleTime;
  const started =
    (status.active ?? []).some((r) => r.name === name && r.namespace === cj.metadata.namespace) ||
    (last !== undefined && Date.parse(last) === scheduledTime);
  if (started) return requeue();
  const active = status.active ?? [];
  if (cj.spec.concurrencyPolicy === "Forbid" && active.length > 0) {
    // The list may miss a Job just made (cache lag): Forbid holds only for times far enough apart.
    const msg = "Not starting job because prior execution is running and concurrency policy is Forbid";
    c.recorder.event(cj, "Normal", "JobAlreadyActive", msg);
    return requeue();
  }
  if (cj.spec.concurrencyPolicy === "Replace") {
    for (const ref of [...active]) {
      let job: Job;
      try {
        job = await c.client.resource<Job>("batch/v1", "jobs", ref.namespace).get(ref.name ?? "");
      } catch (e) {
        c.recorder.eventf(cj, "Warning", "FailedGet", "Get job: %v", (e as Error).message);
        throw e;
      }
      if (!(await deleteJob(c, cj, job)))
        throw new Error(`could not replace job ${job.metadata.namespace}/${job.metadata.name}`);
      st.updateStatus = true;
    }
  }
  const jobReq = getJobFromTemplate(cj, scheduledTime);
  const jobs = c.client.resource<Job>("batch/v1", "jobs", cj.metadata.namespace);
  let job: Job;
  try {
    job = await jobs.create(jobReq);
    c.recorder.eventf(cj, "Normal", "SuccessfulCreate", "Created job %v", job.metadata.name);
  } catch (e) {
    if (isNamespaceTerminating(e)) throw e;
    if (!isAlreadyExists(e)) {
      c.recorder.eventf(cj, "Warning", "FailedCreate", "Error creating job: %v", (e as Error).message);
      throw e;
    }
    job = await jobs.get(jobReq.metadata.name);
    // Someone else's Job of that name: assume they keep the status.
    if (getControllerOf(job)?.uid !== cj.metadata.uid) return undefined;
    if (inActiveList(status, job.metadata.uid ?? "")) return undefined;
  }
  status.active = [
    ...(status.active ?? []),
    {
      kind: "Job",
      namespace: job.metadata.namespace,
      name: job.metadata.name,
      uid: job.metadata.uid,
      apiVersion: "batch/v1",
      resourceVersion: job.metadata.resourceVersion,
    },
  ];
  status.lastScheduleTime = metav1Time(new Date(scheduledTime));
  st.updateStatus = true;
  return requeue();
}
