/**
 * kube's getAllReplicaSetsAndSyncRevision and getNewReplicaSet (pkg/controller/deployment/
 * sync.go): the new ReplicaSet is the one whose template is the Deployment's; it gets revision
 * max(old revisions)+1, and the Deployment gets the same revision annotation. Without one (and
 * when asked to) it is created as `<deployment>-<pod-template-hash>`, the hash also in its
 * labels, selector and pod template; a name taken by another ReplicaSet (a hash collision)
 * bumps status.collisionCount so that the next sync hashes differently.
 */
import type { LabelSelector } from "@skiff/api";
import { cloneObject, isAlreadyExists } from "@skiff/client";
import { getControllerOf, newControllerRef } from "../util/controller-ref.js";
import { isNamespaceTerminating } from "../util/errors.js";
import { computeHash } from "../util/hash.js";
import { messageOf } from "../util/pod-control.js";
import { type DeploymentSyncer, replicaSetsOf, updateDeploymentStatus } from "./syncer.js";
import {
  DEFAULT_DEPLOYMENT_UNIQUE_LABEL_KEY,
  type Deployment,
  deploymentGVK,
  type ReplicaSet,
} from "./types.js";
import {
  maxRevision,
  REVISION_ANNOTATION,
  setDeploymentRevision,
  setNewReplicaSetAnnotations,
} from "./util/annotations.js";
import {
  DEPLOYMENT_PROGRESSING,
  FAILED_RS_CREATE_REASON,
  FOUND_NEW_RS_REASON,
  getDeploymentCondition,
  NEW_REPLICA_SET_REASON,
  newDeploymentCondition,
  setDeploymentCondition,
} from "./util/conditions.js";
import { equalIgnoreHash } from "./util/hash.js";
import { hasProgressDeadline } from "./util/progress.js";
import { maxSurge, newRSNewReplicas } from "./util/replicas.js";
import { findNewReplicaSet, findOldReplicaSets } from "./util/replicasets.js";

/** [the new ReplicaSet (undefined when none and not created), every old one]. */
export async function getAllReplicaSetsAndSyncRevision(
  dc: DeploymentSyncer,
  d: Deployment,
  rsList: ReplicaSet[],
  createIfNotExisted: boolean,
): Promise<[ReplicaSet | undefined, ReplicaSet[]]> {
  const [, allOldRSs] = findOldReplicaSets(d, rsList);
  const newRS = await getNewReplicaSet(dc, d, rsList, allOldRSs, createIfNotExisted);
  return [newRS, allOldRSs];
}

/** labelsutil.CloneSelectorAndAddLabel. */
function cloneSelectorAndAddLabel(sel: LabelSelector, key: string, value: string): LabelSelector {
  const out = cloneObject(sel);
  out.matchLabels = { ...(out.matchLabels ?? {}), [key]: value };
  return out;
}

