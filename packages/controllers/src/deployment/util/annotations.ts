/**
 * The annotations the Deployment controller keeps (deploymentutil): the revision on the
 * Deployment and its ReplicaSets (what `kubectl rollout history|undo` read), the revisions a
 * reused ReplicaSet has had, the desired and maximum replicas a ReplicaSet was last scaled for
 * (what proportional scaling and scaling-event detection read), and the Deployment's own
 * annotations copied onto its new ReplicaSet (`kubernetes.io/change-cause` among them).
 */
import type { KubeObject } from "@skiff/api";
import type { Deployment, ReplicaSet } from "../types.js";

export const REVISION_ANNOTATION = "deployment.kubernetes.io/revision";
export const REVISION_HISTORY_ANNOTATION = "deployment.kubernetes.io/revision-history";
export const DESIRED_REPLICAS_ANNOTATION = "deployment.kubernetes.io/desired-replicas";
export const MAX_REPLICAS_ANNOTATION = "deployment.kubernetes.io/max-replicas";
/** apps/v1beta1's rollback request annotation (never copied). */
export const DEPRECATED_ROLLBACK_TO = "deprecated.deployment.rollback.to";
export const LAST_APPLIED_CONFIG_ANNOTATION = "kubectl.kubernetes.io/last-applied-configuration";
/** kube's maxRevHistoryLengthInChars: the revision-history annotation's limit. */
export const MAX_REV_HISTORY_LENGTH_IN_CHARS = 2000;

/** annotationsToSkip: never copied from a Deployment to its ReplicaSets. */
const ANNOTATIONS_TO_SKIP = new Set([
  LAST_APPLIED_CONFIG_ANNOTATION,
  REVISION_ANNOTATION,
  REVISION_HISTORY_ANNOTATION,
  DESIRED_REPLICAS_ANNOTATION,
  MAX_REPLICAS_ANNOTATION,
  DEPRECATED_ROLLBACK_TO,
]);

/** strconv.ParseInt / Atoi in base 10: undefined where Go returns an error. */
export function parseGoInt(s: string): number | undefined {
  return /^[+-]?\d+$/.test(s) ? Number(s) : undefined;
}

/** deploymentutil.Revision: 0 without the annotation, undefined when it is not a number. */
export function revisionOf(obj: KubeObject): number | undefined {
  const v = obj.metadata.annotations?.[REVISION_ANNOTATION];
  return v === undefined ? 0 : parseGoInt(v);
}

/** MaxRevision: the highest revision among the ReplicaSets (unparsable ones skipped). */
export function maxRevision(rss: readonly ReplicaSet[]): number {
  let max = 0;
  for (const rs of rss) {
    const v = revisionOf(rs);
    if (v !== undefined && v > max) max = v;
  }
  return max;
}

/** SetDeploymentRevision: true when the Deployment's revision annotation changed. */
export function setDeploymentRevision(d: Deployment, revision: string): boolean {
  d.metadata.annotations ??= {};
  if (d.metadata.annotations[REVISION_ANNOTATION] === revision) return false;
  d.metadata.annotations[REVISION_ANNOTATION] = revision;
  return true;
}

/**
 * copyDeploymentAnnotationsToReplicaSet: the Deployment's annotations but the skipped ones (the
 * revision is the ReplicaSet's own: the Deployment's copy may be stale).
 */
export function copyDeploymentAnnotationsToReplicaSet(d: Deployment, rs: ReplicaSet): boolean {
  rs.metadata.annotations ??= {};
  let changed = false;
  for (const [k, v] of Object.entries(d.metadata.annotations ?? {})) {
    if (ANNOTATIONS_TO_SKIP.has(k) || rs.metadata.annotations[k] === v) continue;
    rs.metadata.annotations[k] = v;
    changed = true;
  }
  return changed;
}

