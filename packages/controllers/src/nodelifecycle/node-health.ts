/**
 * What the node lifecycle controller remembers of each node's health (kube's nodeHealthData in
 * nodeHealthMap) and the first half of tryUpdateNodeHealth: given the node, the last observation
 * and the node's Lease, when was the node last heard from. Times are the controller's own clock
 * at which it saw a heartbeat change (probeTimestamp), never the times the kubelet wrote, so a
 * skewed node clock cannot make a node look alive or dead.
 */
import type { Lease, Node, NodeCondition, NodeStatus } from "@skiff/api";
import { metav1Time } from "@skiff/api";
import type { ClientInterface, Clock } from "@skiff/client";

export interface NodeHealthData {
  /** When (controller clock, ms) a new heartbeat of the node was last seen: status or Lease. */
  probeTimestamp: number;
  /** When the Ready condition was last seen to change. */
  readyTransitionTimestamp: number;
  /** The node status as last observed. */
  status: NodeStatus | undefined;
  /** The node Lease as last observed. */
  lease: Lease | undefined;
}

/** The node condition of this type, if any (GetNodeCondition). */
export function getNodeCondition(status: NodeStatus | undefined, type: string): NodeCondition | undefined {
  return status?.conditions?.find((c) => c.type === type);
}

/** A metav1.MicroTime (or Time) in microseconds since the epoch; undefined when absent. */
export function microsOf(t: string | null | undefined): number | undefined {
  if (typeof t !== "string" || t === "") return undefined;
  const ms = Date.parse(t);
  if (Number.isNaN(ms)) return undefined;
  const frac = /\.(\d+)/.exec(t)?.[1] ?? "";
  return Math.floor(ms / 1000) * 1_000_000 + Number(frac.padEnd(6, "0").slice(0, 6));
}

export interface HealthObservation {
  /** The grace period the node is entitled to: startup grace until it first posts Ready. */
  gracePeriodMs: number;
  /** The Ready condition as the node has it (a fake Unknown one if it never posted one). */
  observedReadyCondition: NodeCondition;
  /** The Ready condition of the node object, if any. */
  currentReadyCondition: NodeCondition | undefined;
  health: NodeHealthData;
  /** The node Lease seen now, if any. */
  observedLease: Lease | undefined;
}

/**
 * tryUpdateNodeHealth up to the grace check: a new heartbeat (a Ready condition with another
 * lastHeartbeatTime, or a Lease renewed later than the one last seen) moves probeTimestamp to
 * now; a Ready condition with another lastTransitionTime moves readyTransitionTimestamp too.
 */
export function observeNodeHealth(
  node: Node,
  saved: NodeHealthData | undefined,
  lease: Lease | undefined,
  now: number,
  grace: { monitorMs: number; startupMs: number },
): HealthObservation {
  const created = Date.parse(node.metadata.creationTimestamp ?? "");
  const createdAt = Number.isNaN(created) ? now : created;
  const current = getNodeCondition(node.status, "Ready");
  let health = saved === undefined ? undefined : { ...saved };
  let observed: NodeCondition;
  let gracePeriodMs: number;
  if (current === undefined) {
    // The kubelet never posted a status: treat it as Unknown since the node was created.
    const since = metav1Time(new Date(createdAt));
    observed = { type: "Ready", status: "Unknown", lastHeartbeatTime: since, lastTransitionTime: since };
    gracePeriodMs = grace.startupMs;
    if (health !== undefined) health.status = node.status;
    else
      health = {
        status: node.status,
        probeTimestamp: createdAt,
        readyTransitionTimestamp: createdAt,
        lease: undefined,
      };
  } else {
    observed = { ...current };
    gracePeriodMs = grace.monitorMs;
  }
  const savedCondition = getNodeCondition(health?.status, "Ready");
  const fresh = (): NodeHealthData => ({
    status: node.status,
    probeTimestamp: now,
    readyTransitionTimestamp: now,
    lease: undefined,
  });
  if (health === undefined) {
    health = fresh();
  } else if (savedCondition === undefined && current !== undefined) {
    // First Ready condition seen (e.g. after a restart of the controller).
    health = fresh();
  } else if (savedCondition !== undefined && current === undefined) {
    // The Ready condition was removed: an error, handled as kube does, as a fresh start.
    health = fresh();
  } else if (
    savedCondition !== undefined &&
    current !== undefined &&
    savedCondition.lastHeartbeatTime !== current.lastHeartbeatTime
  ) {
    const transitioned = savedCondition.lastTransitionTime !== current.lastTransitionTime;
    health = {
      status: node.status,
      probeTimestamp: now,
      readyTransitionTimestamp: transitioned ? now : health.readyTransitionTimestamp,
      lease: health.lease,
    };
  }
  // A renewed Lease is a heartbeat too, whatever the status says.
  const savedRenew = microsOf(health.lease?.spec?.renewTime);
  const observedRenew = microsOf(lease?.spec?.renewTime);
  if (
    lease !== undefined &&
    (health.lease === undefined ||
      (savedRenew !== undefined && observedRenew !== undefined && savedRenew < observedRenew))
  ) {
    health.lease = lease;
    health.probeTimestamp = now;
  }
  return {
    gracePeriodMs,
    observedReadyCondition: observed,
    currentReadyCondition: current,
    health,
    observedLease: lease,
  };
}

