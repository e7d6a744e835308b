/**
 * kube's node lifecycle controller (pkg/controller/nodelifecycle, kube 1.32): it watches node
 * heartbeats (the node's Lease in kube-node-lease and its status) and, every
 * --node-monitor-period, monitorNodeHealth: a node not heard from for --node-monitor-grace-period
 * (--node-startup-grace-period before it first posted Ready) has its Ready and pressure
 * conditions set Unknown, its pods marked not Ready, and goes to its zone's rate-limited queue,
 * from which doNoExecuteTaintingPass (every 100 ms) gives it the unreachable (or, for Ready
 * False, not-ready) NoExecute taint that the taint eviction controller evicts pods by. The node
 * queue (doNoScheduleTaintingPass) keeps the NoSchedule taints equal to the node's conditions.
 * Health probes are kept in memory on the controller's clock, as kube's nodeHealthMap.
 */
import type { Lease, Node, NodeCondition, Pod } from "@skiff/api";
import {
  cloneObject,
  type EventRecorder,
  type Informer,
  keyOf,
  NodeNameIndex,
  NodeNameIndexFunc,
  RateLimitingQueue,
} from "@skiff/client";
import type { ControllerContext } from "../context.js";
import { deletedObject, processNextWorkItem, QueueController, runWorkers } from "../controller.js";
import { recordNodeEvent, recordNodeStatusChange } from "../util/node-events.js";
import { messageOf } from "../util/pod-control.js";
import { taintSetDiff } from "../util/taints.js";
import { parallelize, until } from "../util/wait.js";
import { ZoneTainters } from "./disruption.js";
import { markPodsNotReady } from "./mark-pods.js";
import { type NodeLifecycleMetrics, nodeLifecycleMetrics } from "./metrics.js";
import { NoExecuteTainter } from "./no-execute.js";
import {
  getNodeCondition,
  type NodeHealthData,
  type ReadyConditions,
  tryUpdateNodeHealth,
} from "./node-health.js";
import { addOrUpdateLabelsOnNode, swapNodeControllerTaint } from "./node-updates.js";
import { labelsToReconcile, noScheduleTaintsFor, ownedNoScheduleTaints } from "./taint-templates.js";
import { getZoneKey, isNodeExcludedFromDisruptionChecks } from "./zone.js";

export const NODE_LIFECYCLE_CONTROLLER = "node-lifecycle-controller";
/** kube's corev1.NamespaceNodeLease. */
export const NODE_LEASE_NAMESPACE = "kube-node-lease";
/** scheduler.NodeEvictionPeriod: how often the NoExecute tainting pass drains the zone queues. */
export const NODE_EVICTION_PERIOD_MS = 100;
/** scheduler.NodeHealthUpdateRetry: tries to write a node's Unknown status, each on a fresh read. */
const NODE_HEALTH_UPDATE_RETRY = 5;
/** nodeUpdateWorkerSize and podUpdateWorkerSize (kube's constants, not flags). */
const NODE_UPDATE_WORKER_SIZE = 8;
const POD_UPDATE_WORKER_SIZE = 4;

export class NodeLifecycleController extends QueueController {
  /** Pods newly bound to a node, to mark not Ready if their node is (the pod update queue). */
  readonly podUpdateQueue: RateLimitingQueue<string>;
  /** nodeHealthMap: the last observation of each node's health. */
  readonly nodeHealthMap = new Map<string, NodeHealthData>();
  readonly zones: ZoneTainters;
  private readonly knownNodeSet = new Map<string, Node>();
  /** Nodes whose pods still need marking not Ready (a failed MarkPodsNotReady). */
  private readonly nodesToRetry = new Set<string>();
  private readonly nodes: Informer<Node>;
  private readonly pods: Informer<Pod>;
  private readonly leases: Informer<Lease>;
  private readonly recorder: EventRecorder;
  private readonly metrics: NodeLifecycleMetrics;
  readonly noExecute: NoExecuteTainter;

