/**
 * kube's defaultStatefulSetControl (stateful_set_control.go): one step of a StatefulSet. The
 * revisions give the current and update templates; each ordinal in range gets its pod, created
 * from the revision its ordinal belongs to. OrderedReady creates one pod at a time, only once all
 * lower ordinals are Running and Ready (and available), and removes pods from the highest ordinal
 * down, waiting for each to be gone; Parallel does both at once in slow-start batches. A failed
 * or succeeded pod is deleted and created again only once its deletion has finished, so at most
 * one pod per ordinal ever runs. A rolling update then deletes, highest ordinal first and down to
 * the partition, one pod not at the update revision whenever all are available.
 */
import type { Pod } from "@skiff/api";
import { type Clock, cloneObject, isNotFound, toSelector } from "@skiff/client";
import {
  equalRevision,
  findEqualRevisions,
  type History,
  nextRevision,
  revisionsToTruncate,
  sortControllerRevisions,
} from "../history/controller-history.js";
import type { ControllerRevision } from "../history/types.js";
import { slowStartBatch } from "../util/pod-control.js";
import type { StatefulPodControl } from "./pod-control.js";
import type { StatefulSetStatusUpdater } from "./status-updater.js";
import type { StatefulSet, StatefulSetStatus } from "./types.js";
import {
  allowsBurst,
  applyRevision,
  completeRollingUpdate,
  getOrdinal,
  getPodRevision,
  getStartOrdinal,
  getStatefulSetMaxUnavailable,
  identityMatches,
  inconsistentStatus,
  isCreated,
  isFailed,
  isPending,
  isRunningAndAvailable,
  isRunningAndReady,
  isSucceeded,
  isTerminating,
  isUnavailable,
  newRevision,
  newVersionedStatefulSetPod,
  podInOrdinalRange,
  storageMatches,
} from "./utils.js";

export interface StatefulSetControlOptions {
  /** The MaxUnavailableStatefulSet feature (alpha in kube 1.32, off): honour rollingUpdate.maxUnavailable. */
  maxUnavailableStatefulSet?: boolean;
}

interface Revisions {
  current: ControllerRevision;
  update: ControllerRevision;
  collisionCount: number;
}

/** Counts of pods (computeReplicaStatus / updateStatus). */
function updateStatus(
  status: StatefulSetStatus,
  minReadySeconds: number,
  now: number,
  revs: Revisions,
  ...podLists: readonly Pod[][]
): void {
  Object.assign(status, {
    replicas: 0,
    readyReplicas: 0,
    availableReplicas: 0,
    currentReplicas: 0,
    updatedReplicas: 0,
  });
  for (const pods of podLists)
    for (const pod of pods) {
      if (isCreated(pod)) status.replicas++;
      if (isRunningAndReady(pod)) {
        status.readyReplicas = (status.readyReplicas ?? 0) + 1;
        if (isRunningAndAvailable(pod, minReadySeconds, now))
          status.availableReplicas = (status.availableReplicas ?? 0) + 1;
      }
      if (isCreated(pod) && !isTerminating(pod)) {
        const r = getPodRevision(pod);
        if (r === revs.current.metadata.name) status.currentReplicas = (status.currentReplicas ?? 0) + 1;
        if (r === revs.update.metadata.name) status.updatedReplicas = (status.updatedReplicas ?? 0) + 1;
      }
    }
}

/**
 * runForAll: monotonic, in order until one asks to stop; otherwise all at once in slow-start
 * batches (the first failure stops the batches).
 */
async function runForAll(
  count: number,
  fn: (i: number) => Promise<boolean>,
  monotonic: boolean,
): Promise<boolean> {
  if (monotonic) {
    for (let i = 0; i < count; i++) if (await fn(i)) return true;
    return false;
  }
  const { error } = await slowStartBatch(count, 1, fn);
  if (error !== undefined) throw error;
  return false;
}

export class StatefulSetControl {
  private readonly statusUpdater: StatefulSetStatusUpdater;

  constructor(
    private readonly podControl: StatefulPodControl,
    private readonly history: History,
    statusUpdater: StatefulSetStatusUpdater,
    private readonly clock: Clock,
    private readonly opts: StatefulSetControlOptions = {},
  ) {
    this.statusUpdater = statusUpdater;
  }

  /** ListRevisions: the revisions the set owns or nobody owns, matching its selector. */
  listRevisions(set: StatefulSet): ControllerRevision[] {
    return this.history.listControllerRevisions(set, toSelector(set.spec.selector));
  }

  /** UpdateStatefulSet: one step; returns the status written (undefined if it failed early). */
  async updateStatefulSet(cached: StatefulSet, pods: readonly Pod[]): Promise<StatefulSetStatus | undefined> {
    const set = cloneObject(cached);
    const revisions = sortControllerRevisions(this.listRevisions(set));
    let revs: Revisions | undefined;
    let status: StatefulSetStatus | undefined;
    try {
      revs = await this.getStatefulSetRevisions(set, revisions);
      status = await this.performUpdate(set, pods, revs);
    } catch (e) {
      // The revision history limit is kept even when the step failed; the step's error wins.
      await this.truncateHistory(set, pods, revisions, revs).catch(() => undefined);
      throw e;
    }
    await this.truncateHistory(set, pods, revisions, revs);
    return status;
  }

