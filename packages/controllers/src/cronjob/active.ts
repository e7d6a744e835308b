/**
 * The first half of syncCronJob (pkg/controller/cronjob/cronjob_controllerv2.go): status.active
 * made true to the Jobs the CronJob owns. A running Job missing from the list is either a stale
 * cache (a fresh read lists it) or one made and not recorded (UnexpectedJob); a finished one
 * leaves the list (SawCompletedJob); a succeeded one moves lastSuccessfulTime; a listed Job that
 * no longer exists, asked fresh because the cache may lag, leaves it too (MissingJob).
 */
import { type ClientInterface, type EventRecorder, isNotFound } from "@skiff/client";
import type { Job } from "../job/types.js";
import { finishedCondition, isJobFinished, isJobSucceeded } from "../job/util.js";
import type { CronJob, CronJobStatus } from "./types.js";

/** One sync's working copy of the CronJob, and whether its status must be written. */
export interface CronJobSyncState {
  cj: CronJob;
  status: CronJobStatus;
  updateStatus: boolean;
}

export function inActiveList(status: CronJobStatus | undefined, uid: string): boolean {
  return (status?.active ?? []).some((r) => r.uid === uid);
}

export function deleteFromActiveList(status: CronJobStatus, uid: string): void {
  status.active = (status.active ?? []).filter((r) => r.uid !== uid);
}

export async function reconcileActive(
  c: { readonly client: ClientInterface; readonly recorder: EventRecorder },
  st: CronJobSyncState,
  jobs: readonly Job[],
): Promise<void> {
  const { cj, status } = st;
  const children = new Set<string>();
  for (const j of jobs) {
    const uid = j.metadata.uid ?? "";
    children.add(uid);
    const found = inActiveList(status, uid);
    if (!found && !isJobFinished(j)) {
      const fresh = await c.client
        .resource<CronJob>("batch/v1", "cronjobs", cj.metadata.namespace)
        .get(cj.metadata.name);
      if (inActiveList(fresh.status, uid)) {
        // The cache was behind: go on from the fresh list (and write on top of that version).
        status.active = fresh.status?.active ?? [];
        cj.metadata.resourceVersion = fresh.metadata.resourceVersion;
        continue;
      }
      // Made by us before a crash lost the status write, or by someone wanting it adopted.
      c.recorder.eventf(
        cj,
        "Warning",
        "UnexpectedJob",
        "Saw a job that the controller did not create or forgot: %s",
        j.metadata.name,
      );
    } else if (found && isJobFinished(j)) {
      deleteFromActiveList(status, uid);
      const type = finishedCondition(j)?.type ?? "";
      c.recorder.eventf(
        cj,
        "Normal",
        "SawCompletedJob",
        "Saw completed job: %s, status: %v",
        j.metadata.name,
        type,
      );
      st.updateStatus = true;
    } else if (isJobSucceeded(j)) {
      // A succeeded Job moves lastSuccessfulTime whether or not it was listed.
      const done = j.status?.completionTime;
      const last = status.lastSuccessfulTime;
      if (done !== undefined && (last === undefined || Date.parse(done) > Date.parse(last))) {
        status.lastSuccessfulTime = done;
        st.updateStatus = true;
      }
    }
  }
  for (const ref of [...(status.active ?? [])]) {
    if (children.has(ref.uid ?? "")) continue;
    try {
      await c.client.resource<Job>("batch/v1", "jobs", ref.namespace).get(ref.name ?? "");
    } catch (e) {
      if (!isNotFound(e)) throw e;
      c.recorder.eventf(cj, "Normal", "MissingJob", "Active job went missing: %v", ref.name ?? "");
      deleteFromActiveList(status, ref.uid ?? "");
      st.updateStatus = true;
    }
  }
}
