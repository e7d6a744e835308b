/**
 * Whether a cluster event may make a rejected pod schedulable (kube's isPodWorthRequeuing with
 * QueueingHints, 1.32): only the plugins that rejected the pod are asked, through the events they
 * registered (EnqueueExtensions.eventsToRegister) and their queueing hint functions.
 */
import { ActionType, type ClusterEvent, type ClusterEventWithHint } from "../framework/interface.js";
import type { QueuedPodInfo } from "../framework/pod-info.js";
import type { RecordedEvent } from "./active-queue.js";
import { clusterEventIsWildCard, matchAnyClusterEvent, matchClusterEvents, targetPodUid } from "./events.js";

/** kube's queueingStrategy. */
export enum QueueingStrategy {
  /** Leave the pod in unschedulablePods. */
  QueueSkip = 0,
  /** To the backoffQ if still backing off, else the activeQ. */
  QueueAfterBackoff = 1,
  /** Straight to the activeQ (a Pending plugin said Queue). */
  QueueImmediately = 2,
}

const ALL_EVENTS: readonly ClusterEventWithHint[] = [
  { event: { resource: "*", actionType: ActionType.All } },
];

/**
 * Plugin name -> the events it registered. A plugin absent from the map is taken as registered for
 * every event, as kube's framework registers plugins that do not implement EnqueueExtensions; a
 * plugin present with an empty list waits for the leftover flush only.
 */
export class ClusterEventMap {
  private readonly byPlugin: ReadonlyMap<string, readonly ClusterEventWithHint[]>;

  constructor(byPlugin: ReadonlyMap<string, readonly ClusterEventWithHint[]> = new Map()) {
    this.byPlugin = byPlugin;
  }

  registrations(plugin: string): readonly ClusterEventWithHint[] {
    return this.byPlugin.get(plugin) ?? ALL_EVENTS;
  }

  events(plugin: string): ClusterEvent[] {
    return this.registrations(plugin).map((r) => r.event);
  }

  /** Whether an event may move a pod this plugin gates (kube's GatingPluginEvents check). */
  gatingPluginInterested(plugin: string, incoming: ClusterEvent): boolean {
    return matchAnyClusterEvent(incoming, this.events(plugin));
  }
}

/**
 * kube's isPodWorthRequeuing. A pod no plugin rejected (it failed with an error) is always worth
 * it; a wildcard event moves every pod, or only its target pod when it names one (ForceActivate).
 * Otherwise each rejecting plugin's matching registrations are asked; a hint that throws counts as
 * Queue so that a buggy hint cannot strand a pod.
 */
export function isPodWorthRequeuing(
  map: ClusterEventMap,
  qpi: QueuedPodInfo,
  e: RecordedEvent,
): QueueingStrategy {
  const rejectors = new Set([...qpi.unschedulablePlugins, ...qpi.pendingPlugins]);
  if (rejectors.size === 0) return QueueingStrategy.QueueAfterBackoff;
  if (clusterEventIsWildCard(e.event)) {
    const target = targetPodUid(e.newObj);
    if (target !== undefined && target !== qpi.podInfo.pod.metadata.uid) return QueueingStrategy.QueueSkip;
    return QueueingStrategy.QueueAfterBackoff;
  }
  let strategy = QueueingStrategy.QueueSkip;
  for (const plugin of rejectors) {
    for (const reg of map.registrations(plugin)) {
      if (!matchClusterEvents(reg.event, e.event)) continue;
      if (hint(reg, qpi, e) === "QueueSkip") continue;
      if (qpi.pendingPlugins.has(plugin)) return QueueingStrategy.QueueImmediately;
      if (qpi.pendingPlugins.size === 0) return QueueingStrategy.QueueAfterBackoff;
      strategy = QueueingStrategy.QueueAfterBackoff;
    }
  }
  return strategy;
}

function hint(reg: ClusterEventWithHint, qpi: QueuedPodInfo, e: RecordedEvent): "Queue" | "QueueSkip" {
  if (reg.queueingHintFn === undefined) return "Queue";
  try {
    return reg.queueingHintFn(qpi.podInfo.pod, e.oldObj, e.newObj);
  } catch {
    return "Queue";
  }
}

/** kube's determineSchedulingHintForInFlightPod: the strongest strategy over the events of its attempt. */
export function strategyForInFlightPod(
  map: ClusterEventMap,
  qpi: QueuedPodInfo,
  events: readonly RecordedEvent[] | undefined,
): QueueingStrategy {
  if (qpi.unschedulablePlugins.size === 0 && qpi.pendingPlugins.size === 0)
    return QueueingStrategy.QueueAfterBackoff;
  // Not tracked (Done already called) or its events were dropped: assume one mattered.
  if (events === undefined) return QueueingStrategy.QueueAfterBackoff;
  let strategy = QueueingStrategy.QueueSkip;
  for (const e of events) {
    const s = isPodWorthRequeuing(map, qpi, e);
    if (s === QueueingStrategy.QueueImmediately) return s;
    if (s === QueueingStrategy.QueueAfterBackoff) {
      strategy = s;
      if (qpi.pendingPlugins.size === 0) return s;
    }
  }
  return strategy;
}
