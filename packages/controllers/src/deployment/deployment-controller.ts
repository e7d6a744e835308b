/**
 * kube's DeploymentController (pkg/controller/deployment/deployment_controller.go): informers on
 * Deployments, ReplicaSets and pods feed the "deployment" work queue; syncDeployment claims the
 * Deployment's ReplicaSets (adopting matching orphans, releasing owned ones that stopped
 * matching), then takes one step: status only while being deleted; scaling only while paused
 * or on a scaling event; else a Recreate or RollingUpdate step. apps/v1 has no server-side
 * rollback (`kubectl rollout undo` patches the template itself).
 */
import type { Pod } from "@skiff/api";
import {
  cloneObject,
  type DeletedFinalStateUnknown,
  type EventRecorder,
  type Informer,
  keyOf,
  type Lister,
  splitMetaNamespaceKey,
  toSelector,
} from "@skiff/client";
import type { ControllerContext } from "../context.js";
import { deletedObject, QueueController } from "../controller.js";
import {
  claimObjects,
  getControllerOf,
  recheckController,
  resolveControllerRef,
} from "../util/controller-ref.js";
import { dependentUpdate } from "../util/owner-events.js";
import { nonEmptySelectorMatches } from "../util/selector.js";
import { rolloutRecreate } from "./recreate.js";
import { rolloutRolling } from "./rolling.js";
import { checkPausedConditions, isScalingEvent, sync, syncStatusOnly } from "./sync.js";
import { type DeploymentSyncer, deploymentsOf, replicaSetsOf, updateDeploymentStatus } from "./syncer.js";
import { type Deployment, deploymentGVK, type ReplicaSet } from "./types.js";

export class DeploymentController extends QueueController implements DeploymentSyncer {
  readonly client: ControllerContext["client"];
  readonly recorder: EventRecorder;
  readonly logger: ControllerContext["log"];
  readonly dInformer: Informer<Deployment>;
  readonly rsInformer: Informer<ReplicaSet>;
  readonly podInformer: Informer<Pod>;
  private readonly dLister: Lister<Deployment>;
  private readonly rsLister: Lister<ReplicaSet>;
  private readonly podLister: Lister<Pod>;

  constructor(ctx: ControllerContext) {
    super("deployment-controller", ctx, { queueName: "deployment" });
    this.client = ctx.client;
    this.recorder = ctx.recorder("deployment-controller");
    this.logger = ctx.log;
    this.dInformer = ctx.informers.informerFor<Deployment>("apps/v1", "deployments");
    this.rsInformer = ctx.informers.informerFor<ReplicaSet>("apps/v1", "replicasets");
    this.podInformer = ctx.informers.informerFor<Pod>("v1", "pods");
    this.dLister = this.dInformer.lister();
    this.rsLister = this.rsInformer.lister();
    this.podLister = this.podInformer.lister();
    this.dInformer.addEventHandler({
      onAdd: (d) => this.enqueue(d),
      onUpdate: (_old, cur) => this.enqueue(cur),
      onDelete: (d, tombstone) => this.enqueue(deletedObject(d, tombstone)),
    });
    this.rsInformer.addEventHandler({
      onAdd: (rs) => this.addReplicaSet(rs),
      onUpdate: (old, cur) => this.updateReplicaSet(old, cur),
      onDelete: (rs, tombstone) => this.deleteReplicaSet(rs, tombstone),
    });
    this.podInformer.addEventHandler({ onDelete: (pod, tombstone) => this.deletePod(pod, tombstone) });
  }

  now(): number {
    return this.ctx.clock.now();
  }

  enqueueRateLimited(d: Deployment): void {
    this.queue.addRateLimited(keyOf(d));
  }

  getReplicaSet(namespace: string, name: string): ReplicaSet | undefined {
    return this.rsLister.namespace(namespace).get(name);
  }

  // --- event handlers ---

  /** addReplicaSet: its controller, or for an orphan every Deployment that could adopt it. */
  private addReplicaSet(rs: ReplicaSet): void {
    if (rs.metadata.deletionTimestamp !== undefined) {
      // Seen already being deleted (e.g. after a restart): as a delete.
      this.deleteReplicaSet(rs);
      return;
    }
    const ref = getControllerOf(rs);
    if (ref !== undefined) {
      const d = this.resolveControllerRef(rs.metadata.namespace, ref);
      if (d !== undefined) this.enqueue(d);
      return;
    }
    for (const d of this.getDeploymentsForReplicaSet(rs)) this.enqueue(d);
  }

  private updateReplicaSet(old: ReplicaSet, cur: ReplicaSet): void {
    // A resync: nothing changed.
    if (cur.metadata.resourceVersion === old.metadata.resourceVersion) return;
    const u = dependentUpdate(
      old,
      cur,
      (ns, ref) => this.resolveControllerRef(ns, ref),
      (rs) => this.getDeploymentsForReplicaSet(rs),
    );
    if (u.oldController !== undefined) this.enqueue(u.oldController);
    if (u.controller !== undefined) this.enqueue(u.controller);
    for (const d of u.adopters) this.enqueue(d);
  }

  /** deleteReplicaSet: only an owned ReplicaSet matters (orphans are nobody's). */
  private deleteReplicaSet(obj: ReplicaSet, tombstone?: DeletedFinalStateUnknown<ReplicaSet>): void {
    const rs = deletedObject(obj, tombstone);
    const ref = getControllerOf(rs);
    if (ref === undefined) return;
    const d = this.resolveControllerRef(rs.metadata.namespace, ref);
    if (d !== undefined) this.enqueue(d);
  }

