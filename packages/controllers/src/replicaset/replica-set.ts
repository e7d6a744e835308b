/**
 * kube's ReplicaSetController (pkg/controller/replicaset/replica_set.go): informers on
 * ReplicaSets and pods, a queue of ReplicaSet keys, and syncReplicaSet, which claims the RS's
 * pods (adopting matching orphans, releasing owned pods that stopped matching), creates or
 * deletes pods toward spec.replicas, and writes the status. Expectations (UIDTracking, as kube)
 * keep a sync from acting on a pod count its own informer has not caught up with: a RS that just
 * asked for N creates or deletes waits until it has seen them (or 5 minutes).
 */
import type { OwnerReference, Pod } from "@skiff/api";
import {
  type DeletedFinalStateUnknown,
  type Informer,
  keyOf,
  OwnerUidIndex,
  OwnerUidIndexFunc,
  splitMetaNamespaceKey,
} from "@skiff/client";
import type { ControllerContext } from "../context.js";
import { deletedObject, QueueController } from "../controller.js";
import { getControllerOf, resolveControllerRef } from "../util/controller-ref.js";
import { UIDTrackingControllerExpectations } from "../util/expectations.js";
import { dependentUpdate, labelsEqual } from "../util/owner-events.js";
import { isPodReady, PodControllerUIDIndex, podControllerUIDIndexFunc, podKey } from "../util/pod.js";
import { PodControl } from "../util/pod-control.js";
import { nonEmptySelectorMatches } from "../util/selector.js";
import { syncReplicaSet } from "./sync.js";
import { REPLICA_SET_KIND, type ReplicaSet } from "./types.js";

/** kube's BurstReplicas: at most this many creates or deletes per sync. */
export const BURST_REPLICAS = 500;

export interface ReplicaSetControllerOptions {
  /** Creates or deletes per sync (kube's burstReplicas); default BURST_REPLICAS. */
  burstReplicas?: number;
}

export class ReplicaSetController extends QueueController {
  readonly rsInformer: Informer<ReplicaSet>;
  readonly podInformer: Informer<Pod>;
  readonly expectations: UIDTrackingControllerExpectations;
  readonly podControl: PodControl;
  readonly burstReplicas: number;

  constructor(ctx: ControllerContext, opts: ReplicaSetControllerOptions = {}) {
    super("replicaset-controller", ctx, { queueName: "replicaset" });
    this.burstReplicas = opts.burstReplicas ?? BURST_REPLICAS;
    this.expectations = new UIDTrackingControllerExpectations(ctx.clock);
    this.podControl = new PodControl(ctx.client, ctx.recorder("replicaset-controller"));
    // Other RSs of the same owner (kube's controllerUIDIndex), through the shared owner-uid index.
    this.rsInformer = ctx.informers.informerFor<ReplicaSet>("apps/v1", "replicasets", {
      indexers: { [OwnerUidIndex]: OwnerUidIndexFunc },
    });
    this.podInformer = ctx.informers.informerFor<Pod>("v1", "pods", {
      indexers: { [PodControllerUIDIndex]: podControllerUIDIndexFunc },
    });
    this.rsInformer.addEventHandler({
      onAdd: (rs) => this.enqueue(rs),
      onUpdate: (old, cur) => this.updateRS(old, cur),
      onDelete: (rs, tombstone) => this.deleteRS(deletedObject(rs, tombstone)),
    });
    this.podInformer.addEventHandler({
      onAdd: (pod) => this.addPod(pod),
      onUpdate: (old, cur) => this.updatePod(old, cur),
      onDelete: (pod, tombstone) => this.deletePod(pod, tombstone),
    });
  }

  sync(key: string): Promise<void> {
    return syncReplicaSet(this, key);
  }

  /** The context (for sync.ts). */
  get context(): ControllerContext {
    return this.ctx;
  }

  private updateRS(old: ReplicaSet, cur: ReplicaSet): void {
    // A RS deleted and re-created under the same name between two events: the old one's
    // expectations must go (kube does the same, by hand, for want of a delete event).
    if (old.metadata.uid !== cur.metadata.uid) this.deleteRS(old);
    // Enqueued on every update, not only spec changes, as kube: a resync then retries RSs whose
    // earlier creates failed.
    this.enqueue(cur);
  }