  /** performUpdate: the step, then the status, written even when the step failed part way. */
  private async performUpdate(
    set: StatefulSet,
    pods: readonly Pod[],
    revs: Revisions,
  ): Promise<StatefulSetStatus> {
    const status: StatefulSetStatus = {
      observedGeneration: set.metadata.generation ?? 0,
      currentRevision: revs.current.metadata.name as string,
      updateRevision: revs.update.metadata.name as string,
      collisionCount: revs.collisionCount,
      replicas: 0,
    };
    let err: unknown;
    try {
      await this.updateStatefulSetPods(set, revs, pods, status);
    } catch (e) {
      err = e;
    }
    try {
      await this.updateStatefulSetStatus(set, status);
    } catch (statusErr) {
      if (err === undefined) throw statusErr;
    }
    if (err !== undefined) throw err;
    return status;
  }

  /**
   * getStatefulSetRevisions: the update revision is the present template's: the newest revision
   * if equal, an older equal one renumbered (a rollback), else a new one. The current revision is
   * the one status.currentRevision names, else the update revision.
   */
  private async getStatefulSetRevisions(
    set: StatefulSet,
    revisions: ControllerRevision[],
  ): Promise<Revisions> {
    let collisionCount = set.status?.collisionCount ?? 0;
    let update = newRevision(set, nextRevision(revisions), collisionCount);
    const equal = findEqualRevisions(revisions, update);
    const last = revisions[revisions.length - 1];
    const lastEqual = equal[equal.length - 1];
    if (lastEqual !== undefined && equalRevision(last, lastEqual)) update = last as ControllerRevision;
    else if (lastEqual !== undefined)
      update = await this.history.updateControllerRevision(lastEqual, update.revision);
    else
      ({ revision: update, collisionCount } = await this.history.createControllerRevision(
        set,
        update,
        collisionCount,
      ));
    const current = revisions.find((r) => r.metadata.name === set.status?.currentRevision) ?? update;
    return { current, update, collisionCount };
  }

  /** truncateHistory: non-live revisions beyond revisionHistoryLimit go, oldest first. */
  private async truncateHistory(
    set: StatefulSet,
    pods: readonly Pod[],
    revisions: readonly ControllerRevision[],
    revs: Revisions | undefined,
  ): Promise<void> {
    const live = new Set<string>(pods.map(getPodRevision));
    if (revs !== undefined) {
      live.add(revs.current.metadata.name as string);
      live.add(revs.update.metadata.name as string);
    }
    for (const r of revisionsToTruncate(revisions, live, set.spec.revisionHistoryLimit ?? 10))
      await this.history.deleteControllerRevision(r);
  }

  /** updateStatefulSet (the pods): see the file's comment. Fills status as it goes. */
  private async updateStatefulSetPods(
    set: StatefulSet,
    revs: Revisions,
    pods: readonly Pod[],
    status: StatefulSetStatus,
  ): Promise<void> {
    const currentSet = applyRevision(set, revs.current);
    const updateSet = applyRevision(set, revs.update);
    const minReady = set.spec.minReadySeconds ?? 0;
    const now = this.clock.now();
    updateStatus(status, minReady, now, revs, [...pods]);
    const start = getStartOrdinal(set);
    const replicaCount = set.spec.replicas ?? 1;
    const replicas: Pod[] = [];
    const condemned: Pod[] = [];
    for (const pod of pods) {
      if (podInOrdinalRange(pod, set)) replicas[getOrdinal(pod) - start] = pod;
      else if (getOrdinal(pod) >= 0) condemned.push(pod);
    }
    const currentName = revs.current.metadata.name as string;
    const updateName = revs.update.metadata.name as string;
    for (let i = 0; i < replicaCount; i++)
      replicas[i] ??= newVersionedStatefulSetPod(currentSet, updateSet, currentName, updateName, i + start);
    condemned.sort((a, b) => getOrdinal(b) - getOrdinal(a));
    const unavailable = (p: Pod) => isUnavailable(p, minReady, now);
    // The first unavailable pod: lowest ordinal in range, else the lowest condemned one.
    const firstUnavailablePod = replicas.find(unavailable) ?? [...condemned].reverse().find(unavailable);
    const recount = () => updateStatus(status, minReady, now, revs, replicas, condemned);
    // A set being deleted only gets its status.
    if (set.metadata.deletionTimestamp !== undefined) return;
    const monotonic = !allowsBurst(set);
    try {
      if (
        await runForAll(
          replicas.length,
          (i) => this.processReplica(set, updateSet, monotonic, replicas, i),
          monotonic,
        )
      )
        return;
      // Claim owners of condemned pods, for the retention policy.
      const fixClaims = async (i: number) => {
        const pod = condemned[i] as Pod;
        if (!this.podControl.claimsMatchRetentionPolicy(updateSet, pod))
          await this.podControl.updatePodClaimForRetentionPolicy(updateSet, pod);
        return false;
      };
      if (await runForAll(condemned.length, fixClaims, monotonic)) return;
      // Scale down: monotonic waits for all predecessors to be available, highest ordinal first.
      const scaleDown = (i: number) =>
        this.processCondemned(set, firstUnavailablePod, monotonic, condemned, i);
      if (await runForAll(condemned.length, scaleDown, monotonic)) return;
    } finally {
      recount();
    }
    if (set.spec.updateStrategy?.type === "OnDelete") return;
    await this.rollingUpdate(set, replicas, updateName, status, unavailable);
  }