  /** deletePod: a Recreate Deployment waits for its old pods to be gone; sync it once none is left. */
  private deletePod(obj: Pod, tombstone?: DeletedFinalStateUnknown<Pod>): void {
    const pod = deletedObject(obj, tombstone);
    const d = this.getDeploymentForPod(pod);
    if (d === undefined || d.spec.strategy?.type !== "Recreate") return;
    const rsList = this.rsLister
      .namespace(d.metadata.namespace)
      .list()
      .filter((rs) => getControllerOf(rs)?.uid === d.metadata.uid);
    let numPods = 0;
    for (const pods of this.getPodMapForDeployment(d, rsList).values()) numPods += pods.length;
    if (numPods === 0) this.enqueue(d);
  }

  /** resolveControllerRef: the Deployment a controller reference names, if it is that one. */
  private resolveControllerRef(
    namespace: string,
    ref: { kind: string; name: string; uid: string },
  ): Deployment | undefined {
    return resolveControllerRef(this.dLister, deploymentGVK.kind, namespace, ref);
  }

  /** DeploymentLister.GetDeploymentsForReplicaSet: non-empty selectors matching its labels. */
  private getDeploymentsForReplicaSet(rs: ReplicaSet): Deployment[] {
    if (Object.keys(rs.metadata.labels ?? {}).length === 0) return [];
    return this.dLister
      .namespace(rs.metadata.namespace)
      .list()
      .filter((d) => nonEmptySelectorMatches(d.spec?.selector, rs.metadata.labels));
  }

  /** getDeploymentForPod: pod -> its controlling ReplicaSet -> that one's Deployment. */
  private getDeploymentForPod(pod: Pod): Deployment | undefined {
    const ref = getControllerOf(pod);
    if (ref === undefined) return undefined;
    const rs = resolveControllerRef(this.rsLister, "ReplicaSet", pod.metadata.namespace, ref);
    if (rs === undefined) return undefined;
    const rsRef = getControllerOf(rs);
    return rsRef === undefined ? undefined : this.resolveControllerRef(rs.metadata.namespace, rsRef);
  }

  // --- sync ---

  /** syncDeployment. */
  async sync(key: string): Promise<void> {
    const [namespace, name] = splitMetaNamespaceKey(key);
    const cached = this.dLister.namespace(namespace).get(name);
    if (cached === undefined) return; // deleted: its ReplicaSets go with the garbage collector
    const d = cloneObject(cached);
    d.apiVersion ??= deploymentGVK.apiVersion;
    d.kind ??= deploymentGVK.kind;
    if (d.spec.selector !== undefined && toSelector(d.spec.selector).empty()) {
      this.recorder.event(
        d,
        "Warning",
        "SelectingAll",
        "This deployment is selecting all pods. A non-empty selector is required.",
      );
      if ((d.status?.observedGeneration ?? 0) < (d.metadata.generation ?? 0)) {
        d.status = { ...d.status, observedGeneration: d.metadata.generation as number };
        await updateDeploymentStatus(this, d);
      }
      return;
    }
    const rsList = await this.getReplicaSetsForDeployment(d);
    const podMap = this.getPodMapForDeployment(d, rsList);
    if (d.metadata.deletionTimestamp !== undefined) return syncStatusOnly(this, d, rsList);
    await checkPausedConditions(this, d);
    if (d.spec.paused === true) return sync(this, d, rsList);
    if (await isScalingEvent(this, d, rsList)) return sync(this, d, rsList);
    switch (d.spec.strategy?.type) {
      case "Recreate":
        return rolloutRecreate(this, d, rsList, podMap);
      case "RollingUpdate":
        return rolloutRolling(this, d, rsList);
      default:
        throw new Error(`unexpected deployment strategy type: ${d.spec.strategy?.type}`);
    }
  }

  /**
   * getReplicaSetsForDeployment: the namespace's ReplicaSets this Deployment owns after
   * adoption and release (ControllerRefManager.ClaimReplicaSets).
   */
  async getReplicaSetsForDeployment(d: Deployment): Promise<ReplicaSet[]> {
    const ns = d.metadata.namespace;
    const selector = toSelector(d.spec.selector);
    return claimObjects(this.rsLister.namespace(ns).list(), {
      controller: d,
      gvk: deploymentGVK,
      match: (rs) => d.spec.selector !== undefined && selector.matches(rs.metadata.labels),
      client: (namespace) => replicaSetsOf(this, namespace),
      canAdopt: recheckController(() => deploymentsOf(this, ns).get(d.metadata.name), d),
    });
  }

  /**
   * getPodMapForDeployment: the pods matching the Deployment's selector, grouped by the uid of
   * the ReplicaSet (among rsList) that controls them; every ReplicaSet has an entry.
   */
  getPodMapForDeployment(d: Deployment, rsList: ReplicaSet[]): Map<string, Pod[]> {
    const podMap = new Map<string, Pod[]>();
    for (const rs of rsList) podMap.set(rs.metadata.uid as string, []);
    if (d.spec.selector === undefined) return podMap;
    for (const pod of this.podLister.namespace(d.metadata.namespace).list(d.spec.selector)) {
      const ref = getControllerOf(pod);
      if (ref !== undefined) podMap.get(ref.uid)?.push(pod);
    }
    return podMap;
  }
}
