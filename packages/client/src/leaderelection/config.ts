/**
 * A leader elector's configuration and its checks, as client-go's LeaderElectionConfig and
 * NewLeaderElector (the error texts are client-go's).
 */
import type { Lease } from "@skiff/api";
import type { Registry } from "prom-client";
import type { KubeClient } from "../client.js";
import type { ClientLogger } from "../logging.js";
import type { ResourceClient } from "../resource.js";
import type { Clock } from "../workqueue/clock.js";

/** client-go's JitterFactor: a candidate waits retryPeriod * (1 + up to 1.2) between tries. */
export const JITTER_FACTOR = 1.2;

/** Kubernetes' defaults (kube-scheduler, kube-controller-manager). */
export const DEFAULT_LEASE_DURATION_MS = 15_000;
export const DEFAULT_RENEW_DEADLINE_MS = 10_000;
export const DEFAULT_RETRY_PERIOD_MS = 2_000;

export interface LeaderCallbacks {
  /**
   * Called once the lease is acquired. `signal` aborts as soon as leadership is lost or given
   * up (the renew deadline passed, or stop()): the work must stop then.
   */
  onStartedLeading(signal: AbortSignal): void | Promise<void>;
  /** Called once after leading ends (never if this candidate did not lead). */
  onStoppedLeading?(): void;
  /** Called when a different holder is observed (this candidate included; not for "no holder"). */
  onNewLeader?(identity: string): void;
}

/** Where an elector logs: pino's Logger fits. */
export type ElectionLogger = ClientLogger;

/** What an elector records Events with (an EventRecorder fits). */
export interface ElectionEventRecorder {
  eventf(object: Lease, eventtype: string, reason: string, messageFmt: string, ...args: unknown[]): void;
}

export interface LeaderElectionConfig {
  /** The Lease: kube-system/kube-scheduler, kube-system/kube-controller-manager, ... */
  lock: { namespace: string; name: string };
  /**
   * A KubeClient (its withoutWriteGuard() view is used: the elector's own Lease writes must go
   * on while the guard refuses the others) or a Lease resource client.
   */
  client: KubeClient | ResourceClient<Lease>;
  /** Default: hostname + "_" + a random UUID, as kube's components. */
  identity?: string;
  /** How long others wait, after seeing the lease last change, before taking it. Default 15 s. */
  leaseDurationMs?: number;
  /** How long the leader keeps leading without a successful renewal. Default 10 s. */
  renewDeadlineMs?: number;
  /** Between tries to acquire or renew. Default 2 s. */
  retryPeriodMs?: number;
  /** On stop(), give the lease up at once rather than letting it expire. */
  releaseOnCancel?: boolean;
  callbacks: LeaderCallbacks;
  clock?: Clock;
  /** In [0, 1): the jitter of the acquire retries. Default Math.random. */
  random?: () => number;
  logger?: ElectionLogger;
  /** Where leader_election_master_status goes, if anywhere. */
  registry?: Registry;
  /** The `name` label of that metric; default the lock's name. */
  name?: string;
  /** Records "<identity> became leader" on the Lease, as client-go's LeaseLock.RecordEvent. */
  eventRecorder?: ElectionEventRecorder;
}

/** NewLeaderElector's checks. */
export function validateElectionConfig(
  leaseMs: number,
  renewMs: number,
  retryMs: number,
  identity: string,
): void {
  if (leaseMs <= renewMs) throw new Error("leaseDuration must be greater than renewDeadline");
  if (renewMs <= JITTER_FACTOR * retryMs)
    throw new Error("renewDeadline must be greater than retryPeriod*JitterFactor");
  if (leaseMs < 1) throw new Error("leaseDuration must be greater than zero");
  if (renewMs < 1) throw new Error("renewDeadline must be greater than zero");
  if (retryMs < 1) throw new Error("retryPeriod must be greater than zero");
  if (identity === "") throw new Error("Lock identity is empty");
}

/** Thrown by LeaderElector.assertLeader() (e.g. from a KubeClient write guard). */
export class NotLeaderError extends Error {
  override readonly name = "NotLeaderError";
}
