/**
 * kube's pod garbage collector (pkg/controller/podgc, kube 1.32). Every gcCheckPeriod (20 s) it
 * force-deletes (grace 0, after marking them Failed so that their owners see them finished):
 * terminated pods beyond --terminated-pod-gc-threshold, evicted ones first, then the oldest;
 * terminating pods on a not Ready node tainted node.kubernetes.io/out-of-service; pods bound to
 * a node that no longer exists, once the node has been missing from the informer for the
 * quarantine time (40 s) and a fresh GET confirms it is gone (a node just created may not have
 * reached the cache yet), with DisruptionTarget=True (DeletionByPodGC); and terminating pods
 * never scheduled. Level-triggered: each pass reads the caches anew.
 */
import type { Node, Pod, PodCondition } from "@skiff/api";
import { DelayingQueue, type Informer, isNotFound } from "@skiff/client";
import { Counter } from "prom-client";
import type { ControllerContext } from "../context.js";
import type { Controller } from "../controller.js";
import { messageOf } from "../util/pod-control.js";
import { patchPodStatus, updatePodCondition } from "../util/pod-status.js";
import { TaintNodeOutOfService, taintKeyExists } from "../util/taints.js";
import { parallelize, until } from "../util/wait.js";

export const POD_GARBAGE_COLLECTOR_CONTROLLER = "pod-garbage-collector-controller";
/** kube's gcCheckPeriod. */
export const GC_CHECK_PERIOD_MS = 20_000;
/** kube's quarantineTime. */
export const QUARANTINE_TIME_MS = 40_000;
/** Force deletions in flight at once (kube starts them all at once). */
const DELETE_WORKERS = 16;

export interface PodGCOptions {
  /** As kube's NewPodGCInternal (for tests): the pass period and the orphan quarantine. */
  gcCheckPeriodMs?: number;
  quarantineTimeMs?: number;
}

type Reason = "terminated" | "terminating_out_of_service" | "orphaned" | "terminating_unscheduled";

/** isPodTerminated: phase Succeeded or Failed (anything but Pending, Running, Unknown). */
export function isPodTerminated(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase !== undefined && phase !== "Pending" && phase !== "Running" && phase !== "Unknown";
}

/** byEvictionAndCreationTimestamp: evicted pods first, then oldest, then by name. */
export function byEvictionAndCreationTimestamp(a: Pod, b: Pod): number {
  const evicted = (p: Pod) =>
    p.status?.phase === "Failed" && (p.status as { reason?: string } | undefined)?.reason === "Evicted";
  if (evicted(a) !== evicted(b)) return evicted(a) ? -1 : 1;
  const ta = Date.parse(a.metadata.creationTimestamp ?? "") || 0;
  const tb = Date.parse(b.metadata.creationTimestamp ?? "") || 0;
  if (ta !== tb) return ta - tb;
  return a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0;
}

export class PodGCController implements Controller {
  readonly name = POD_GARBAGE_COLLECTOR_CONTROLLER;
  /** Names of nodes missing from the cache, each due for a fresh GET after the quarantine. */
  readonly nodeQueue: DelayingQueue<string>;
  private readonly pods: Informer<Pod>;
  private readonly nodes: Informer<Node>;
  private readonly gcCheckPeriodMs: number;
  private readonly quarantineTimeMs: number;
  private readonly deleted: Counter<"namespace" | "reason">;
  private readonly failed: Counter<"namespace" | "reason">;

  constructor(
    private readonly ctx: ControllerContext,
    o: PodGCOptions = {},
  ) {
    this.gcCheckPeriodMs = o.gcCheckPeriodMs ?? GC_CHECK_PERIOD_MS;
    this.quarantineTimeMs = o.quarantineTimeMs ?? QUARANTINE_TIME_MS;
    this.nodeQueue = new DelayingQueue<string>({
      name: "orphaned_pods_nodes",
      clock: ctx.clock,
      registry: ctx.metrics,
    });
    this.pods = ctx.informers.informerFor<Pod>("v1", "pods");
    this.nodes = ctx.informers.informerFor<Node>("v1", "nodes");
    const counter = (name: string, help: string) =>
      (ctx.metrics.getSingleMetric(name) as Counter<"namespace" | "reason"> | undefined) ??
      new Counter({ name, help, labelNames: ["namespace", "reason"], registers: [ctx.metrics] });
    this.deleted = counter(
      "pod_gc_collector_force_delete_pods_total",
      "Number of pods that are being forcefully deleted since the Pod GC Controller started.",
    );
    this.failed = counter(
      "pod_gc_collector_force_delete_pod_errors_total",
      "Number of errors encountered when forcefully deleting the pods since the Pod GC Controller started.",
    );
  }

  async run(_workers: number, signal: AbortSignal): Promise<void> {
    await until(
      this.ctx.clock,
      this.gcCheckPeriodMs,
      signal,
      () => this.gc(),
      (e) => this.ctx.log.warn({ err: messageOf(e) }, "pod GC pass failed"),
    );
    this.nodeQueue.shutDown();
  }

  /** One pass. */
  async gc(): Promise<void> {
    const pods = this.pods.lister().list();
    const nodes = this.nodes.lister().list();
    const threshold = this.ctx.config.terminatedPodGcThreshold;
    if (threshold > 0) await this.gcTerminated(pods, threshold);
    await this.gcTerminating(pods);
    await this.gcOrphaned(pods, nodes);
    await this.gcUnscheduledTerminating(pods);
  }