/**
 * SetNewReplicaSetAnnotations: copies the Deployment's annotations, raises the revision to
 * `newRevision` (recording the one it replaces in revision-history, at most
 * MAX_REV_HISTORY_LENGTH_IN_CHARS long, oldest dropped first), and for a ReplicaSet about to be
 * created sets the replicas annotations. True when anything changed.
 */
export function setNewReplicaSetAnnotations(
  d: Deployment,
  rs: ReplicaSet,
  newRevision: string,
  exists: boolean,
  maxSurge: number,
  revHistoryLimitInChars = MAX_REV_HISTORY_LENGTH_IN_CHARS,
): boolean {
  let changed = copyDeploymentAnnotationsToReplicaSet(d, rs);
  rs.metadata.annotations ??= {};
  const annotations = rs.metadata.annotations;
  const oldRevision = annotations[REVISION_ANNOTATION];
  const had = oldRevision !== undefined;
  let oldRevisionInt = 0;
  if (had) {
    const parsed = parseGoInt(oldRevision);
    if (parsed === undefined) {
      if (oldRevision !== "") return false;
    } else oldRevisionInt = parsed;
  }
  const newRevisionInt = parseGoInt(newRevision);
  if (newRevisionInt === undefined) return false;
  if (oldRevisionInt < newRevisionInt) {
    annotations[REVISION_ANNOTATION] = newRevision;
    changed = true;
  }
  if (had && oldRevisionInt < newRevisionInt) {
    const history = annotations[REVISION_HISTORY_ANNOTATION] ?? "";
    const oldRevisions = history.split(",");
    if ((oldRevisions[0] ?? "").length === 0) annotations[REVISION_HISTORY_ANNOTATION] = oldRevision;
    else {
      let totalLen = history.length + oldRevision.length + 1;
      let start = 0;
      while (totalLen > revHistoryLimitInChars && start < oldRevisions.length) {
        totalLen -= (oldRevisions[start] as string).length + 1;
        start++;
      }
      if (totalLen <= revHistoryLimitInChars)
        annotations[REVISION_HISTORY_ANNOTATION] = [...oldRevisions.slice(start), oldRevision].join(",");
    }
  }
  const replicas = d.spec.replicas ?? 0;
  if (!exists && setReplicasAnnotations(rs, replicas, replicas + maxSurge)) changed = true;
  return changed;
}

/** SetReplicasAnnotations: desired-replicas and max-replicas; true when either changed. */
export function setReplicasAnnotations(rs: ReplicaSet, desired: number, max: number): boolean {
  rs.metadata.annotations ??= {};
  const a = rs.metadata.annotations;
  let updated = false;
  if (a[DESIRED_REPLICAS_ANNOTATION] !== String(desired)) {
    a[DESIRED_REPLICAS_ANNOTATION] = String(desired);
    updated = true;
  }
  if (a[MAX_REPLICAS_ANNOTATION] !== String(max)) {
    a[MAX_REPLICAS_ANNOTATION] = String(max);
    updated = true;
  }
  return updated;
}

/** ReplicasAnnotationsNeedUpdate. */
export function replicasAnnotationsNeedUpdate(rs: ReplicaSet, desired: number, max: number): boolean {
  const a = rs.metadata.annotations;
  if (a === undefined) return true;
  return a[DESIRED_REPLICAS_ANNOTATION] !== String(desired) || a[MAX_REPLICAS_ANNOTATION] !== String(max);
}

function intAnnotation(rs: ReplicaSet, key: string): number | undefined {
  const v = rs.metadata.annotations?.[key];
  return v === undefined ? undefined : parseGoInt(v);
}

/** GetDesiredReplicasAnnotation. */
export const desiredReplicasAnnotation = (rs: ReplicaSet) => intAnnotation(rs, DESIRED_REPLICAS_ANNOTATION);
/** getMaxReplicasAnnotation. */
export const maxReplicasAnnotation = (rs: ReplicaSet) => intAnnotation(rs, MAX_REPLICAS_ANNOTATION);