  constructor(ctx: ControllerContext) {
    super(NODE_LIFECYCLE_CONTROLLER, ctx, { queueName: "node_lifecycle_controller" });
    this.podUpdateQueue = new RateLimitingQueue<string>({
      name: "node_lifecycle_controller_pods",
      clock: ctx.clock,
      registry: ctx.metrics,
    });
    this.recorder = ctx.recorder("node-controller");
    this.metrics = nodeLifecycleMetrics(ctx.metrics);
    const c = ctx.config;
    this.zones = new ZoneTainters(
      {
        evictionLimiterQPS: c.nodeEvictionRate,
        secondaryEvictionLimiterQPS: c.secondaryNodeEvictionRate,
        largeClusterThreshold: c.largeClusterSizeThreshold,
        unhealthyZoneThreshold: c.unhealthyZoneThreshold,
      },
      ctx.clock,
      ctx.log,
      this.metrics,
    );
    this.nodes = ctx.informers.informerFor<Node>("v1", "nodes");
    this.pods = ctx.informers.informerFor<Pod>("v1", "pods", {
      indexers: { [NodeNameIndex]: NodeNameIndexFunc },
    });
    this.leases = ctx.informers.informerFor<Lease>("coordination.k8s.io/v1", "leases", {
      namespace: NODE_LEASE_NAMESPACE,
    });
    this.noExecute = new NoExecuteTainter({
      client: ctx.client,
      clock: ctx.clock,
      log: ctx.log,
      nodes: this.nodes.lister(),
      zones: this.zones,
      metrics: this.metrics,
    });
    this.pods.addEventHandler({
      onAdd: (pod) => this.podUpdated(undefined, pod),
      onUpdate: (old, pod) => this.podUpdated(old, pod),
    });
    this.nodes.addEventHandler({
      onAdd: (node) => this.enqueue(node),
      onUpdate: (_old, node) => this.enqueue(node),
      onDelete: (node, tombstone) => this.nodesToRetry.delete(deletedObject(node, tombstone).metadata.name),
    });
  }

  /** Node and pod workers (kube's fixed counts) and the two periodic passes, until `signal` aborts. */
  override async run(_workers: number, signal: AbortSignal): Promise<void> {
    const onError = (what: string) => (e: unknown) => this.log.warn({ err: messageOf(e) }, what);
    await Promise.all([
      super.run(NODE_UPDATE_WORKER_SIZE, signal),
      runWorkers(this.podUpdateQueue, POD_UPDATE_WORKER_SIZE, signal, () => this.processNextPodItem()),
      until(
        this.ctx.clock,
        NODE_EVICTION_PERIOD_MS,
        signal,
        () => this.noExecute.doNoExecuteTaintingPass(),
        onError("Error tainting nodes"),
      ),
      until(
        this.ctx.clock,
        this.ctx.config.nodeMonitorPeriodMs,
        signal,
        () => this.monitorNodeHealth(),
        onError("Error monitoring node health"),
      ),
    ]);
  }

  /** The node queue (doNodeProcessingPassWorker): NoSchedule taints from conditions, then labels. */
  async sync(nodeName: string): Promise<void> {
    await this.doNoScheduleTaintingPass(nodeName);
    await this.reconcileNodeLabels(nodeName);
  }

  async doNoScheduleTaintingPass(nodeName: string): Promise<void> {
    const node = this.nodes.lister().get(nodeName);
    if (node === undefined) return;
    const { toAdd, toRemove } = taintSetDiff(noScheduleTaintsFor(node), ownedNoScheduleTaints(node));
    if (toAdd.length === 0 && toRemove.length === 0) return;
    await swapNodeControllerTaint(this.ctx.client, node, toAdd, toRemove, this.ctx.clock.now());
  }

  private async reconcileNodeLabels(nodeName: string): Promise<void> {
    const node = this.nodes.lister().get(nodeName);
    if (node === undefined) return;
    const labels = labelsToReconcile(node);
    if (Object.keys(labels).length > 0) await addOrUpdateLabelsOnNode(this.ctx.client, node, labels);
  }

  /**
   * monitorNodeHealth: new and deleted nodes, each node's health (set Unknown when silent past
   * its grace period; taint queueing; pods marked not Ready), then the zones' disruption states.
   */
  async monitorNodeHealth(): Promise<void> {
    const nodes = this.nodes.lister().list();
    const names = new Set(nodes.map((n) => n.metadata.name));
    for (const node of nodes) {
      if (this.knownNodeSet.has(node.metadata.name)) {
        if (!this.zones.zoneStates.has(getZoneKey(node))) this.zones.addPodEvictorForNewZone(node);
        continue;
      }
      recordNodeEvent(
        this.recorder,
        node,
        "Normal",
        "RegisteredNode",
        `Registered Node ${node.metadata.name} in Controller`,
      );
      this.knownNodeSet.set(node.metadata.name, node);
      this.zones.addPodEvictorForNewZone(node);
      await this.noExecute.markNodeAsReachable(node);
    }
    for (const [name, node] of [...this.knownNodeSet]) {
      if (names.has(name)) continue;
      recordNodeEvent(this.recorder, node, "Normal", "RemovingNode", `Removing Node ${name} from Controller`);
      this.knownNodeSet.delete(name);
      // kube keeps the entry; dropping it keeps memory bounded as nodes come and go.
      this.nodeHealthMap.delete(name);
    }
    const zoneToNodeConditions = new Map<string, (NodeCondition | undefined)[]>();
    await parallelize(NODE_UPDATE_WORKER_SIZE, nodes, (n) => this.updateNodeHealth(n, zoneToNodeConditions));
    await this.zones.handleDisruption(zoneToNodeConditions, nodes, {
      markNodeAsReachable: (n) => this.noExecute.markNodeAsReachable(n).then(() => undefined),
      resetProbeTimestamps: (all, now) => {
        for (const n of all) {
          const h = this.nodeHealthMap.get(n.metadata.name);
          if (h !== undefined)
            this.nodeHealthMap.set(n.metadata.name, {
              ...h,
              probeTimestamp: now,
              readyTransitionTimestamp: now,
            });
        }
      },
    });
  }