  /** processReplica: one ordinal in range; true to stop (monotonic). */
  private async processReplica(
    set: StatefulSet,
    updateSet: StatefulSet,
    monotonic: boolean,
    replicas: Pod[],
    i: number,
  ): Promise<boolean> {
    const pod = replicas[i] as Pod;
    // A failed or succeeded pod is deleted; its successor comes in a later sync, once the old one
    // is gone from the API: never two pods of one ordinal.
    if (isFailed(pod) || isSucceeded(pod)) {
      if (!isTerminating(pod)) await this.podControl.deleteStatefulPod(set, pod);
      return true;
    }
    if (!isCreated(pod)) {
      // A claim left from an earlier pod of this ordinal, about to be collected: wait for it.
      if (this.podControl.podClaimIsStale(set, pod)) return true;
      await this.podControl.createStatefulPod(set, pod);
      if (monotonic) return true;
    }
    if (isPending(pod)) await this.podControl.createMissingPersistentVolumeClaims(set, pod);
    if (isTerminating(pod) && monotonic) return true;
    const minReady = set.spec.minReadySeconds ?? 0;
    if (monotonic && (!isRunningAndReady(pod) || !isRunningAndAvailable(pod, minReady, this.clock.now())))
      return true;
    const retentionMatch = this.podControl.claimsMatchRetentionPolicy(updateSet, pod);
    if (identityMatches(set, pod) && storageMatches(set, pod) && retentionMatch) return false;
    await this.podControl.updateStatefulPod(updateSet, pod);
    return false;
  }

  /** processCondemned: one pod out of range, deleted once (monotonic) its predecessors are available. */
  private async processCondemned(
    set: StatefulSet,
    firstUnavailablePod: Pod | undefined,
    monotonic: boolean,
    condemned: Pod[],
    i: number,
  ): Promise<boolean> {
    const pod = condemned[i] as Pod;
    if (isTerminating(pod)) return monotonic; // wait for the deletion to finish
    const minReady = set.spec.minReadySeconds ?? 0;
    const blocked = !isRunningAndReady(pod) || !isRunningAndAvailable(pod, minReady, this.clock.now());
    if (monotonic && blocked && pod !== firstUnavailablePod) return true;
    await this.podControl.deleteStatefulPod(set, pod);
    return true;
  }

  /** The RollingUpdate strategy: down to the partition, highest ordinal first. */
  private async rollingUpdate(
    set: StatefulSet,
    replicas: Pod[],
    updateName: string,
    status: StatefulSetStatus,
    unavailable: (p: Pod) => boolean,
  ): Promise<void> {
    const ru = set.spec.updateStrategy?.rollingUpdate;
    const updateMin = ru?.partition ?? 0;
    const needsUpdate = (p: Pod) => getPodRevision(p) !== updateName && !isTerminating(p);
    const deletePod = async (p: Pod) => {
      try {
        await this.podControl.deleteStatefulPod(set, p);
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
      status.currentReplicas = (status.currentReplicas ?? 0) - 1;
    };
    if (this.opts.maxUnavailableStatefulSet === true) {
      // updateStatefulSetAfterInvariantEstablished: up to maxUnavailable pods at once.
      const maxUnavailable = getStatefulSetMaxUnavailable(ru?.maxUnavailable, set.spec.replicas ?? 1);
      const unavailablePods = replicas.filter(unavailable).length;
      if (unavailablePods >= maxUnavailable) return;
      let toDelete = maxUnavailable - unavailablePods;
      for (let t = replicas.length - 1; t >= updateMin && toDelete > 0; t--) {
        const p = replicas[t] as Pod;
        if (!needsUpdate(p)) continue;
        await deletePod(p);
        toDelete--;
      }
      return;
    }
    for (let t = replicas.length - 1; t >= updateMin; t--) {
      const p = replicas[t] as Pod;
      if (needsUpdate(p)) {
        await deletePod(p);
        return;
      }
      if (unavailable(p)) return; // wait for the updated pod
    }
  }

  /** updateStatefulSetStatus: completes a finished rolling update; writes only a changed status. */
  private async updateStatefulSetStatus(set: StatefulSet, status: StatefulSetStatus): Promise<void> {
    completeRollingUpdate(set, status);
    if (!inconsistentStatus(set, status)) return;
    await this.statusUpdater.updateStatefulSetStatus(set, status);
  }
}
