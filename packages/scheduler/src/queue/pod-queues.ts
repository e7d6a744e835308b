/**
 * The three places a pending pod can be (activeQ, backoffQ, unschedulablePods) and the moves
 * between them, as kube's PriorityQueue makes them (moveToActiveQ, moveToBackoffQ,
 * requeuePodWithQueueingStrategy, runPreEnqueuePlugins). PriorityQueue decides when a pod moves;
 * this decides where it lands, with the PreEnqueue plugins and the metrics on the way.
 * Invariant: a pod (by key) is in at most one of the three, and not in them while in flight.
 */
import type { Pod } from "@skiff/api";
import type { Registry } from "prom-client";
import type { PreEnqueuePlugin } from "../framework/interface.js";
import { PodInfo, type QueuedPodInfo } from "../framework/pod-info.js";
import { isSuccess, Status } from "../framework/status.js";
import { ActiveQueue } from "./active-queue.js";
import { BackoffQueue } from "./backoff-queue.js";
import type { Clock } from "./clock.js";
import { PodAdd, PodUpdate } from "./events.js";
import { queuedPodKey } from "./keys.js";
import { type PendingCounts, QueueMetrics } from "./metrics.js";
import type { Nominator } from "./nominator.js";
import { QueueingStrategy } from "./queueing-hint.js";
import { UnschedulablePods } from "./unschedulable-pods.js";

/** Where a pod is, for tests and debugging (kube's GetPod / PendingPods). */
export type QueueLocation = "active" | "backoff" | "unschedulable" | "gated" | "inFlight";

export type Requeued = "active" | "backoff" | "unschedulable";

export interface PodQueuesConfig {
  less: (a: QueuedPodInfo, b: QueuedPodInfo) => boolean;
  clock: Clock;
  podInitialBackoffMs: number;
  podMaxBackoffMs: number;
  maxInFlightEvents: number;
  preEnqueuePlugins: readonly PreEnqueuePlugin[];
  registry: Registry | undefined;
  nominator: Nominator;
}

export class PodQueues {
  readonly activeQ: ActiveQueue;
  readonly backoffQ: BackoffQueue;
  readonly unschedulablePods = new UnschedulablePods();
  private readonly clock: Clock;
  private readonly preEnqueuePlugins: readonly PreEnqueuePlugin[];
  private readonly nominator: Nominator;
  private readonly metrics: QueueMetrics;
  /** Pod key -> the PreEnqueue plugin gating it (kube's GatingPlugin). Only for pods with gated set. */
  private readonly gatingPlugins = new Map<string, string>();

  constructor(c: PodQueuesConfig) {
    this.clock = c.clock;
    this.activeQ = new ActiveQueue(c.less, c.maxInFlightEvents);
    this.backoffQ = new BackoffQueue(c.clock, c.podInitialBackoffMs, c.podMaxBackoffMs);
    this.preEnqueuePlugins = c.preEnqueuePlugins;
    this.nominator = c.nominator;
    this.metrics = new QueueMetrics(c.registry, () => this.pendingCounts());
  }

  newQueuedPodInfo(pod: Pod, pi = new PodInfo(pod)): QueuedPodInfo {
    return {
      podInfo: pi,
      timestamp: this.clock.now(),
      initialAttemptTimestamp: undefined,
      attempts: 0,
      unschedulablePlugins: new Set(),
      pendingPlugins: new Set(),
      gated: false,
    };
  }

  /** kube's requeuePodWithQueueingStrategy; returns where the pod went. */
  requeue(qpi: QueuedPodInfo, strategy: QueueingStrategy, event: string): Requeued {
    if (strategy === QueueingStrategy.QueueSkip) {
      this.addToUnschedulable(qpi, event);
      return "unschedulable";
    }
    if (strategy === QueueingStrategy.QueueAfterBackoff && this.backoffQ.isPodBackingoff(qpi)) {
      this.moveToBackoffQ(qpi, event);
      return "backoff";
    }
    return this.moveToActiveQ(qpi, event) ? "active" : "unschedulable";
  }

  /**
   * kube's moveToActiveQ: runs the PreEnqueue plugins first; a gated pod goes to (or stays in)
   * unschedulablePods. Returns whether the pod entered the activeQ (the caller broadcasts).
   */
  moveToActiveQ(qpi: QueuedPodInfo, event: string): boolean {
    const key = queuedPodKey(qpi);
    this.runPreEnqueuePlugins(qpi);
    if (qpi.gated) {
      if (!this.activeQ.has(key) && !this.backoffQ.has(key) && !this.unschedulablePods.has(key))
        this.addToUnschedulable(qpi, event);
      return false;
    }
    qpi.initialAttemptTimestamp ??= this.clock.now();
    this.unschedulablePods.delete(key);
    this.backoffQ.delete(key);
    this.activeQ.add(qpi);
    this.metrics.podIncoming("active", event);
    // A pod seen for the first time may carry a nomination from a previous scheduler.
    if (event === PodAdd || event === PodUpdate) this.nominator.addNominatedPod(qpi.podInfo);
    return true;
  }

  moveToBackoffQ(qpi: QueuedPodInfo, event: string): void {
    this.unschedulablePods.delete(queuedPodKey(qpi));
    this.backoffQ.add(qpi);
    this.metrics.podIncoming("backoff", event);
  }

  private addToUnschedulable(qpi: QueuedPodInfo, event: string): void {
    if (this.unschedulablePods.addOrUpdate(qpi)) this.metrics.podIncoming("unschedulable", event);
  }

  /** kube's runPreEnqueuePlugins: the first plugin that does not say Success gates the pod. */
  private runPreEnqueuePlugins(qpi: QueuedPodInfo): void {
    const key = queuedPodKey(qpi);
    for (const pl of this.preEnqueuePlugins) {
      let s: Status | undefined;
      try {
        s = pl.preEnqueue(qpi.podInfo.pod);
      } catch (e) {
        s = Status.error(e);
      }
      if (isSuccess(s)) continue;
      qpi.unschedulablePlugins.add(pl.name);
      qpi.gated = true;
      this.gatingPlugins.set(key, pl.name);
      return;
    }
    qpi.gated = false;
    this.gatingPlugins.delete(key);
  }

  gatingPlugin(key: string): string | undefined {
    return this.gatingPlugins.get(key);
  }

  /** Removes the pod from all three; returns whether it was in one. */
  delete(key: string): boolean {
    this.gatingPlugins.delete(key);
    return (
      this.activeQ.delete(key) !== undefined ||
      this.backoffQ.delete(key) !== undefined ||
      this.unschedulablePods.delete(key)
    );
  }

  /** The queued pod info (not for in-flight pods: the scheduler holds those). */
  get(key: string): QueuedPodInfo | undefined {
    return this.activeQ.get(key) ?? this.backoffQ.get(key) ?? this.unschedulablePods.get(key);
  }

  locate(key: string): QueueLocation | undefined {
    if (this.activeQ.has(key)) return "active";
    if (this.backoffQ.has(key)) return "backoff";
    const u = this.unschedulablePods.get(key);
    if (u !== undefined) return u.gated ? "gated" : "unschedulable";
    return this.activeQ.isInFlight(key) ? "inFlight" : undefined;
  }

  /** The latest object of a pod queued or in flight. */
  knownPod(key: string): Pod | undefined {
    return this.get(key)?.podInfo.pod ?? this.activeQ.inFlightPod(key);
  }

  pendingCounts(): PendingCounts {
    return { active: this.activeQ.length, backoff: this.backoffQ.length, ...this.unschedulablePods.counts() };
  }
}
