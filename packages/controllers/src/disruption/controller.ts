/**
 * The disruption controller (kube's pkg/controller/disruption): keeps each PodDisruptionBudget's
 * status true to the pods it selects, which is what the API server's eviction subresource checks
 * (and decrements) before letting `kubectl drain` evict a pod. From the selected pods and the
 * scale of their controllers it writes expectedPods, desiredHealthy (minAvailable, or
 * expectedPods - maxUnavailable; percentages of the controllers' summed scale, rounded up),
 * currentHealthy (ready pods not being deleted and not awaiting an admitted eviction),
 * disruptionsAllowed, observedGeneration, the DisruptionAllowed condition, and disruptedPods
 * without the entries whose pod is gone, being deleted, or was never deleted within
 * DeletionTimeout. When the status cannot be computed (a pod's controller is not found or has no
 * scale) it fails safe: disruptionsAllowed 0 and DisruptionAllowed=False/SyncFailed, so no
 * eviction gets through. A second queue resets DisruptionTarget pod conditions left True for
 * 2 minutes on pods that were never deleted.
 */
import type { Pod } from "@skiff/api";
import {
  cloneObject,
  defaultControllerRateLimiter,
  type EventRecorder,
  isConflict,
  type Lister,
  RateLimitingQueue,
  splitMetaNamespaceKey,
  toSelector,
} from "@skiff/client";
import type { ControllerContext } from "../context.js";
import { deletedObject, processNextWorkItem, QueueController, runWorkers } from "../controller.js";
import type { ControllerDescriptor } from "../registry.js";
import { getExpectedPodCount } from "./expected.js";
import { type PodControllerFinder, podControllerFinders } from "./finders.js";
import { staleDisruptionCleanupAfter, withDisruptionTargetFalse } from "./stale-disruption.js";
import {
  buildDisruptedPodMap,
  conditionsAreUpToDate,
  countHealthyPods,
  setStatusCondition,
  updateDisruptionAllowedCondition,
} from "./status.js";
import {
  DISRUPTION_ALLOWED_CONDITION,
  type PodDisruptionBudget,
  type ScalableObject,
  SYNC_FAILED_REASON,
} from "./types.js";

export class DisruptionController extends QueueController {
  /** Pod keys whose DisruptionTarget condition may have gone stale (kube's stalePodDisruptionQueue). */
  readonly stalePodDisruptionQueue: RateLimitingQueue<string>;
  private readonly pdbs: Lister<PodDisruptionBudget>;
  private readonly pods: Lister<Pod>;
  private readonly finders: PodControllerFinder[];
  private readonly recorder: EventRecorder;

  constructor(ctx: ControllerContext) {
    super("disruption-controller", ctx, { queueName: "disruption" });
    this.stalePodDisruptionQueue = new RateLimitingQueue<string>({
      name: "stale_pod_disruption",
      clock: ctx.clock,
      registry: ctx.metrics,
      rateLimiter: defaultControllerRateLimiter(ctx.clock),
    });
    // kube's disruption controller records as "controllermanager".
    this.recorder = ctx.recorder("controllermanager");
    const podInformer = ctx.informers.informerFor<Pod>("v1", "pods");
    const pdbInformer = ctx.informers.informerFor<PodDisruptionBudget>("policy/v1", "poddisruptionbudgets");
    this.pods = podInformer.lister();
    this.pdbs = pdbInformer.lister();
    this.finders = podControllerFinders({
      client: ctx.client,
      replicaSets: ctx.informers.informerFor<ScalableObject>("apps/v1", "replicasets").lister(),
      deployments: ctx.informers.informerFor<ScalableObject>("apps/v1", "deployments").lister(),
      statefulSets: ctx.informers.informerFor<ScalableObject>("apps/v1", "statefulsets").lister(),
    });
    pdbInformer.addEventHandler({
      onAdd: (pdb) => this.enqueue(pdb),
      onUpdate: (_old, pdb) => this.enqueue(pdb),
      onDelete: (pdb, tombstone) => this.enqueue(deletedObject(pdb, tombstone)),
    });
    podInformer.addEventHandler({
      onAdd: (pod) => this.podChanged(pod, true),
      onUpdate: (_old, pod) => this.podChanged(pod, true),
      onDelete: (pod, tombstone) => this.podChanged(deletedObject(pod, tombstone), false),
    });
  }

  private podChanged(pod: Pod, checkStale: boolean): void {
    const pdb = this.getPdbForPod(pod);
    if (pdb !== undefined) this.enqueue(pdb);
    if (!checkStale) return;
    const cleanAfter = staleDisruptionCleanupAfter(pod, this.ctx.clock.now());
    if (cleanAfter !== undefined)
      this.stalePodDisruptionQueue.addAfter(`${pod.metadata.namespace}/${pod.metadata.name}`, cleanAfter);
  }

