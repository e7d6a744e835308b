/**
 * The NoExecute side of the node lifecycle controller (node_lifecycle_controller.go's
 * processTaintBaseEviction, markNodeForTainting, markNodeAsReachable and
 * doNoExecuteTaintingPass): a node seen not Ready goes to its zone's rate-limited queue, and the
 * tainting pass gives it the NoExecute taint matching its Ready status (not-ready for False,
 * unreachable for Unknown, never both) as fast as the zone's rate allows. The taints are added
 * through a queue, rather than pods evicted directly, because the taint eviction controller
 * evicts by taints without a rate of its own: limiting the taints limits the evictions.
 */
import type { Node, NodeCondition, Taint } from "@skiff/api";
import type { ClientInterface, Clock, Lister } from "@skiff/client";
import type { Logger } from "@skiff/component-base";
import { messageOf } from "../util/pod-control.js";
import { taintExists } from "../util/taints.js";
import type { ZoneTainters } from "./disruption.js";
import type { NodeLifecycleMetrics } from "./metrics.js";
import { getNodeCondition } from "./node-health.js";
import { removeTaintOffNode, swapNodeControllerTaint } from "./node-updates.js";
import { NotReadyTaintTemplate, UnreachableTaintTemplate } from "./taint-templates.js";
import { getZoneKey, zoneLabel } from "./zone.js";

export interface NoExecuteTainterDeps {
  client: ClientInterface;
  clock: Clock;
  log: Logger;
  nodes: Lister<Node>;
  zones: ZoneTainters;
  metrics: NodeLifecycleMetrics;
}

export class NoExecuteTainter {
  constructor(private readonly d: NoExecuteTainterDeps) {}

  /** One pass of doNoExecuteTaintingPass: each zone's due nodes, as fast as its limiter allows. */
  async doNoExecuteTaintingPass(): Promise<void> {
    for (const zone of this.d.zones.zones()) {
      await this.d.zones.tainter(zone).tryProcess(async (v) => {
        const node = this.d.nodes.get(v.value);
        if (node === undefined) {
          this.d.log.info({ node: v.value }, "Node no longer present in nodeLister");
          return { done: true };
        }
        const ready = getNodeCondition(node.status, "Ready");
        if (ready === undefined) return { done: false, waitMs: 50 };
        const pair = taintsFor(ready.status);
        // Ready again meanwhile: nothing to taint.
        if (pair === undefined) return { done: true };
        try {
          await swapNodeControllerTaint(this.d.client, node, [pair.add], [pair.opposite], this.d.clock.now());
        } catch (e) {
          this.d.log.warn(
            { node: node.metadata.name, err: messageOf(e) },
            "unable to taint unresponsive Node",
          );
          return { done: false, waitMs: 0 };
        }
        this.d.metrics.evictionsTotal.inc({ zone: zoneLabel(getZoneKey(node)) });
        return { done: true };
      });
    }
  }

  /**
   * processTaintBaseEviction, from the Ready condition as observed before this pass: not Ready
   * goes to the queue (or, carrying the opposite taint, swaps it at once); Ready clears both.
   */
  async processTaintBaseEviction(node: Node, observed: NodeCondition): Promise<void> {
    const name = node.metadata.name;
    const pair = taintsFor(observed.status);
    if (pair === undefined) {
      if (observed.status === "True" && (await this.markNodeAsReachable(node)))
        this.d.log.debug({ node: name }, "Node is healthy again, removed all taints");
      return;
    }
    if (taintExists(node.spec?.taints, pair.opposite)) {
      try {
        await swapNodeControllerTaint(this.d.client, node, [pair.add], [pair.opposite], this.d.clock.now());
      } catch (e) {
        this.d.log.warn(
          { node: name, err: messageOf(e) },
          "Failed to instantly swap taints. Will try again in the next cycle",
        );
      }
    } else if (this.markNodeForTainting(node, pair.add)) {
      this.d.log.debug(
        { node: name, taint: pair.add.key },
        "Node is not ready. Adding it to the Taint queue",
      );
    }
  }

  /** markNodeForTainting: (re)queues the node, anew unless it already carries the taint. */
  markNodeForTainting(node: Node, taint: Taint): boolean {
    const q = this.d.zones.tainter(getZoneKey(node));
    if (!taintExists(node.spec?.taints, taint)) q.remove(node.metadata.name);
    return q.add(node.metadata.name, node.metadata.uid ?? "");
  }

  /** markNodeAsReachable: both NoExecute taints off, the node out of its zone's queue. */
  async markNodeAsReachable(node: Node): Promise<boolean> {
    try {
      await removeTaintOffNode(this.d.client, node, [UnreachableTaintTemplate, NotReadyTaintTemplate]);
    } catch (e) {
      this.d.log.warn({ node: node.metadata.name, err: messageOf(e) }, "Failed to remove taints from node");
      return false;
    }
    return this.d.zones.tainter(getZoneKey(node)).remove(node.metadata.name);
  }
}

/** The NoExecute taint a Ready status calls for and its opposite; none for True. */
function taintsFor(status: string): { add: Taint; opposite: Taint } | undefined {
  if (status === "False") return { add: NotReadyTaintTemplate, opposite: UnreachableTaintTemplate };
  if (status === "Unknown") return { add: UnreachableTaintTemplate, opposite: NotReadyTaintTemplate };
  return undefined;
}
