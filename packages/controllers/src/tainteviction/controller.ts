/**
 * kube's taint eviction controller (pkg/controller/tainteviction, kube 1.32; the "taint manager"
 * that used to live in node lifecycle): pods bound to a node with NoExecute taints they do not
 * all tolerate are deleted at once; pods that tolerate them all, some for a limited
 * tolerationSeconds, are deleted once the shortest of those has passed since the taint was seen;
 * a taint removed in time cancels the deletion. Before deleting, the pod gets the condition
 * DisruptionTarget=True (DeletionByTaintManager), as kube 1.32 does, so that its owner can tell
 * an eviction from a failure. Node and pod changes go through two deduplicating queues; the
 * handlers decide synchronously and schedule the deletions as timed work on the clock.
 */
import type { Node, Pod, Taint, Toleration } from "@skiff/api";
import {
  type EventRecorder,
  type Informer,
  isNotFound,
  NodeNameIndex,
  NodeNameIndexFunc,
  Queue,
} from "@skiff/client";
import { Counter } from "prom-client";
import type { ControllerContext } from "../context.js";
import { deletedObject, QueueController, runWorkers } from "../controller.js";
import { messageOf } from "../util/pod-control.js";
import { patchPodStatus, updatePodCondition } from "../util/pod-status.js";
import { getMatchingTolerations } from "../util/taints.js";
import { keyFromWorkArgs, TimedWorkerQueue, type WorkArgs } from "./timed-workers.js";

export const TAINT_EVICTION_CONTROLLER = "taint-eviction-controller";
/** kube's retries of one deletion. */
const DELETE_RETRIES = 5;

/** getNoExecuteTaints. */
export function getNoExecuteTaints(taints: readonly Taint[] | undefined): Taint[] {
  return (taints ?? []).filter((t) => t.effect === "NoExecute");
}

/**
 * getMinTolerationTime: the shortest tolerationSeconds of the tolerations used, in ms; 0 when
 * there are none or one is <= 0; -1 when none is limited (tolerated forever).
 */
export function getMinTolerationTime(tolerations: readonly Toleration[]): number {
  if (tolerations.length === 0) return 0;
  let min = Number.POSITIVE_INFINITY;
  for (const t of tolerations) {
    if (t.tolerationSeconds === undefined) continue;
    if (t.tolerationSeconds <= 0) return 0;
    min = Math.min(min, t.tolerationSeconds);
  }
  return min === Number.POSITIVE_INFINITY ? -1 : min * 1000;
}

/** A pod update item: which pod, on which node (kube's podUpdateItem). */
function podItem(namespace: string, name: string, nodeName: string): string {
  return JSON.stringify([namespace, name, nodeName]);
}

export class TaintEvictionController extends QueueController {
  readonly podUpdateQueue: Queue<string>;
  readonly taintEvictionQueue: TimedWorkerQueue;
  /** taintedNodes: each node's NoExecute taints, for the pod handler. */
  private readonly taintedNodes = new Map<string, Taint[]>();
  private readonly nodes: Informer<Node>;
  private readonly pods: Informer<Pod>;
  private readonly recorder: EventRecorder;
  private readonly deletions: Counter;

  constructor(ctx: ControllerContext) {
    super(TAINT_EVICTION_CONTROLLER, ctx, { queueName: "noexec_taint_node" });
    this.podUpdateQueue = new Queue<string>({
      name: "noexec_taint_pod",
      clock: ctx.clock,
      registry: ctx.metrics,
    });
    this.recorder = ctx.recorder(TAINT_EVICTION_CONTROLLER);
    const metric = "taint_eviction_controller_pod_deletions_total";
    this.deletions =
      (ctx.metrics.getSingleMetric(metric) as Counter | undefined) ??
      new Counter({
        name: metric,
        help: "Total number of Pods deleted by TaintEvictionController since its start.",
        registers: [ctx.metrics],
      });
    this.taintEvictionQueue = new TimedWorkerQueue(
      ctx.clock,
      (args) => this.deletePod(args),
      (key, e) =>
        this.log.warn({ pod: key, err: messageOf(e) }, "TaintEvictionController: timed worker failed"),
    );
    this.nodes = ctx.informers.informerFor<Node>("v1", "nodes");
    this.pods = ctx.informers.informerFor<Pod>("v1", "pods", {
      indexers: { [NodeNameIndex]: NodeNameIndexFunc },
    });
    this.pods.addEventHandler({
      onAdd: (pod) => this.podUpdated(undefined, pod),
      onUpdate: (old, pod) => this.podUpdated(old, pod),
      onDelete: (pod, tombstone) => this.podUpdated(deletedObject(pod, tombstone), undefined),
    });
    this.nodes.addEventHandler({
      onAdd: (node) => this.nodeUpdated(undefined, node),
      onUpdate: (old, node) => this.nodeUpdated(old, node),
      onDelete: (node, tombstone) => this.nodeUpdated(deletedObject(node, tombstone), undefined),
    });
  }