  /** getPdbForPod: the first budget whose selector matches the pod (a warning event if several do). */
  private getPdbForPod(pod: Pod): PodDisruptionBudget | undefined {
    const pdbs = this.getPodDisruptionBudgets(pod);
    const first = pdbs[0];
    if (pdbs.length > 1 && first !== undefined)
      this.recorder.event(
        pod,
        "Warning",
        "MultiplePodDisruptionBudgets",
        `Pod "${pod.metadata.namespace}"/"${pod.metadata.name}" matches multiple PodDisruptionBudgets.  Chose "${first.metadata.name}" arbitrarily.`,
      );
    return first;
  }

  /**
   * GetPodPodDisruptionBudgets: the budgets of the pod's namespace selecting it. A budget without
   * a selector selects nothing; an empty selector selects every pod (policy/v1).
   */
  private getPodDisruptionBudgets(pod: Pod): PodDisruptionBudget[] {
    return this.pdbs
      .namespace(pod.metadata.namespace)
      .list()
      .filter((pdb) => {
        const sel = pdb.spec?.selector;
        if (sel === undefined) return false;
        try {
          return toSelector(sel).matches(pod.metadata.labels);
        } catch {
          return false; // an invalid selector matches nothing
        }
      });
  }

  override async run(workers: number, signal: AbortSignal): Promise<void> {
    const stale = runWorkers(this.stalePodDisruptionQueue, 1, signal, () =>
      this.processNextStalePodDisruptionWorkItem(),
    );
    await Promise.all([super.run(workers, signal), stale]);
  }

  /** One key of the stale-condition queue; exposed for tests. */
  processNextStalePodDisruptionWorkItem(): Promise<boolean> {
    return processNextWorkItem(
      this.stalePodDisruptionQueue,
      (key) => this.syncStalePodDisruption(key),
      (key, e) =>
        this.log.warn(
          { controller: this.name, pod: key, err: e instanceof Error ? e.message : String(e) },
          "error syncing Pod to clear DisruptionTarget condition, requeueing",
        ),
    );
  }

  /** sync: the budget's status; any failure but a conflict fails safe (SyncFailed). */
  async sync(key: string): Promise<void> {
    const [namespace, name] = splitMetaNamespaceKey(key);
    const pdb = this.pdbs.namespace(namespace).get(name);
    if (pdb === undefined) return;
    try {
      await this.trySync(pdb);
    } catch (e) {
      // A conflict is an outdated cache: retry as usual, without touching the status.
      if (isConflict(e)) throw e;
      this.log.warn({ controller: this.name, pdb: key, err: messageOf(e) }, "Failed to sync PDB");
      await this.failSafe(pdb, e);
    }
  }

  private async trySync(pdb: PodDisruptionBudget): Promise<void> {
    const pods = this.getPodsForPdb(pdb);
    if (pods.length === 0) this.recorder.eventf(pdb, "Normal", "NoPods", "No matching pods found");
    let counts: { expectedCount: number; desiredHealthy: number; unmanagedPods: string[] };
    try {
      counts = await getExpectedPodCount(pdb, pods, this.finders);
    } catch (e) {
      this.recorder.eventf(
        pdb,
        "Warning",
        "CalculateExpectedPodCountFailed",
        "Failed to calculate the number of expected pods: %v",
        messageOf(e),
      );
      throw e;
    }
    if (counts.unmanagedPods.length > 0)
      this.recorder.eventf(
        pdb,
        "Warning",
        "UnmanagedPods",
        'Pods selected by this PodDisruptionBudget (selector: %v) were found to be unmanaged. As a result, the status of the PDB cannot be calculated correctly, which may result in undefined behavior. To account for these pods please set ".spec.minAvailable" field of the PDB to an integer value.',
        JSON.stringify(pdb.spec?.selector ?? {}),
      );
    const now = this.ctx.clock.now();
    const { disruptedPods, notDeleted, recheckAt } = buildDisruptedPodMap(pods, pdb, now);
    for (const pod of notDeleted)
      this.recorder.eventf(
        pod,
        "Warning",
        "NotDeleted",
        "Pod was expected by PDB %s/%s to be deleted but it wasn't",
        pdb.metadata.namespace,
        pdb.metadata.namespace,
      );
    const currentHealthy = countHealthyPods(pods, disruptedPods, now);
    await this.updatePdbStatus(
      pdb,
      currentHealthy,
      counts.desiredHealthy,
      counts.expectedCount,
      disruptedPods,
    );
    // Look again when the first awaited eviction times out (kube's recheck queue).
    if (recheckAt !== undefined) this.enqueueAfter(pdb, recheckAt - now);
  }

