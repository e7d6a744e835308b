/**
 * PriorityQueue's options and defaults (kube's priorityQueueOptions and the
 * KubeSchedulerConfiguration fields behind them).
 */
import type { Pod } from "@skiff/api";
import type { Registry } from "prom-client";
import type { ClusterEventWithHint, PreEnqueuePlugin } from "../framework/interface.js";
import type { QueuedPodInfo } from "../framework/pod-info.js";
import type { Clock } from "./clock.js";
import type { NamespaceLabels } from "./cross-topology.js";
import type { PodLookup } from "./nominator.js";

export const DEFAULT_POD_INITIAL_BACKOFF_SECONDS = 1;
export const DEFAULT_POD_MAX_BACKOFF_SECONDS = 10;
export const DEFAULT_POD_MAX_IN_UNSCHEDULABLE_PODS_DURATION_MS = 5 * 60_000;
/** kube's Run(): flushBackoffQCompleted every second, flushUnschedulablePodsLeftover every 30 s. */
export const BACKOFF_FLUSH_INTERVAL_MS = 1_000;
export const UNSCHEDULABLE_FLUSH_INTERVAL_MS = 30_000;
export const DEFAULT_MAX_IN_FLIGHT_EVENTS = 10_000;

/** kube's PreEnqueueCheck: a filter on the pods an event may move. */
export type PreEnqueueCheck = (pod: Pod) => boolean;

export type LessFunc = (a: QueuedPodInfo, b: QueuedPodInfo) => boolean;

export interface PriorityQueueOptions {
  /** The profile's QueueSort plugin's less (PrioritySort: higher priority, then older timestamp). */
  less: LessFunc;
  clock?: Clock;
  /** KubeSchedulerConfiguration's podInitialBackoffSeconds (1) and podMaxBackoffSeconds (10). */
  podInitialBackoffSeconds?: number;
  podMaxBackoffSeconds?: number;
  /** kube's --pod-max-in-unschedulable-pods-duration (5 min). */
  podMaxInUnschedulablePodsDurationMs?: number;
  /** The profile's PreEnqueue plugins, in order; run whenever a pod would enter the activeQ. */
  preEnqueuePlugins?: readonly PreEnqueuePlugin[];
  /** Plugin name -> its eventsToRegister(); see ClusterEventMap for plugins absent from it. */
  clusterEventMap?: ReadonlyMap<string, readonly ClusterEventWithHint[]>;
  /** Where scheduler_pending_pods and scheduler_queue_incoming_pods_total are registered. */
  registry?: Registry;
  /** The informer's pods, so that the nominator skips pods that are gone or bound. */
  podLookup?: PodLookup;
  /** Namespace labels, for affinity terms' namespaceSelector in assignedPodAdded. */
  namespaceLabels?: NamespaceLabels;
  /** Bound on the events kept for in-flight pods. */
  maxInFlightEvents?: number;
}