  /** One node worker and one pod worker (their handlers do no I/O); deletions run as timed work. */
  override async run(_workers: number, signal: AbortSignal): Promise<void> {
    const podWorker = runWorkers(this.podUpdateQueue, 1, signal, () => this.processNextPodItem());
    await Promise.all([super.run(1, signal), podWorker]);
    await this.taintEvictionQueue.cancelAndWait();
  }

  /** PodUpdated: queue a pod whose tolerations or node changed (or that came or went). */
  podUpdated(old: Pod | undefined, pod: Pod | undefined): void {
    const p = pod ?? old;
    if (p === undefined) return;
    if (
      old !== undefined &&
      pod !== undefined &&
      old.spec.nodeName === pod.spec.nodeName &&
      JSON.stringify(old.spec.tolerations ?? []) === JSON.stringify(pod.spec.tolerations ?? [])
    )
      return;
    this.podUpdateQueue.add(podItem(p.metadata.namespace, p.metadata.name, p.spec.nodeName ?? ""));
  }

  /** NodeUpdated: queue a node whose NoExecute taints changed (or that came or went). */
  nodeUpdated(old: Node | undefined, node: Node | undefined): void {
    const n = node ?? old;
    if (n === undefined) return;
    if (
      old !== undefined &&
      node !== undefined &&
      JSON.stringify(getNoExecuteTaints(old.spec?.taints)) ===
        JSON.stringify(getNoExecuteTaints(node.spec?.taints))
    )
      return;
    this.enqueue(n);
  }

  /** Takes one item off the pod queue (handlePodUpdate); exposed for tests. */
  async processNextPodItem(): Promise<boolean> {
    const item = await this.podUpdateQueue.get();
    if (item === undefined) return false;
    try {
      const [namespace, name, nodeName] = JSON.parse(item) as [string, string, string];
      this.handlePodUpdate(namespace, name, nodeName);
    } finally {
      this.podUpdateQueue.done(item);
    }
    return true;
  }

  /** The node queue: handleNodeUpdate. */
  async sync(nodeName: string): Promise<void> {
    this.handleNodeUpdate(nodeName);
  }

  /** handleNodeUpdate: remember the node's NoExecute taints, then decide for each of its pods. */
  handleNodeUpdate(nodeName: string): void {
    const node = this.nodes.lister().get(nodeName);
    if (node === undefined) {
      this.taintedNodes.delete(nodeName);
      return;
    }
    const taints = getNoExecuteTaints(node.spec?.taints);
    if (taints.length === 0) this.taintedNodes.delete(nodeName);
    else this.taintedNodes.set(nodeName, taints);
    // taintedNodes is set before the pods are read: a pod bound later is decided by handlePodUpdate.
    const pods = this.pods.indexer.byIndex(NodeNameIndex, nodeName);
    if (taints.length === 0) {
      for (const pod of pods) this.cancelWorkWithEvent(pod.metadata.namespace, pod.metadata.name);
      return;
    }
    const now = this.ctx.clock.now();
    for (const pod of pods)
      this.processPodOnNode(
        pod.metadata.namespace,
        pod.metadata.name,
        nodeName,
        pod.spec.tolerations,
        taints,
        now,
      );
  }

