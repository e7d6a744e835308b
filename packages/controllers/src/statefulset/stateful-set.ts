/**
 * kube's StatefulSetController (pkg/controller/statefulset/stateful_set.go): informers on
 * StatefulSets, pods, ControllerRevisions and PersistentVolumeClaims; pod events wake the owning
 * set (an orphan wakes the sets that may adopt it). sync(key) adopts orphaned revisions, claims
 * the set's pods (matching its selector and named `<set>-<ordinal>`) and hands them to
 * StatefulSetControl for one step. No expectations: a pod's fixed name is what keeps the
 * controller from creating it twice.
 */
import type { PersistentVolumeClaim, Pod } from "@skiff/api";
import {
  type DeletedFinalStateUnknown,
  type EventRecorder,
  type Informer,
  type Lister,
  toSelector,
} from "@skiff/client";
import type { ControllerContext } from "../context.js";
import { deletedObject, QueueController } from "../controller.js";
import { History } from "../history/controller-history.js";
import type { ControllerRevision } from "../history/types.js";
import type { ControllerDescriptor } from "../registry.js";
import {
  claimObjects,
  getControllerOf,
  recheckController,
  resolveControllerRef,
} from "../util/controller-ref.js";
import { dependentUpdate } from "../util/owner-events.js";
import { isPodReady } from "../util/pod.js";
import { nonEmptySelectorMatches } from "../util/selector.js";
import { StatefulPodControl } from "./pod-control.js";
import { StatefulSetControl } from "./set-control.js";
import { StatefulSetStatusUpdater } from "./status-updater.js";
import { STATEFULSET_KIND, type StatefulSet } from "./types.js";
import { isMemberOf } from "./utils.js";

export class StatefulSetController extends QueueController {
  readonly setLister: Lister<StatefulSet>;
  readonly podLister: Lister<Pod>;
  readonly control: StatefulSetControl;
  readonly history: History;
  readonly recorder: EventRecorder;

  constructor(ctx: ControllerContext) {
    super("statefulset-controller", ctx, { queueName: "statefulset" });
    const setInformer = ctx.informers.informerFor<StatefulSet>("apps/v1", "statefulsets");
    const podInformer = ctx.informers.informerFor<Pod>("v1", "pods");
    const revisionInformer = ctx.informers.informerFor<ControllerRevision>("apps/v1", "controllerrevisions");
    const claimInformer = ctx.informers.informerFor<PersistentVolumeClaim>("v1", "persistentvolumeclaims");
    this.setLister = setInformer.lister();
    this.podLister = podInformer.lister();
    this.recorder = ctx.recorder("statefulset-controller");
    this.history = new History(ctx.client, revisionInformer.lister());
    this.control = new StatefulSetControl(
      new StatefulPodControl(ctx.client, this.podLister, claimInformer.lister(), this.recorder),
      this.history,
      new StatefulSetStatusUpdater(ctx.client),
      ctx.clock,
      { maxUnavailableStatefulSet: ctx.config.maxUnavailableStatefulSet },
    );
    this.addHandlers(setInformer, podInformer);
  }

  /** sync: one step of the set with this key. */
  async sync(key: string): Promise<void> {
    const set = this.setLister.get(key);
    if (set === undefined) return; // deleted: the garbage collector removes its pods
    await this.adoptOrphanRevisions(set);
    const pods = await this.getPodsForStatefulSet(set);
    const status = await this.control.updateStatefulSet(set, pods);
    const minReady = set.spec.minReadySeconds ?? 0;
    // Look again once the ready pods may have become available.
    if (minReady > 0 && status !== undefined && status.availableReplicas !== (set.spec.replicas ?? 1))
      this.enqueueAfter(set, minReady * 1000);
  }

  private canAdopt(set: StatefulSet): () => Promise<void> {
    return recheckController(
      () =>
        this.ctx.client
          .resource<StatefulSet>("apps/v1", "statefulsets", set.metadata.namespace)
          .get(set.metadata.name),
      set,
    );
  }

