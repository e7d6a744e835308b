/**
 * What the parts of one Job sync (manageJob, the status tracking) need from the controller: the
 * client, the clock, the event recorder and pod control, the expectations, the back-off store,
 * the configuration, and a way to come back to a Job later.
 */
import type { ClientInterface, Clock, EventRecorder } from "@skiff/client";
import type { ControllerManagerConfig } from "../config.js";
import type { ControllerExpectations } from "../util/expectations.js";
import type { PodControl } from "../util/pod-control.js";
import type { BackoffStore } from "./backoff.js";
import type { FinalizerExpectations } from "./tracking.js";
import type { Job } from "./types.js";

export interface JobDeps {
  readonly client: ClientInterface;
  readonly clock: Clock;
  readonly recorder: EventRecorder;
  readonly podControl: PodControl;
  readonly expectations: ControllerExpectations;
  readonly finalizerExpectations: FinalizerExpectations;
  readonly backoffStore: BackoffStore;
  readonly config: ControllerManagerConfig;
  /** enqueueSyncJobWithDelay: a sync after `ms` (at least the batch period). */
  enqueueSyncJobWithDelay(job: Job, ms: number): void;
}

/** MaxPodCreateDeletePerSync and MaxUncountedPods of kube's job controller. */
export const MAX_POD_CREATE_DELETE_PER_SYNC = 500;
export const MAX_UNCOUNTED_PODS = 500;
