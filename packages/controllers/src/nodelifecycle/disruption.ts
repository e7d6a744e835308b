/**
 * Zones and how fast their nodes are tainted for eviction (kube's zoneStates,
 * zoneNoExecuteTainter, handleDisruption and setLimiterInZone in node_lifecycle_controller.go).
 * Each zone has its own rate-limited queue of nodes to taint NoExecute. A zone where no node is
 * Ready is in FullDisruption; one where many are not is in PartialDisruption. The rate follows:
 * Normal --node-eviction-rate; PartialDisruption --secondary-node-eviction-rate for a zone of
 * more than --large-cluster-size-threshold nodes, else none; FullDisruption the normal rate,
 * unless every zone is fully disrupted: then the problem is more likely the control plane's own
 * network than the nodes, so every taint is taken off and tainting stops until a node is back.
 */
import type { Node, NodeCondition } from "@skiff/api";
import type { Clock } from "@skiff/client";
import type { Logger } from "@skiff/component-base";
import type { NodeLifecycleMetrics } from "./metrics.js";
import { RateLimitedTimedQueue } from "./rate-limited-queue.js";
import { computeZoneState, getZoneKey, type ZoneState, zoneLabel } from "./zone.js";

export interface DisruptionOptions {
  evictionLimiterQPS: number;
  secondaryEvictionLimiterQPS: number;
  largeClusterThreshold: number;
  unhealthyZoneThreshold: number;
}

/** What handleDisruption asks of the controller. */
export interface DisruptionHooks {
  /** Takes the NoExecute taints off a node and out of its zone's queue. */
  markNodeAsReachable(node: Node): Promise<void>;
  /** Every node's health probe and ready transition set to now (leaving full disruption). */
  resetProbeTimestamps(nodes: readonly Node[], now: number): void;
}

export class ZoneTainters {
  readonly zoneStates = new Map<string, ZoneState>();
  private readonly tainters = new Map<string, RateLimitedTimedQueue>();

  constructor(
    private readonly o: DisruptionOptions,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly metrics: NodeLifecycleMetrics,
  ) {}

  /** The zones with a queue (a zone's queue is never removed, as kube's). */
  zones(): string[] {
    return [...this.tainters.keys()];
  }

  /** The queue of the zone (made at the normal rate if addPodEvictorForNewZone has not seen it). */
  tainter(zone: string): RateLimitedTimedQueue {
    let q = this.tainters.get(zone);
    if (q === undefined) {
      q = new RateLimitedTimedQueue(this.o.evictionLimiterQPS, this.clock);
      this.tainters.set(zone, q);
    }
    return q;
  }

  /** addPodEvictorForNewZone: a queue at the normal rate and state Initial for a zone not seen yet. */
  addPodEvictorForNewZone(node: Node): void {
    const zone = getZoneKey(node);
    if (this.zoneStates.has(zone)) return;
    this.zoneStates.set(zone, "Initial");
    this.tainter(zone);
    this.log.info({ zone: zoneLabel(zone) }, "Initializing eviction metric for zone");
    this.metrics.evictionsTotal.inc({ zone: zoneLabel(zone) }, 0);
  }

  /** HealthyQPSFunc: the normal rate. */
  healthyQPS(_nodeNum: number): number {
    return this.o.evictionLimiterQPS;
  }

  /** ReducedQPSFunc: the secondary rate for a large zone, none for a small one. */
  reducedQPS(nodeNum: number): number {
    return nodeNum > this.o.largeClusterThreshold ? this.o.secondaryEvictionLimiterQPS : 0;
  }

  setLimiterInZone(zone: string, zoneSize: number, state: ZoneState): void {
    const q = this.tainter(zone);
    if (state === "Normal") q.swapLimiter(this.o.evictionLimiterQPS);
    else if (state === "PartialDisruption") q.swapLimiter(this.reducedQPS(zoneSize));
    else if (state === "FullDisruption") q.swapLimiter(this.healthyQPS(zoneSize));
  }

  /** handleDisruption: new zone states from this pass's Ready conditions, and the rates they set. */
  async handleDisruption(
    zoneToNodeConditions: ReadonlyMap<string, readonly (NodeCondition | undefined)[]>,
    nodes: readonly Node[],
    hooks: DisruptionHooks,
  ): Promise<void> {
    const newZoneStates = new Map<string, ZoneState>();
    let allAreFullyDisrupted = true;
    for (const [zone, conditions] of zoneToNodeConditions) {
      const { unhealthy, state } = computeZoneState(conditions, this.o.unhealthyZoneThreshold);
      const label = { zone: zoneLabel(zone) };
      this.metrics.zoneSize.set(label, conditions.length);
      this.metrics.zoneHealth.set(label, (100 * (conditions.length - unhealthy)) / conditions.length);
      this.metrics.unhealthyNodes.set(label, unhealthy);
      if (state !== "FullDisruption") allAreFullyDisrupted = false;
      newZoneStates.set(zone, state);
      if (!this.zoneStates.has(zone)) {
        this.log.warn({ zone: zoneLabel(zone) }, "Setting initial state for unseen zone");
        this.zoneStates.set(zone, "Initial");
      }
    }
    let allWasFullyDisrupted = true;
    for (const [zone, state] of [...this.zoneStates]) {
      if (!zoneToNodeConditions.has(zone)) {
        const label = { zone: zoneLabel(zone) };
        this.metrics.zoneSize.set(label, 0);
        this.metrics.zoneHealth.set(label, 100);
        this.metrics.unhealthyNodes.set(label, 0);
        this.zoneStates.delete(zone);
        continue;
      }
      if (state !== "FullDisruption") {
        allWasFullyDisrupted = false;
        break;
      }
    }
    if (allAreFullyDisrupted && allWasFullyDisrupted) return;
    const sizeOf = (zone: string) => zoneToNodeConditions.get(zone)?.length ?? 0;
    if (allAreFullyDisrupted) {
      this.log.info({}, "Controller detected that all Nodes are not-Ready. Entering master disruption mode");
      for (const node of nodes) await hooks.markNodeAsReachable(node);
      for (const zone of this.zoneStates.keys()) {
        this.tainter(zone).swapLimiter(0);
        this.zoneStates.set(zone, "FullDisruption");
      }
      return;
    }
    if (allWasFullyDisrupted) {
      this.log.info({}, "Controller detected that some Nodes are Ready. Exiting master disruption mode");
      hooks.resetProbeTimestamps(nodes, this.clock.now());
      for (const zone of this.zoneStates.keys()) {
        const state = newZoneStates.get(zone) ?? "Normal";
        this.setLimiterInZone(zone, sizeOf(zone), state);
        this.zoneStates.set(zone, state);
      }
      return;
    }
    for (const [zone, state] of this.zoneStates) {
      const next = newZoneStates.get(zone);
      if (next === undefined || next === state) continue;
      this.log.info(
        { zone: zoneLabel(zone), newState: next },
        "Controller detected that zone is now in new state",
      );
      this.setLimiterInZone(zone, sizeOf(zone), next);
      this.zoneStates.set(zone, next);
    }
  }
}