  /** getPodsForPdb: the pods of the budget's namespace its selector selects (none without one). */
  private getPodsForPdb(pdb: PodDisruptionBudget): Pod[] {
    const sel = pdb.spec?.selector;
    if (sel === undefined) return [];
    return this.pods.namespace(pdb.metadata.namespace).list(sel);
  }

  /**
   * updatePdbStatus: disruptionsAllowed = currentHealthy - desiredHealthy, never below 0, and 0
   * while no pods are expected (a budget whose first pods just appeared stays safe until synced).
   */
  private async updatePdbStatus(
    pdb: PodDisruptionBudget,
    currentHealthy: number,
    desiredHealthy: number,
    expectedCount: number,
    disruptedPods: Record<string, string>,
  ): Promise<void> {
    let disruptionsAllowed = currentHealthy - desiredHealthy;
    if (expectedCount <= 0 || disruptionsAllowed <= 0) disruptionsAllowed = 0;
    const s = pdb.status ?? {};
    if (
      (s.currentHealthy ?? 0) === currentHealthy &&
      (s.desiredHealthy ?? 0) === desiredHealthy &&
      (s.expectedPods ?? 0) === expectedCount &&
      (s.disruptionsAllowed ?? 0) === disruptionsAllowed &&
      sameDisruptedPods(s.disruptedPods, disruptedPods) &&
      (s.observedGeneration ?? 0) === (pdb.metadata.generation ?? 0) &&
      conditionsAreUpToDate(pdb)
    )
      return;
    const next = cloneObject(pdb) as PodDisruptionBudget;
    next.status = {
      currentHealthy,
      desiredHealthy,
      expectedPods: expectedCount,
      disruptionsAllowed,
      disruptedPods,
      observedGeneration: pdb.metadata.generation ?? 0,
      ...(next.status?.conditions === undefined ? {} : { conditions: next.status.conditions }),
    };
    updateDisruptionAllowedCondition(next, this.ctx.clock.now());
    await this.writePdbStatus(next);
  }

  /**
   * failSafe: disruptionsAllowed 0 and DisruptionAllowed=False/SyncFailed with the error, so the
   * eviction subresource refuses while the status cannot be trusted. Returns normally once
   * written: the budget is synced again when its pods or itself change.
   */
  private async failSafe(pdb: PodDisruptionBudget, err: unknown): Promise<void> {
    const next = cloneObject(pdb) as PodDisruptionBudget;
    const status = next.status ?? {};
    status.disruptionsAllowed = 0;
    status.conditions = setStatusCondition(
      status.conditions ?? [],
      {
        type: DISRUPTION_ALLOWED_CONDITION,
        status: "False",
        reason: SYNC_FAILED_REASON,
        message: messageOf(err),
        observedGeneration: status.observedGeneration ?? 0,
      },
      this.ctx.clock.now(),
    );
    next.status = status;
    await this.writePdbStatus(next);
  }

  private async writePdbStatus(pdb: PodDisruptionBudget): Promise<void> {
    await this.ctx.client
      .resource<PodDisruptionBudget>("policy/v1", "poddisruptionbudgets", pdb.metadata.namespace)
      .updateStatus(pdb);
  }

  /** syncStalePodDisruption: sets a stale DisruptionTarget condition to False. */
  async syncStalePodDisruption(key: string): Promise<void> {
    const [namespace, name] = splitMetaNamespaceKey(key);
    const pod = this.pods.namespace(namespace).get(name);
    if (pod === undefined) return;
    const cleanAfter = staleDisruptionCleanupAfter(pod, this.ctx.clock.now());
    if (cleanAfter === undefined) return;
    if (cleanAfter > 0) {
      this.stalePodDisruptionQueue.addAfter(key, cleanAfter);
      return;
    }
    await this.ctx.client
      .resource<Pod>("v1", "pods", namespace)
      .updateStatus(withDisruptionTargetFalse(pod, this.ctx.clock.now()));
    this.log.info({ controller: this.name, pod: key }, "Reset stale DisruptionTarget condition to False");
  }
}

function sameDisruptedPods(a: Record<string, string> | undefined, b: Record<string, string>): boolean {
  const ka = Object.keys(a ?? {});
  return ka.length === Object.keys(b).length && ka.every((k) => a?.[k] === b[k]);
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** kube 1.32's newDisruptionControllerDescriptor (one worker, as kube's). */
export const disruptionControllerDescriptor: ControllerDescriptor = {
  name: "disruption-controller",
  aliases: ["disruption"],
  init: (ctx) => new DisruptionController(ctx),
};
