/**
 * The exponential back-off between a Job's pod failures and the creation of replacements
 * (pkg/controller/job/backoff_utils.go): per Job, the failures since the last success and the time
 * of the last one; replacements wait base * 2^(failures-1), at most max, after that failure.
 */
import type { Pod } from "@skiff/api";
import { getPodReadyCondition } from "../util/pod.js";
import { parseTime } from "../util/time.js";
import { containerStatuses } from "./pods.js";

/** backoffRecord. */
export interface BackoffRecord {
  key: string;
  failuresAfterLastSuccess: number;
  /** Milliseconds since the epoch; undefined when there was no failure since the last success. */
  lastFailureTime: number | undefined;
}

/**
 * getFinishedTime: the latest container finish when every container has terminated; else when
 * the pod turned Ready=False; else its deletion time minus the grace period; else its creation.
 */
export function getFinishedTime(p: Pod): number {
  const statuses = containerStatuses(p);
  let fromContainers: number | undefined;
  let allTerminated = statuses.length > 0;
  for (const s of statuses) {
    const at = parseTime(s.state?.terminated?.finishedAt);
    if (at === undefined) {
      allTerminated = false;
      break;
    }
    if (fromContainers === undefined || at > fromContainers) fromContainers = at;
  }
  if (allTerminated && fromContainers !== undefined) return fromContainers;
  const ready = getPodReadyCondition(p);
  const readyFalse = ready?.status === "False" ? parseTime(ready.lastTransitionTime) : undefined;
  if (readyFalse !== undefined) return readyFalse;
  const deleted = parseTime(p.metadata.deletionTimestamp);
  if (deleted !== undefined) return deleted - 1000 * (p.metadata.deletionGracePeriodSeconds ?? 0);
  return parseTime(p.metadata.creationTimestamp) ?? 0;
}

const byFinishedTime = (pods: readonly Pod[]): Pod[] =>
  [...pods].sort((a, b) => getFinishedTime(a) - getFinishedTime(b));

/** backoffStore: the records of the Jobs with recent failures, by Job key. */
export class BackoffStore {
  private readonly records = new Map<string, BackoffRecord>();

  get(key: string): BackoffRecord | undefined {
    return this.records.get(key);
  }

  /** updateBackoffRecord: called once the Job status carrying the new pods is written. */
  update(record: BackoffRecord): void {
    this.records.set(record.key, { ...record });
  }

  remove(key: string): void {
    this.records.delete(key);
  }

  /**
   * newBackoffRecord: the record after these newly finished pods. A success resets the count;
   * failures after the latest success count (and the latest of them is the last failure).
   */
  newBackoffRecord(key: string, newSucceeded: readonly Pod[], newFailed: readonly Pod[]): BackoffRecord {
    const old = this.records.get(key);
    const record: BackoffRecord = {
      key,
      failuresAfterLastSuccess: old?.failuresAfterLastSuccess ?? 0,
      lastFailureTime: old?.lastFailureTime,
    };
    const succeeded = byFinishedTime(newSucceeded);
    const failed = byFinishedTime(newFailed);
    if (succeeded.length === 0) {
      if (failed.length === 0) return record;
      record.failuresAfterLastSuccess += failed.length;
      record.lastFailureTime = getFinishedTime(failed[failed.length - 1] as Pod);
      return record;
    }
    record.failuresAfterLastSuccess = 0;
    record.lastFailureTime = undefined;
    const lastSuccess = getFinishedTime(succeeded[succeeded.length - 1] as Pod);
    for (let i = failed.length - 1; i >= 0; i--) {
      const at = getFinishedTime(failed[i] as Pod);
      if (at <= lastSuccess) break;
      record.lastFailureTime ??= at;
      record.failuresAfterLastSuccess++;
    }
    return record;
  }
}

/**
 * getRemainingTimeForFailuresCount: how long until a replacement may be created after `failures`
 * consecutive failures, the last at `lastFailureTime`.
 */
export function remainingBackoff(
  now: number,
  baseMs: number,
  maxMs: number,
  failures: number,
  lastFailureTime: number | undefined,
): number {
  if (failures === 0 || lastFailureTime === undefined) return 0;
  let backoff = baseMs;
  for (let i = 1; i < failures; i++) {
    backoff *= 2;
    if (backoff >= maxMs) {
      backoff = maxMs;
      break;
    }
  }
  const elapsed = now - lastFailureTime;
  return backoff < elapsed ? 0 : backoff - elapsed;
}