  /** handlePodUpdate: a deleted pod's work is cancelled; a pod on a tainted node is decided. */
  handlePodUpdate(namespace: string, name: string, nodeName: string): void {
    const pod = this.pods.get(`${namespace}/${name}`);
    if (pod === undefined) {
      this.cancelWorkWithEvent(namespace, name);
      return;
    }
    // The item is stale if the pod moved: the newer item decides.
    if ((pod.spec.nodeName ?? "") !== nodeName || nodeName === "") return;
    const taints = this.taintedNodes.get(nodeName);
    if (taints === undefined) return;
    this.processPodOnNode(namespace, name, nodeName, pod.spec.tolerations, taints, this.ctx.clock.now());
  }

  /**
   * processPodOnNode: not all taints tolerated -> delete now; tolerated forever -> cancel any
   * deletion; else delete after the shortest tolerationSeconds, unless an earlier deletion is set.
   */
  processPodOnNode(
    namespace: string,
    name: string,
    nodeName: string,
    tolerations: readonly Toleration[] | undefined,
    taints: readonly Taint[],
    now: number,
  ): void {
    const args: WorkArgs = { namespace, name };
    const key = keyFromWorkArgs(args);
    if (taints.length === 0) this.cancelWorkWithEvent(namespace, name);
    const { allTolerated, used } = getMatchingTolerations(taints, tolerations);
    if (!allTolerated) {
      this.log.debug(
        { pod: key, node: nodeName },
        "Not all taints are tolerated after update for pod on node",
      );
      this.cancelWorkWithEvent(namespace, name);
      this.taintEvictionQueue.addWork(args, now, now);
      return;
    }
    const min = getMinTolerationTime(used);
    if (min < 0) {
      this.cancelWorkWithEvent(namespace, name);
      return;
    }
    let startTime = now;
    const triggerTime = now + min;
    const scheduled = this.taintEvictionQueue.getWorker(key);
    if (scheduled !== undefined) {
      startTime = scheduled.createdAt;
      if (startTime + min < triggerTime) return;
      this.cancelWorkWithEvent(namespace, name);
    }
    this.taintEvictionQueue.addWork(args, startTime, triggerTime);
  }

  private cancelWorkWithEvent(namespace: string, name: string): void {
    if (this.taintEvictionQueue.cancelWork(`${namespace}/${name}`))
      this.recorder.eventf(
        this.podRef(namespace, name),
        "Normal",
        "TaintManagerEviction",
        "Cancelling deletion of Pod %s",
        `${namespace}/${name}`,
      );
  }

  /** deletePodHandler: the event, then addConditionAndDeletePod, tried up to DELETE_RETRIES times. */
  private async deletePod(args: WorkArgs): Promise<void> {
    const key = keyFromWorkArgs(args);
    this.log.info({ controller: this.name, pod: key }, "Deleting pod");
    this.recorder.eventf(
      this.podRef(args.namespace, args.name),
      "Normal",
      "TaintManagerEviction",
      "Marking for deletion Pod %s",
      key,
    );
    let last: unknown;
    for (let i = 0; i < DELETE_RETRIES; i++) {
      try {
        await this.addConditionAndDeletePod(args);
        this.deletions.inc();
        return;
      } catch (e) {
        // Gone already: nothing left to evict.
        if (isNotFound(e)) return;
        last = e;
      }
    }
    throw last;
  }

  /** addConditionAndDeletePod: DisruptionTarget=True (DeletionByTaintManager) on a fresh read, then delete. */
  private async addConditionAndDeletePod(args: WorkArgs): Promise<void> {
    const client = this.ctx.client.resource<Pod>("v1", "pods", args.namespace);
    const pod = await client.get(args.name);
    const status = { conditions: (pod.status?.conditions ?? []).map((c) => ({ ...c })) };
    const condition = {
      type: "DisruptionTarget",
      status: "True" as const,
      reason: "DeletionByTaintManager",
      message: "Taint manager: deleting due to NoExecute taint",
    };
    if (updatePodCondition(status, condition, this.ctx.clock.now())) {
      const c = status.conditions.find((x) => x.type === "DisruptionTarget");
      await patchPodStatus(this.ctx.client, pod, { conditions: c === undefined ? [] : [c] });
    }
    await client.delete(args.name);
  }

  private podRef(namespace: string, name: string) {
    return { apiVersion: "v1", kind: "Pod", name, namespace };
  }
}