/** The conditions the controller sets Unknown when a node falls silent (NetworkUnavailable is not its). */
export const NODE_CONDITIONS_SET_UNKNOWN = [
  "Ready",
  "MemoryPressure",
  "DiskPressure",
  "PIDPressure",
] as const;

/**
 * The second half: the node's conditions set Unknown in place (NodeStatusUnknown "Kubelet
 * stopped posting node status.", or NodeStatusNeverUpdated for a condition never posted).
 */
export function setConditionsUnknown(node: Node, now: number): void {
  const at = metav1Time(new Date(now));
  node.status ??= {};
  node.status.conditions ??= [];
  for (const type of NODE_CONDITIONS_SET_UNKNOWN) {
    const c = node.status.conditions.find((x) => x.type === type);
    if (c === undefined) {
      node.status.conditions.push({
        type,
        status: "Unknown",
        reason: "NodeStatusNeverUpdated",
        message: "Kubelet never posted node status.",
        ...(node.metadata.creationTimestamp === undefined
          ? {}
          : { lastHeartbeatTime: node.metadata.creationTimestamp }),
        lastTransitionTime: at,
      });
    } else if (c.status !== "Unknown") {
      c.status = "Unknown";
      c.reason = "NodeStatusUnknown";
      c.message = "Kubelet stopped posting node status.";
      c.lastTransitionTime = at;
    }
  }
}

/** apiequality.Semantic.DeepEqual of two conditions (field by field; absent equals empty). */
export function sameCondition(a: NodeCondition | undefined, b: NodeCondition | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return (
    a.type === b.type &&
    a.status === b.status &&
    (a.reason ?? "") === (b.reason ?? "") &&
    (a.message ?? "") === (b.message ?? "") &&
    (a.lastHeartbeatTime ?? "") === (b.lastHeartbeatTime ?? "") &&
    (a.lastTransitionTime ?? "") === (b.lastTransitionTime ?? "")
  );
}

/** The Ready condition before and after a health check. */
export interface ReadyConditions {
  observed: NodeCondition;
  current: NodeCondition | undefined;
}

export interface TryUpdateDeps {
  client: ClientInterface;
  clock: Clock;
  healthMap: Map<string, NodeHealthData>;
  grace: { monitorMs: number; startupMs: number };
}

/**
 * tryUpdateNodeHealth: the node's Ready condition as observed and as it is now. A node silent
 * past its grace period gets its conditions set Unknown, written with an update of the status
 * (from `node`, which is changed: a conflict throws and the caller retries on a fresh read).
 * The observation is remembered either way.
 */
export async function tryUpdateNodeHealth(
  d: TryUpdateDeps,
  node: Node,
  lease: Lease | undefined,
): Promise<ReadyConditions> {
  const name = node.metadata.name;
  const now = d.clock.now();
  const o = observeNodeHealth(node, d.healthMap.get(name), lease, now, d.grace);
  let health = o.health;
  try {
    if (now <= health.probeTimestamp + o.gracePeriodMs)
      return { observed: o.observedReadyCondition, current: o.currentReadyCondition };
    setConditionsUnknown(node, now);
    const current = getNodeCondition(node.status, "Ready");
    if (!sameCondition(current, o.observedReadyCondition)) {
      await d.client.resource<Node>("v1", "nodes").updateStatus(node);
      health = {
        status: node.status,
        probeTimestamp: health.probeTimestamp,
        readyTransitionTimestamp: d.clock.now(),
        lease: o.observedLease,
      };
    }
    return { observed: o.observedReadyCondition, current };
  } finally {
    d.healthMap.set(name, health);
  }
}
