/**
 * kube's DaemonSetsController (pkg/controller/daemon/daemon_controller.go): one daemon pod on every
 * node that should run it. Informers on DaemonSets, ControllerRevisions, pods and nodes feed one
 * work queue of DaemonSet keys; sync(key) records the template as a ControllerRevision, creates
 * the missing pods and deletes the misplaced, failed and surplus ones (manage.ts), then replaces
 * old pods within the update strategy's budget (update.ts), prunes old revisions (history.ts) and
 * writes the status (status.ts). Expectations keep it from acting twice while its cache lags.
 */
import type { Node, OwnerReference, Pod } from "@skiff/api";
import {
  type DeletedFinalStateUnknown,
  type EventRecorder,
  type Informer,
  keyOf,
  type Lister,
} from "@skiff/client";
import type { ControllerContext } from "../context.js";
import { deletedObject, QueueController } from "../controller.js";
import type { ControllerRevision } from "../history/types.js";
import type { ControllerDescriptor } from "../registry.js";
import { getControllerOf, resolveControllerRef } from "../util/controller-ref.js";
import { ControllerExpectations } from "../util/expectations.js";
import { dependentUpdate } from "../util/owner-events.js";
import { isPodReady } from "../util/pod.js";
import { PodControl } from "../util/pod-control.js";
import { isEmptySelector, nonEmptySelectorMatches } from "../util/selector.js";
import { Backoff } from "./backoff.js";
import { cleanupHistory, constructHistory } from "./history.js";
import { manage } from "./manage.js";
import { updateDaemonSetStatus } from "./status.js";
import {
  DAEMONSET_KIND,
  type DaemonSet,
  DEFAULT_DAEMONSET_UNIQUE_LABEL_KEY,
  SELECTING_ALL_REASON,
} from "./types.js";
import { rollingUpdate } from "./update.js";
import { nodeShouldRunDaemonPod } from "./util.js";

/** kube's BurstReplicas: at most this many creates (and deletes) per sync. */
export const BURST_REPLICAS = 250;
/** kube's BackoffGCInterval. */
const BACKOFF_GC_INTERVAL_MS = 60_000;
/** The failed-pod backoff kube-controller-manager gives the controller: 1 s doubling to 15 min. */
const FAILED_PODS_BACKOFF_INITIAL_MS = 1_000;
const FAILED_PODS_BACKOFF_MAX_MS = 15 * 60_000;

export interface DaemonSetsControllerOptions {
  /** The failed-pod backoff (tests inject one on a fake clock). */
  failedPodsBackoff?: Backoff;
}

export class DaemonSetsController extends QueueController {
  readonly expectations: ControllerExpectations;
  readonly failedPodsBackoff: Backoff;
  readonly burstReplicas = BURST_REPLICAS;
  readonly recorder: EventRecorder;
  readonly podControl: PodControl;
  readonly dsLister: Lister<DaemonSet>;
  readonly historyLister: Lister<ControllerRevision>;
  readonly podLister: Lister<Pod>;
  readonly nodeLister: Lister<Node>;

  constructor(ctx: ControllerContext, opts: DaemonSetsControllerOptions = {}) {
    super("daemonset-controller", ctx, { queueName: "daemonset" });
    this.expectations = new ControllerExpectations(ctx.clock);
    this.failedPodsBackoff =
      opts.failedPodsBackoff ??
      new Backoff(ctx.clock, FAILED_PODS_BACKOFF_INITIAL_MS, FAILED_PODS_BACKOFF_MAX_MS);
    this.recorder = ctx.recorder("daemonset-controller");
    this.podControl = new PodControl(ctx.client, this.recorder);
    const dsInformer = ctx.informers.informerFor<DaemonSet>("apps/v1", "daemonsets");
    const historyInformer = ctx.informers.informerFor<ControllerRevision>("apps/v1", "controllerrevisions");
    const podInformer = ctx.informers.informerFor<Pod>("v1", "pods");
    const nodeInformer = ctx.informers.informerFor<Node>("v1", "nodes");
    this.dsLister = dsInformer.lister();
    this.historyLister = historyInformer.lister();
    this.podLister = podInformer.lister();
    this.nodeLister = nodeInformer.lister();
    this.addHandlers(dsInformer, historyInformer, podInformer, nodeInformer);
  }

  get client() {
    return this.ctx.client;
  }

  get clock() {
    return this.ctx.clock;
  }

  get logger() {
    return this.log;
  }