  private deleteRS(rs: ReplicaSet): void {
    // A RS re-created with this name starts with clean expectations.
    this.expectations.deleteExpectations(keyOf(rs));
    this.enqueue(rs);
  }

  /** kube's resolveControllerRef: the RS a controller reference names, if it is still that one. */
  resolveControllerRef(namespace: string, ref: OwnerReference): ReplicaSet | undefined {
    return resolveControllerRef(this.rsInformer.indexer, REPLICA_SET_KIND.kind, namespace, ref);
  }

  /**
   * kube's GetPodReplicaSets: the RSs of the pod's namespace whose selector matches its labels. A
   * RS with an empty selector matches nothing here (it would otherwise match every pod).
   */
  getPodReplicaSets(pod: Pod): ReplicaSet[] {
    if (Object.keys(pod.metadata.labels ?? {}).length === 0) return [];
    const rss = this.rsInformer
      .lister()
      .namespace(pod.metadata.namespace)
      .list()
      .filter((rs) => nonEmptySelectorMatches(rs.spec.selector, pod.metadata.labels));
    if (rss.length > 1)
      this.log.warn(
        { pod: podKey(pod), replicaSets: rss.map(keyOf) },
        "user error: more than one ReplicaSet selects this pod's labels",
      );
    return rss;
  }

  private addPod(pod: Pod): void {
    if (pod.metadata.deletionTimestamp !== undefined) {
      // A pod already being deleted when first seen (a restart of the manager): a deletion, not
      // a creation.
      this.deletePod(pod);
      return;
    }
    const ref = getControllerOf(pod);
    if (ref !== undefined) {
      const rs = this.resolveControllerRef(pod.metadata.namespace, ref);
      if (rs === undefined) return;
      this.expectations.creationObserved(keyOf(rs));
      this.enqueue(rs);
      return;
    }
    // An orphan: every RS that matches it may want it. No creation is observed: no RS waits for
    // an orphan.
    for (const rs of this.getPodReplicaSets(pod)) this.enqueue(rs);
  }

  private updatePod(old: Pod, cur: Pod): void {
    // A resync sends the same version again: nothing changed.
    if (cur.metadata.resourceVersion === old.metadata.resourceVersion) return;
    if (cur.metadata.deletionTimestamp !== undefined) {
      // A graceful deletion started: count it as the delete now, so the RS makes a replacement
      // without waiting for the kubelet to finish (kube does the same).
      this.deletePod(cur);
      if (!labelsEqual(cur.metadata.labels, old.metadata.labels)) this.deletePod(old);
      return;
    }
    const u = dependentUpdate(
      old,
      cur,
      (ns, ref) => this.resolveControllerRef(ns, ref),
      (p) => this.getPodReplicaSets(p),
    );
    if (u.oldController !== undefined) this.enqueue(u.oldController);
    const rs = u.controller;
    if (rs !== undefined) {
      this.enqueue(rs);
      // The pod turns available minReadySeconds after turning ready, and no event says so:
      // look again then (kube adds a second against timer skew).
      const minReady = rs.spec.minReadySeconds ?? 0;
      if (!isPodReady(old) && isPodReady(cur) && minReady > 0) this.enqueueAfter(rs, minReady * 1000 + 1000);
    }
    for (const candidate of u.adopters) this.enqueue(candidate);
  }

  private deletePod(obj: Pod, tombstone?: DeletedFinalStateUnknown<Pod>): void {
    const pod = deletedObject(obj, tombstone);
    const ref = getControllerOf(pod);
    if (ref === undefined) return; // no controller cares about an orphan's deletion
    const rs = this.resolveControllerRef(pod.metadata.namespace, ref);
    if (rs === undefined) return;
    const rsKey = keyOf(rs);
    this.expectations.deletionObservedOf(rsKey, podKey(pod));
    this.queue.add(rsKey);
  }

  /** The RS as read from the cache, or undefined (kube's rsLister.Get). */
  cachedReplicaSet(key: string): ReplicaSet | undefined {
    const [namespace, name] = splitMetaNamespaceKey(key);
    return this.rsInformer.lister().namespace(namespace).get(name);
  }
}