  private async gcTerminated(pods: readonly Pod[], threshold: number): Promise<void> {
    const terminated = pods.filter(isPodTerminated);
    const deleteCount = terminated.length - threshold;
    if (deleteCount <= 0) return;
    this.ctx.log.info({ numPods: deleteCount }, "Garbage collecting pods");
    const victims = [...terminated].sort(byEvictionAndCreationTimestamp).slice(0, deleteCount);
    await parallelize(DELETE_WORKERS, victims, (p) => this.forceDelete(p, "terminated"));
  }

  /** gcTerminating: terminating pods on a node that is not Ready and marked out of service. */
  private async gcTerminating(pods: readonly Pod[]): Promise<void> {
    const victims = pods.filter((p) => {
      if (p.metadata.deletionTimestamp === undefined) return false;
      const node = this.nodes.lister().get(p.spec.nodeName ?? "");
      if (node === undefined) return false;
      const ready = node.status?.conditions?.find((c) => c.type === "Ready")?.status === "True";
      return !ready && taintKeyExists(node.spec?.taints, TaintNodeOutOfService);
    });
    if (victims.length === 0) return;
    victims.sort(byEvictionAndCreationTimestamp);
    await parallelize(DELETE_WORKERS, victims, (p) => this.forceDelete(p, "terminating_out_of_service"));
  }

  /** gcOrphaned: pods on nodes missing from the cache past the quarantine and gone on a fresh GET. */
  private async gcOrphaned(pods: readonly Pod[], nodes: readonly Node[]): Promise<void> {
    const existing = new Set(nodes.map((n) => n.metadata.name));
    for (const p of pods) {
      const nodeName = p.spec.nodeName ?? "";
      if (nodeName !== "" && !existing.has(nodeName))
        this.nodeQueue.addAfter(nodeName, this.quarantineTimeMs);
    }
    const deletedNodes = await this.discoverDeletedNodes(existing);
    const condition: PodCondition = {
      type: "DisruptionTarget",
      status: "True",
      reason: "DeletionByPodGC",
      message: "PodGC: node no longer exists",
    };
    for (const p of pods) {
      if (!deletedNodes.has(p.spec.nodeName ?? "")) continue;
      this.ctx.log.info(
        { pod: `${p.metadata.namespace}/${p.metadata.name}`, node: p.spec.nodeName },
        "Found orphaned Pod assigned to the Node, deleting",
      );
      await this.forceDelete(p, "orphaned", condition);
    }
  }

  /** discoverDeletedNodes: the quarantined names due now that a GET finds gone. */
  private async discoverDeletedNodes(existing: ReadonlySet<string>): Promise<Set<string>> {
    const deleted = new Set<string>();
    while (this.nodeQueue.len() > 0) {
      const name = await this.nodeQueue.get();
      if (name === undefined) break;
      try {
        if (!existing.has(name) && !(await this.nodeExists(name))) deleted.add(name);
      } catch (e) {
        // Added back by the next pass if still needed.
        this.ctx.log.warn({ node: name, err: messageOf(e) }, "Error while getting node");
      } finally {
        this.nodeQueue.done(name);
      }
    }
    return deleted;
  }

  private async nodeExists(name: string): Promise<boolean> {
    try {
      await this.ctx.client.resource<Node>("v1", "nodes").get(name);
      return true;
    } catch (e) {
      if (isNotFound(e)) return false;
      throw e;
    }
  }

  /** gcUnscheduledTerminating: terminating pods bound to no node (no kubelet will finish them). */
  private async gcUnscheduledTerminating(pods: readonly Pod[]): Promise<void> {
    for (const p of pods) {
      if (p.metadata.deletionTimestamp === undefined || (p.spec.nodeName ?? "") !== "") continue;
      await this.forceDelete(p, "terminating_unscheduled");
    }
  }

  /** markFailedAndDeletePodWithCondition, counted; errors are logged, never thrown. */
  private async forceDelete(pod: Pod, reason: Reason, condition?: PodCondition): Promise<void> {
    const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
    this.deleted.inc({ namespace: pod.metadata.namespace, reason });
    try {
      await this.markFailedAndDeletePod(pod, condition);
      this.ctx.log.info({ pod: key, reason }, "PodGC force deleted Pod");
    } catch (e) {
      if (isNotFound(e)) return;
      this.failed.inc({ namespace: pod.metadata.namespace, reason });
      this.ctx.log.warn({ pod: key, reason, err: messageOf(e) }, "PodGC failed to force delete Pod");
    }
  }

  /** Failed first (a pod with no kubelet would stay Running forever), then deleted with grace 0. */
  private async markFailedAndDeletePod(pod: Pod, condition?: PodCondition): Promise<void> {
    const phase = pod.status?.phase;
    if (phase !== "Succeeded" && phase !== "Failed") {
      const status = { conditions: (pod.status?.conditions ?? []).map((c) => ({ ...c })) };
      const change: { phase: "Failed"; conditions?: PodCondition[] } = { phase: "Failed" };
      if (condition !== undefined && updatePodCondition(status, condition, this.ctx.clock.now()))
        change.conditions = status.conditions.filter((c) => c.type === condition.type);
      await patchPodStatus(this.ctx.client, pod, change);
    }
    await this.ctx.client.resource<Pod>("v1", "pods", pod.metadata.namespace).delete(pod.metadata.name, {
      gracePeriodSeconds: 0,
    });
  }
}