  override async run(workers: number, signal: AbortSignal): Promise<void> {
    // kube's `go wait.Until(dsc.failedPodsBackoff.GC, BackoffGCInterval, stopCh)`.
    let timer: ReturnType<typeof this.ctx.clock.setTimeout> | undefined;
    const gc = () => {
      this.failedPodsBackoff.gc();
      if (!signal.aborted) timer = this.ctx.clock.setTimeout(gc, BACKOFF_GC_INTERVAL_MS);
    };
    timer = this.ctx.clock.setTimeout(gc, BACKOFF_GC_INTERVAL_MS);
    try {
      await super.run(workers, signal);
    } finally {
      if (timer !== undefined) this.ctx.clock.clearTimeout(timer);
    }
  }

  /** syncDaemonSet. */
  async sync(key: string): Promise<void> {
    const ds = this.dsLister.get(key);
    if (ds === undefined) {
      this.expectations.deleteExpectations(key);
      return;
    }
    const nodeList = this.nodeLister.list();
    if (isEmptySelector(ds.spec.selector)) {
      this.recorder.event(
        ds,
        "Warning",
        SELECTING_ALL_REASON,
        "This daemon set is selecting all pods. A non-empty selector is required.",
      );
      return;
    }
    // A DaemonSet being deleted may have lost its revisions already (the garbage collector does
    // not order them after the pods): its status cannot be computed reliably, so leave it.
    if (ds.metadata.deletionTimestamp !== undefined) return;
    const { cur, old } = await constructHistory(this, ds);
    const hash = cur.metadata.labels?.[DEFAULT_DAEMONSET_UNIQUE_LABEL_KEY] ?? "";
    if (!this.expectations.satisfiedExpectations(key)) {
      // Only the status: observedGeneration is not raised for a generation not acted upon.
      await updateDaemonSetStatus(this, ds, nodeList, hash, false);
      return;
    }
    let err: unknown;
    try {
      await this.updateDaemonSet(ds, nodeList, hash, key, old);
    } catch (e) {
      err = e;
    }
    try {
      await updateDaemonSetStatus(this, ds, nodeList, hash, true);
    } catch (statusErr) {
      if (err === undefined) throw statusErr;
      this.log.warn({ daemonset: key, err: String(statusErr) }, "failed to update status");
    }
    if (err !== undefined) throw err;
  }

  private async updateDaemonSet(
    ds: DaemonSet,
    nodeList: Node[],
    hash: string,
    key: string,
    old: ControllerRevision[],
  ): Promise<void> {
    await manage(this, ds, nodeList, hash);
    // Replace old pods only once the creations and deletions of manage() have been observed.
    if (this.expectations.satisfiedExpectations(key) && ds.spec.updateStrategy?.type === "RollingUpdate")
      await rollingUpdate(this, ds, nodeList, hash);
    await cleanupHistory(this, ds, old);
  }

  /** resolveControllerRef: the DaemonSet a controller reference names, if it is that one (uid). */
  resolveControllerRef(namespace: string, ref: OwnerReference): DaemonSet | undefined {
    return resolveControllerRef(this.dsLister, DAEMONSET_KIND.kind, namespace, ref);
  }

  /** GetPodDaemonSets / GetHistoryDaemonSets: the DaemonSets whose selector matches the labels. */
  private daemonSetsSelecting(namespace: string, labels: Record<string, string> | undefined): DaemonSet[] {
    return this.dsLister
      .namespace(namespace)
      .list()
      .filter((ds) => nonEmptySelectorMatches(ds.spec.selector, labels));
  }

  private addHandlers(
    dsInformer: Informer<DaemonSet>,
    historyInformer: Informer<ControllerRevision>,
    podInformer: Informer<Pod>,
    nodeInformer: Informer<Node>,
  ): void {
    dsInformer.addEventHandler({
      onAdd: (ds) => this.enqueue(ds),
      onUpdate: (old, cur) => {
        if (old.metadata.uid !== cur.metadata.uid) this.deleteDaemonSet(old);
        this.enqueue(cur);
      },
      onDelete: (ds, tombstone) => this.deleteDaemonSet(deletedObject(ds, tombstone)),
    });
    historyInformer.addEventHandler({
      onAdd: (h) => this.addOwned(h),
      onUpdate: (old, cur) => this.updateOwned(old, cur),
      onDelete: (h, tombstone) => this.deleteOwned(deletedObject(h, tombstone)),
    });
    podInformer.addEventHandler({
      onAdd: (pod) => this.addPod(pod),
      onUpdate: (old, cur) => this.updatePod(old, cur),
      onDelete: (pod, tombstone) => this.deletePod(pod, tombstone),
    });
    nodeInformer.addEventHandler({
      onAdd: (node) => this.addNode(node),
      onUpdate: (old, cur) => this.updateNode(old, cur),
    });
  }

  private deleteDaemonSet(ds: DaemonSet): void {
    // A DaemonSet created again under the same name starts with clean expectations.
    this.expectations.deleteExpectations(keyOf(ds));
    this.enqueue(ds);
  }

