/**
 * kube's syncReplicaSet and manageReplicas (pkg/controller/replicaset/replica_set.go): one
 * level-triggered step for one ReplicaSet key. Reads the RS and its pods from the caches, claims
 * the pods, creates or deletes at most burstReplicas pods when the expectations are satisfied,
 * then writes the status. A failed create or delete is thrown after the status (with its
 * ReplicaFailure condition) is written, so the key is retried with the queue's backoff.
 */
import type { Pod } from "@skiff/api";
import { cloneObject, keyOf, OwnerUidIndex, toSelector } from "@skiff/client";
import {
  claimObjects,
  getControllerOf,
  newControllerRef,
  recheckController,
} from "../util/controller-ref.js";
import { isNamespaceTerminating } from "../util/errors.js";
import { filterActivePods, filterPodsByOwner, podKey } from "../util/pod.js";
import { SLOW_START_INITIAL_BATCH_SIZE, slowStartBatch } from "../util/pod-control.js";
import type { ReplicaSetController } from "./replica-set.js";
import { calculateStatus, getPodsToDelete, updateReplicaSetStatus } from "./replica-set-utils.js";
import { REPLICA_SET_KIND, type ReplicaSet } from "./types.js";

export async function syncReplicaSet(c: ReplicaSetController, key: string): Promise<void> {
  const cached = c.cachedReplicaSet(key);
  if (cached === undefined) {
    c.expectations.deleteExpectations(key);
    return;
  }
  // A mutable copy, with its kind (list items may lack it) for owner references and events.
  const rs: ReplicaSet = { ...cloneObject(cached), ...REPLICA_SET_KIND };
  const rsNeedsSync = c.expectations.satisfiedExpectations(key);
  // The RS's own pods and the namespace's orphans, active only: the others are none of its business.
  const candidates = filterActivePods(
    filterPodsByOwner(c.podInformer.indexer, rs, REPLICA_SET_KIND.kind, true),
  );
  const filteredPods = await claimPods(c, rs, candidates);

  let manageReplicasErr: unknown;
  if (rsNeedsSync && rs.metadata.deletionTimestamp === undefined) {
    try {
      await manageReplicas(c, filteredPods, rs);
    } catch (e) {
      manageReplicasErr = e;
    }
  }
  const now = c.context.clock.now();
  const newStatus = calculateStatus(rs, filteredPods, manageReplicasErr, now);
  const client = c.context.client.resource<ReplicaSet>("apps/v1", "replicasets", rs.metadata.namespace);
  const updated = await updateReplicaSetStatus(client, rs, newStatus);
  // A last look once minReadySeconds have passed, against clock skew (as kube).
  const minReady = updated.spec.minReadySeconds ?? 0;
  const replicas = updated.spec.replicas ?? 1;
  if (
    manageReplicasErr === undefined &&
    minReady > 0 &&
    updated.status?.readyReplicas === replicas &&
    updated.status?.availableReplicas !== replicas
  )
    c.queue.addAfter(key, minReady * 1000);
  if (manageReplicasErr !== undefined) throw manageReplicasErr;
}

/** kube's claimPods: the ControllerRefManager's claim, with canAdopt a fresh read of the RS. */
function claimPods(c: ReplicaSetController, rs: ReplicaSet, pods: readonly Pod[]): Promise<Pod[]> {
  const client = c.context.client;
  const rsClient = client.resource<ReplicaSet>("apps/v1", "replicasets", rs.metadata.namespace);
  const selector = toSelector(rs.spec.selector);
  return claimObjects(pods, {
    controller: rs,
    gvk: REPLICA_SET_KIND,
    match: (pod) => selector.matches(pod.metadata.labels),
    client: (ns) => client.resource<Pod>("v1", "pods", ns),
    canAdopt: recheckController(() => rsClient.get(rs.metadata.name), rs),
  });
}

/**
 * kube's manageReplicas: create the missing pods in slow-start batches, or delete the surplus
 * ones chosen by getPodsToDelete. Expectations are raised before the calls, and lowered for every
 * create skipped or failed and every delete that failed, since no watch event will come for them.
 */
export async function manageReplicas(
  c: ReplicaSetController,
  filteredPods: readonly Pod[],
  rs: ReplicaSet,
): Promise<void> {
  const rsKey = keyOf(rs);
  const replicas = rs.spec.replicas ?? 1;
  let diff = filteredPods.length - replicas;
  if (diff < 0) {
    diff = Math.min(-diff, c.burstReplicas);
    c.expectations.expectCreations(rsKey, diff);
    const ref = newControllerRef(rs, REPLICA_SET_KIND);
    const { successes, error } = await slowStartBatch(diff, SLOW_START_INITIAL_BATCH_SIZE, async () => {
      try {
        await c.podControl.createPod(rs.metadata.namespace, rs.spec.template, rs, ref);
      } catch (e) {
        // Every create fails in a terminating namespace: nothing to retry.
        if (!isNamespaceTerminating(e)) throw e;
      }
    });
    for (let skipped = diff - successes; skipped > 0; skipped--) c.expectations.creationObserved(rsKey);
    if (error !== undefined) throw error;
    return;
  }
  if (diff === 0) return;
  diff = Math.min(diff, c.burstReplicas);
  const podsToDelete = getPodsToDelete(
    filteredPods,
    getIndirectlyRelatedPods(c, rs),
    diff,
    c.context.clock.now(),
  );
  // Remember which pods: a deletion then counts once, whether seen as a deletionTimestamp or a delete.
  c.expectations.expectDeletionsOf(rsKey, podsToDelete.map(podKey));
  const results = await Promise.allSettled(
    podsToDelete.map(async (pod) => {
      let deleted = false;
      try {
        deleted = await c.podControl.deletePod(rs.metadata.namespace, pod.metadata.name, rs);
      } finally {
        // Gone already, or failed: no event will lower this expectation.
        if (!deleted) c.expectations.deletionObservedOf(rsKey, podKey(pod));
      }
    }),
  );
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed !== undefined) throw failed.reason;
}

/**
 * kube's getIndirectlyRelatedPods: the pods of every RS with the same controller as this one
 * (a Deployment's ReplicaSets), to rank pods by how crowded their node is.
 */
function getIndirectlyRelatedPods(c: ReplicaSetController, rs: ReplicaSet): Pod[] {
  const ref = getControllerOf(rs);
  if (ref === undefined) return [];
  const seen = new Set<string>();
  const related: Pod[] = [];
  for (const other of c.rsInformer.indexer.byIndex(OwnerUidIndex, ref.uid)) {
    if (getControllerOf(other)?.uid !== ref.uid) continue;
    for (const pod of filterPodsByOwner(c.podInformer.indexer, other, REPLICA_SET_KIND.kind, false)) {
      const uid = pod.metadata.uid ?? podKey(pod);
      if (seen.has(uid)) continue;
      seen.add(uid);
      related.push(pod);
    }
  }
  return related;
}