  /** monitorNodeHealth's updateNodeFunc for one node. */
  private async updateNodeHealth(
    cached: Node,
    zoneToNodeConditions: Map<string, (NodeCondition | undefined)[]>,
  ): Promise<void> {
    const name = cached.metadata.name;
    let node = cloneObject(cached);
    let ready: ReadyConditions | undefined;
    for (let i = 0; i < NODE_HEALTH_UPDATE_RETRY && ready === undefined; i++) {
      try {
        ready = await this.tryUpdateNodeHealth(node);
      } catch {
        try {
          node = await this.ctx.client.resource<Node>("v1", "nodes").get(name);
        } catch (e) {
          this.log.warn(
            { node: name, err: messageOf(e) },
            "Failed while getting a Node to retry updating node health. Probably Node was deleted",
          );
          break;
        }
      }
    }
    if (ready === undefined) {
      this.log.warn(
        { node: name },
        "Update health of Node from Controller error, Skipping - no pods will be evicted",
      );
      return;
    }
    if (!isNodeExcludedFromDisruptionChecks(node)) {
      const zone = getZoneKey(node);
      const list = zoneToNodeConditions.get(zone) ?? [];
      list.push(ready.current);
      zoneToNodeConditions.set(zone, list);
    }
    if (ready.current !== undefined) {
      await this.noExecute.processTaintBaseEviction(node, ready.observed);
      const turnedNotReady = ready.current.status !== "True" && ready.observed.status === "True";
      if (turnedNotReady) recordNodeStatusChange(this.recorder, node, "NodeNotReady");
      if (turnedNotReady || (this.nodesToRetry.has(name) && ready.observed.status !== "True")) {
        try {
          const pods = this.pods.indexer.byIndex(NodeNameIndex, name);
          await markPodsNotReady(this.ctx.client, this.recorder, pods, name, this.ctx.clock.now());
        } catch (e) {
          this.log.warn(
            { node: name, err: messageOf(e) },
            "unable to mark all pods NotReady; queuing for retry",
          );
          this.nodesToRetry.add(name);
          return;
        }
      }
    }
    this.nodesToRetry.delete(name);
  }

  /** tryUpdateNodeHealth on this controller's health map, clock and grace periods. */
  tryUpdateNodeHealth(node: Node): Promise<ReadyConditions> {
    const lease = this.leases.get(`${NODE_LEASE_NAMESPACE}/${node.metadata.name}`);
    const c = this.ctx.config;
    return tryUpdateNodeHealth(
      {
        client: this.ctx.client,
        clock: this.ctx.clock,
        healthMap: this.nodeHealthMap,
        grace: { monitorMs: c.nodeMonitorGracePeriodMs, startupMs: c.nodeStartupGracePeriodMs },
      },
      node,
      lease,
    );
  }

  /** podUpdated: a pod newly bound to a node is checked against its node's health. */
  private podUpdated(old: Pod | undefined, pod: Pod): void {
    const nodeName = pod.spec.nodeName ?? "";
    if (nodeName !== "" && (old === undefined || old.spec.nodeName !== nodeName))
      this.podUpdateQueue.add(keyOf(pod));
  }

  /** Takes one pod key off the pod queue (processPod); exposed for tests. */
  processNextPodItem(): Promise<boolean> {
    return processNextWorkItem(
      this.podUpdateQueue,
      (key) => this.processPod(key),
      (key, e) => this.log.info({ pod: key, err: messageOf(e) }, "Unable to process pod; requeuing"),
    );
  }

  /** processPod: a pod on a node last seen not Ready is marked not Ready itself. */
  async processPod(key: string): Promise<void> {
    const pod = this.pods.get(key);
    if (pod === undefined) return;
    const nodeName = pod.spec.nodeName ?? "";
    const health = this.nodeHealthMap.get(nodeName);
    // Not gathered yet, or the node was removed meanwhile.
    if (health === undefined) return;
    if (this.nodes.lister().get(nodeName) === undefined) throw new Error(`node ${nodeName} not in the cache`);
    const ready = getNodeCondition(health.status, "Ready");
    if (ready === undefined || ready.status === "True") return;
    await markPodsNotReady(this.ctx.client, this.recorder, [pod], nodeName, this.ctx.clock.now());
  }
}