export async function getNewReplicaSet(
  dc: DeploymentSyncer,
  d: Deployment,
  rsList: ReplicaSet[],
  oldRSs: readonly ReplicaSet[],
  createIfNotExisted: boolean,
): Promise<ReplicaSet | undefined> {
  const existing = findNewReplicaSet(d, rsList);
  const newRevision = String(maxRevision([...oldRSs]) + 1);
  if (existing !== undefined) {
    const rs = await syncExistingNewReplicaSet(dc, d, existing, newRevision);
    // kube leaves rsList stale, so that a second look in the same sync (isScalingEvent, then
    // the rollout) writes the same change again and conflicts; the written one replaces it.
    const i = rsList.indexOf(existing);
    if (i >= 0) rsList[i] = rs;
    return rs;
  }
  if (!createIfNotExisted) return undefined;

  const ns = d.metadata.namespace;
  const template = cloneObject(d.spec.template);
  const hash = computeHash(template, d.status?.collisionCount);
  template.metadata = {
    ...template.metadata,
    labels: { ...(template.metadata?.labels ?? {}), [DEFAULT_DEPLOYMENT_UNIQUE_LABEL_KEY]: hash },
  };
  const newRS: ReplicaSet = {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: {
      name: `${d.metadata.name}-${hash}`,
      namespace: ns,
      ownerReferences: [newControllerRef(d, deploymentGVK)],
      labels: { ...template.metadata.labels },
    },
    spec: {
      replicas: 0,
      selector: cloneSelectorAndAddLabel(d.spec.selector, DEFAULT_DEPLOYMENT_UNIQUE_LABEL_KEY, hash),
      template,
    },
  };
  if ((d.spec.minReadySeconds ?? 0) !== 0) newRS.spec.minReadySeconds = d.spec.minReadySeconds as number;
  const newReplicasCount = newRSNewReplicas(d, [...oldRSs, newRS], newRS);
  newRS.spec.replicas = newReplicasCount;
  setNewReplicaSetAnnotations(d, newRS, newRevision, false, maxSurge(d));

  let created: ReplicaSet;
  let alreadyExists = false;
  try {
    created = await replicaSetsOf(dc, ns).create(newRS);
  } catch (e) {
    if (isAlreadyExists(e)) {
      const rs = dc.getReplicaSet(ns, newRS.metadata.name);
      if (rs === undefined) throw e;
      const ref = getControllerOf(rs);
      if (ref?.uid !== d.metadata.uid || !equalIgnoreHash(d.spec.template, rs.spec.template)) {
        // A hash collision: another template (or owner) holds the name. The next sync hashes
        // with a higher collisionCount; the error requeues it.
        d.status = { ...d.status, collisionCount: (d.status?.collisionCount ?? 0) + 1 };
        try {
          await updateDeploymentStatus(dc, d);
          dc.logger.info(
            { deployment: `${ns}/${d.metadata.name}`, collisionCount: d.status.collisionCount },
            "Found a hash collision for deployment - bumping collisionCount to resolve it",
          );
        } catch {
          // requeued by the error below either way
        }
        throw e;
      }
      created = rs;
      alreadyExists = true;
    } else if (isNamespaceTerminating(e)) {
      // Every create in a terminating namespace fails: nothing to record.
      throw e;
    } else {
      const msg = `Failed to create new replica set ${JSON.stringify(newRS.metadata.name)}: ${messageOf(e)}`;
      if (hasProgressDeadline(d)) {
        const cond = newDeploymentCondition(
          DEPLOYMENT_PROGRESSING,
          "False",
          FAILED_RS_CREATE_REASON,
          msg,
          dc.now(),
        );
        d.status ??= {};
        setDeploymentCondition(d.status, cond);
        await updateDeploymentStatus(dc, d).catch(() => undefined);
      }
      dc.recorder.event(d, "Warning", FAILED_RS_CREATE_REASON, msg);
      throw e;
    }
  }
  if (!alreadyExists && newReplicasCount > 0)
    dc.recorder.eventf(
      d,
      "Normal",
      "ScalingReplicaSet",
      "Scaled up replica set %s from 0 to %d",
      created.metadata.name,
      newReplicasCount,
    );

  const revisionChanged = setDeploymentRevision(d, newRevision);
  let needsUpdate = revisionChanged;
  if (!alreadyExists && hasProgressDeadline(d)) {
    const msg = `Created new replica set ${JSON.stringify(created.metadata.name)}`;
    d.status ??= {};
    setDeploymentCondition(
      d.status,
      newDeploymentCondition(DEPLOYMENT_PROGRESSING, "True", NEW_REPLICA_SET_REASON, msg, dc.now()),
    );
    needsUpdate = true;
  }
  if (needsUpdate) await updateDeploymentStatus(dc, d, revisionChanged);
  return created;
}

/**
 * The new ReplicaSet exists: bring its annotations (revision, copied annotations) and
 * minReadySeconds up to date (that write alone, then the next sync goes on), else the
 * Deployment's revision and, for a Deployment first seen with a deadline, FoundNewReplicaSet.
 */
async function syncExistingNewReplicaSet(
  dc: DeploymentSyncer,
  d: Deployment,
  existing: ReplicaSet,
  newRevision: string,
): Promise<ReplicaSet> {
  const rsCopy = cloneObject(existing);
  const annotationsUpdated = setNewReplicaSetAnnotations(d, rsCopy, newRevision, true, maxSurge(d));
  const minReadySecondsNeedsUpdate = (rsCopy.spec.minReadySeconds ?? 0) !== (d.spec.minReadySeconds ?? 0);
  if (annotationsUpdated || minReadySecondsNeedsUpdate) {
    rsCopy.spec.minReadySeconds = d.spec.minReadySeconds ?? 0;
    return replicaSetsOf(dc, rsCopy.metadata.namespace).update(rsCopy);
  }
  const revisionChanged = setDeploymentRevision(d, rsCopy.metadata.annotations?.[REVISION_ANNOTATION] ?? "");
  let needsUpdate = revisionChanged;
  if (hasProgressDeadline(d) && getDeploymentCondition(d.status, DEPLOYMENT_PROGRESSING) === undefined) {
    const msg = `Found new replica set ${JSON.stringify(rsCopy.metadata.name)}`;
    d.status ??= {};
    setDeploymentCondition(
      d.status,
      newDeploymentCondition(DEPLOYMENT_PROGRESSING, "True", FOUND_NEW_RS_REASON, msg, dc.now()),
    );
    needsUpdate = true;
  }
  if (needsUpdate) await updateDeploymentStatus(dc, d, revisionChanged);
  return rsCopy;
}