  /** addHistory: an owned revision wakes nobody; an orphan wakes the DaemonSets that may adopt it. */
  private addOwned(h: ControllerRevision): void {
    if (h.metadata.deletionTimestamp !== undefined) {
      this.deleteOwned(h);
      return;
    }
    if (getControllerOf(h) !== undefined) return;
    for (const ds of this.daemonSetsSelecting(h.metadata.namespace ?? "", h.metadata.labels))
      this.enqueue(ds);
  }

  /** updateHistory: the old and new owners, or for an orphan every DaemonSet that may adopt it. */
  private updateOwned(old: ControllerRevision, cur: ControllerRevision): void {
    if (old.metadata.resourceVersion === cur.metadata.resourceVersion) return;
    this.updateOwnedObject(old, cur);
  }

  private deleteOwned(h: ControllerRevision): void {
    const ref = getControllerOf(h);
    const ds = ref === undefined ? undefined : this.resolveControllerRef(h.metadata.namespace ?? "", ref);
    if (ds !== undefined) this.enqueue(ds);
  }

  /** addPod: a new daemon pod is a creation observed. */
  private addPod(pod: Pod): void {
    if (pod.metadata.deletionTimestamp !== undefined) {
      // A pod already being deleted when seen first (a restart): count it as deleted.
      this.deletePod(pod);
      return;
    }
    const ref = getControllerOf(pod);
    if (ref !== undefined) {
      const ds = this.resolveControllerRef(pod.metadata.namespace, ref);
      if (ds === undefined) return;
      this.expectations.creationObserved(keyOf(ds));
      this.enqueue(ds);
      return;
    }
    for (const ds of this.daemonSetsSelecting(pod.metadata.namespace, pod.metadata.labels)) this.enqueue(ds);
  }

  /** updatePod: a pod marked for deletion is a deletion observed; readiness rechecks minReadySeconds. */
  private updatePod(old: Pod, cur: Pod): void {
    if (old.metadata.resourceVersion === cur.metadata.resourceVersion) return;
    if (cur.metadata.deletionTimestamp !== undefined) {
      this.deletePod(cur);
      return;
    }
    const ds = this.updateOwnedObject(old, cur);
    if (ds === undefined) return;
    const minReady = ds.spec.minReadySeconds ?? 0;
    if (!isPodReady(old) && isPodReady(cur) && minReady > 0) this.enqueueAfter(ds, minReady * 1000 + 1000);
  }

  /** The shared part of updatePod and updateHistory; returns the current owner, if any. */
  private updateOwnedObject<T extends Pod | ControllerRevision>(old: T, cur: T): DaemonSet | undefined {
    const u = dependentUpdate(
      old,
      cur,
      (ns, ref) => this.resolveControllerRef(ns, ref),
      (o) => this.daemonSetsSelecting(o.metadata.namespace ?? "", o.metadata.labels),
    );
    if (u.oldController !== undefined) this.enqueue(u.oldController);
    if (u.controller !== undefined) this.enqueue(u.controller);
    for (const ds of u.adopters) this.enqueue(ds);
    return u.controller;
  }

  /** deletePod: a deletion observed for the owner. */
  private deletePod(obj: Pod, tombstone?: DeletedFinalStateUnknown<Pod>): void {
    const pod = deletedObject(obj, tombstone);
    const ref = getControllerOf(pod);
    if (ref === undefined) return;
    const ds = this.resolveControllerRef(pod.metadata.namespace, ref);
    if (ds === undefined) return;
    this.expectations.deletionObserved(keyOf(ds));
    this.enqueue(ds);
  }

  private addNode(node: Node): void {
    for (const ds of this.dsLister.list()) if (nodeShouldRunDaemonPod(node, ds).shouldRun) this.enqueue(ds);
  }

  /** updateNode: only label and taint changes matter (shouldIgnoreNodeUpdate). */
  private updateNode(old: Node, cur: Node): void {
    const same =
      JSON.stringify(old.metadata.labels ?? {}) === JSON.stringify(cur.metadata.labels ?? {}) &&
      JSON.stringify(old.spec?.taints ?? []) === JSON.stringify(cur.spec?.taints ?? []);
    if (same) return;
    for (const ds of this.dsLister.list()) {
      const before = nodeShouldRunDaemonPod(old, ds);
      const after = nodeShouldRunDaemonPod(cur, ds);
      if (
        before.shouldRun !== after.shouldRun ||
        before.shouldContinueRunning !== after.shouldContinueRunning
      )
        this.enqueue(ds);
    }
  }
}

/** kube 1.32's "daemonset-controller" (alias "daemonset"), --concurrent-daemonset-syncs workers. */
export const daemonSetControllerDescriptor: ControllerDescriptor = {
  name: "daemonset-controller",
  aliases: ["daemonset"],
  concurrencyKey: "daemonset",
  init: (ctx) => new DaemonSetsController(ctx),
};