  /** adoptOrphanRevisions: revisions matching the selector that nobody owns become the set's. */
  private async adoptOrphanRevisions(set: StatefulSet): Promise<void> {
    const orphans = this.control.listRevisions(set).filter((r) => getControllerOf(r) === undefined);
    if (orphans.length === 0) return;
    await this.canAdopt(set)();
    for (const r of orphans) await this.history.adoptControllerRevision(set, STATEFULSET_KIND, r);
  }

  /**
   * getPodsForStatefulSet: the pods the set owns, adopting orphans that match the selector and
   * are named as its members, releasing owned ones that no longer match.
   */
  private async getPodsForStatefulSet(set: StatefulSet): Promise<Pod[]> {
    const selector = toSelector(set.spec.selector);
    return claimObjects(this.podLister.namespace(set.metadata.namespace).list(), {
      controller: set,
      gvk: STATEFULSET_KIND,
      match: (pod) => selector.matches(pod.metadata.labels) && isMemberOf(set, pod),
      client: (ns) => this.ctx.client.resource<Pod>("v1", "pods", ns),
      canAdopt: this.canAdopt(set),
    });
  }

  private resolveControllerRef(namespace: string, ref: { kind: string; name: string; uid: string }) {
    return resolveControllerRef(this.setLister, STATEFULSET_KIND.kind, namespace, ref);
  }

  /** getStatefulSetsForPod: the sets whose selector matches the pod's labels. */
  private setsSelecting(pod: Pod): StatefulSet[] {
    return this.setLister
      .namespace(pod.metadata.namespace)
      .list()
      .filter((s) => nonEmptySelectorMatches(s.spec.selector, pod.metadata.labels));
  }

  private addHandlers(setInformer: Informer<StatefulSet>, podInformer: Informer<Pod>): void {
    setInformer.addEventHandler({
      onAdd: (s) => this.enqueue(s),
      onUpdate: (_old, cur) => this.enqueue(cur),
      onDelete: (s, tombstone) => this.enqueue(deletedObject(s, tombstone)),
    });
    podInformer.addEventHandler({
      onAdd: (pod) => this.addPod(pod),
      onUpdate: (old, cur) => this.updatePod(old, cur),
      onDelete: (pod, tombstone) => this.deletePod(pod, tombstone),
    });
  }

  private addPod(pod: Pod): void {
    if (pod.metadata.deletionTimestamp !== undefined) {
      this.deletePod(pod);
      return;
    }
    const ref = getControllerOf(pod);
    if (ref !== undefined) {
      const set = this.resolveControllerRef(pod.metadata.namespace, ref);
      if (set !== undefined) this.enqueue(set);
      return;
    }
    for (const set of this.setsSelecting(pod)) this.enqueue(set);
  }

  private updatePod(old: Pod, cur: Pod): void {
    if (old.metadata.resourceVersion === cur.metadata.resourceVersion) return;
    const u = dependentUpdate(
      old,
      cur,
      (ns, ref) => this.resolveControllerRef(ns, ref),
      (p) => this.setsSelecting(p),
    );
    if (u.oldController !== undefined) this.enqueue(u.oldController);
    const set = u.controller;
    if (set !== undefined) {
      this.enqueue(set);
      // A pod just ready is available minReadySeconds later: look again then.
      const minReady = set.spec.minReadySeconds ?? 0;
      if (!isPodReady(old) && isPodReady(cur) && minReady > 0) this.enqueueAfter(set, minReady * 1000);
    }
    for (const candidate of u.adopters) this.enqueue(candidate);
  }

  private deletePod(obj: Pod, tombstone?: DeletedFinalStateUnknown<Pod>): void {
    const pod = deletedObject(obj, tombstone);
    const ref = getControllerOf(pod);
    if (ref === undefined) return;
    const set = this.resolveControllerRef(pod.metadata.namespace, ref);
    if (set !== undefined) this.enqueue(set);
  }
}

/** kube 1.32's "statefulset-controller" (alias "statefulset"), --concurrent-statefulset-syncs workers. */
export const statefulSetControllerDescriptor: ControllerDescriptor = {
  name: "statefulset-controller",
  aliases: ["statefulset"],
  concurrencyKey: "statefulset",
  init: (ctx) => new StatefulSetController(ctx),
};
