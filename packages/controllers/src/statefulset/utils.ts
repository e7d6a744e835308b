/**
 * kube's pkg/controller/statefulset/stateful_set_utils.go: a StatefulSet's pods have stable
 * identities `<set>-<ordinal>` (hostname the same, subdomain the governing Service), each pod's
 * claims are `<claim>-<set>-<ordinal>`, and a pod is made from the revision its ordinal belongs
 * to (below the partition: the current one; from it up: the update revision). Revisions hold a
 * strategic merge patch that replaces spec.template.
 */
import type { PersistentVolumeClaim, Pod, Volume } from "@skiff/api";
import { cloneObject } from "@skiff/client";
import { getTemplatePatch, newControllerRevision } from "../history/controller-history.js";
import type { ControllerRevision } from "../history/types.js";
import { newControllerRef } from "../util/controller-ref.js";
import { getScaledValueFromIntOrPercent } from "../util/intstr.js";
import { isPodAvailable, isPodReady } from "../util/pod.js";
import { podFromTemplate } from "../util/pod-control.js";
import {
  POD_INDEX_LABEL,
  STATEFULSET_KIND,
  STATEFULSET_POD_NAME_LABEL,
  STATEFULSET_REVISION_LABEL,
  type StatefulSet,
  type StatefulSetStatus,
} from "./types.js";

/** statefulPodRegex: the parent's name and the ordinal, from a pod's name. */
const STATEFUL_POD_REGEX = /^(.*)-([0-9]+)$/;
const MAX_INT32 = 2 ** 31 - 1;

/** getParentNameAndOrdinal: ["", -1] when the name is not `<parent>-<int32>`. */
export function getParentNameAndOrdinal(pod: Pod): [string, number] {
  const m = STATEFUL_POD_REGEX.exec(pod.metadata.name ?? "");
  if (m === null) return ["", -1];
  const n = Number(m[2]);
  return [m[1] as string, Number.isSafeInteger(n) && n <= MAX_INT32 ? n : -1];
}

export const getOrdinal = (pod: Pod): number => getParentNameAndOrdinal(pod)[1];
export const getStartOrdinal = (set: StatefulSet): number => set.spec.ordinals?.start ?? 0;
export const getEndOrdinal = (set: StatefulSet): number =>
  getStartOrdinal(set) + (set.spec.replicas ?? 1) - 1;

/** podInOrdinalRange: the pod's ordinal is one the set wants now. */
export function podInOrdinalRange(pod: Pod, set: StatefulSet): boolean {
  const o = getOrdinal(pod);
  return o >= getStartOrdinal(set) && o <= getEndOrdinal(set);
}

export const getPodName = (set: StatefulSet, ordinal: number): string => `${set.metadata.name}-${ordinal}`;

/** getPersistentVolumeClaimName: `<claim>-<set>-<ordinal>` (zone spreading heuristics parse it). */
export function getPersistentVolumeClaimName(
  set: StatefulSet,
  claim: PersistentVolumeClaim,
  ordinal: number,
): string {
  return `${claim.metadata.name}-${set.metadata.name}-${ordinal}`;
}

/** isMemberOf: the pod's name says it is one of the set's. */
export const isMemberOf = (set: StatefulSet, pod: Pod): boolean =>
  getParentNameAndOrdinal(pod)[0] === set.metadata.name;

/** identityMatches: name, namespace and pod-name label as the set's member at its ordinal. */
export function identityMatches(set: StatefulSet, pod: Pod): boolean {
  const [parent, ordinal] = getParentNameAndOrdinal(pod);
  return (
    ordinal >= 0 &&
    parent === set.metadata.name &&
    pod.metadata.name === getPodName(set, ordinal) &&
    pod.metadata.namespace === set.metadata.namespace &&
    pod.metadata.labels?.[STATEFULSET_POD_NAME_LABEL] === pod.metadata.name
  );
}

/** storageMatches: every claim template is mounted from the pod's own claim. */
export function storageMatches(set: StatefulSet, pod: Pod): boolean {
  const ordinal = getOrdinal(pod);
  if (ordinal < 0) return false;
  const volumes = new Map((pod.spec.volumes ?? []).map((v) => [v.name, v]));
  return (set.spec.volumeClaimTemplates ?? []).every((claim) => {
    const v = volumes.get(claim.metadata.name as string);
    return v?.persistentVolumeClaim?.claimName === getPersistentVolumeClaimName(set, claim, ordinal);
  });
}

/**
 * getPersistentVolumeClaims: the pod's claims from the templates, by template name, labelled with
 * the template's labels and the set's selector labels.
 */
export function getPersistentVolumeClaims(set: StatefulSet, pod: Pod): Map<string, PersistentVolumeClaim> {
  const ordinal = getOrdinal(pod);
  const claims = new Map<string, PersistentVolumeClaim>();
  for (const template of set.spec.volumeClaimTemplates ?? []) {
    const t = cloneObject(template);
    const claim: PersistentVolumeClaim = {
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: {
        name: getPersistentVolumeClaimName(set, t, ordinal),
        namespace: set.metadata.namespace,
        labels: { ...t.metadata.labels, ...set.spec.selector.matchLabels },
        ...(t.metadata.annotations === undefined ? {} : { annotations: t.metadata.annotations }),
      },
      ...(t.spec === undefined ? {} : { spec: t.spec }),
    };
    claims.set(t.metadata.name as string, claim);
  }
  return claims;
}

/** updateStorage: the pod's volumes for the claim templates replace same-named ones; the rest stay. */
export function updateStorage(set: StatefulSet, pod: Pod): void {
  const claims = getPersistentVolumeClaims(set, pod);
  const volumes: Volume[] = [];
  for (const [name, claim] of claims)
    volumes.push({
      name,
      persistentVolumeClaim: { claimName: claim.metadata.name as string, readOnly: false },
    });
  for (const v of pod.spec.volumes ?? []) if (!claims.has(v.name)) volumes.push(v);
  pod.spec.volumes = volumes;
}

/** updateIdentity: name, namespace, pod-name and pod-index labels as the ordinal says. */
export function updateIdentity(set: StatefulSet, pod: Pod): void {
  const ordinal = getOrdinal(pod);
  pod.metadata.name = getPodName(set, ordinal);
  pod.metadata.namespace = set.metadata.namespace;
  pod.metadata.labels = {
    ...pod.metadata.labels,
    [STATEFULSET_POD_NAME_LABEL]: pod.metadata.name,
    [POD_INDEX_LABEL]: String(ordinal),
  };
}

/** initIdentity: also hostname and subdomain, which only a new pod gets (they are immutable). */
function initIdentity(set: StatefulSet, pod: Pod): void {
  updateIdentity(set, pod);
  pod.spec.hostname = pod.metadata.name;
  if (set.spec.serviceName !== undefined && set.spec.serviceName !== "")
    pod.spec.subdomain = set.spec.serviceName;
}

export const isRunningAndReady = (pod: Pod): boolean => pod.status?.phase === "Running" && isPodReady(pod);
export const isRunningAndAvailable = (pod: Pod, minReadySeconds: number, nowMs: number): boolean =>
  isPodAvailable(pod, minReadySeconds, nowMs);
/** isCreated: the API server has the pod (it sets a phase); a pod only built here has none. */
export const isCreated = (pod: Pod): boolean => (pod.status?.phase ?? "") !== "";
export const isPending = (pod: Pod): boolean => pod.status?.phase === "Pending";
export const isFailed = (pod: Pod): boolean => pod.status?.phase === "Failed";
export const isSucceeded = (pod: Pod): boolean => pod.status?.phase === "Succeeded";
export const isTerminating = (pod: Pod): boolean => pod.metadata.deletionTimestamp !== undefined;
/** isUnavailable: not available, or terminating. */
export const isUnavailable = (pod: Pod, minReadySeconds: number, nowMs: number): boolean =>
  !isRunningAndAvailable(pod, minReadySeconds, nowMs) || isTerminating(pod);
/** allowsBurst: Parallel pod management. */
export const allowsBurst = (set: StatefulSet): boolean => set.spec.podManagementPolicy === "Parallel";

export const getPodRevision = (pod: Pod): string => pod.metadata.labels?.[STATEFULSET_REVISION_LABEL] ?? "";

function setPodRevision(pod: Pod, revision: string): void {
  pod.metadata.labels = { ...pod.metadata.labels, [STATEFULSET_REVISION_LABEL]: revision };
}

/** newStatefulSetPod: the pod of the set's template at an ordinal, with identity and storage. */
export function newStatefulSetPod(set: StatefulSet, ordinal: number): Pod {
  const pod = podFromTemplate(set.spec.template, set, newControllerRef(set, STATEFULSET_KIND));
  delete pod.metadata.generateName;
  pod.metadata.name = getPodName(set, ordinal);
  initIdentity(set, pod);
  updateStorage(set, pod);
  return pod;
}

/**
 * newVersionedStatefulSetPod: ordinals below the partition (or, without a rollingUpdate, below
 * the current replicas) get the current revision's template; the others the update revision's.
 * The condition keeps kube's operator precedence.
 */
export function newVersionedStatefulSetPod(
  currentSet: StatefulSet,
  updateSet: StatefulSet,
  currentRevision: string,
  updateRevision: string,
  ordinal: number,
): Pod {
  const strategy = currentSet.spec.updateStrategy;
  const start = getStartOrdinal(currentSet);
  const useCurrent =
    (strategy?.type === "RollingUpdate" &&
      strategy.rollingUpdate === undefined &&
      ordinal < start + (currentSet.status?.currentReplicas ?? 0)) ||
    (strategy?.rollingUpdate !== undefined && ordinal < start + (strategy.rollingUpdate.partition ?? 0));
  const pod = newStatefulSetPod(useCurrent ? currentSet : updateSet, ordinal);
  setPodRevision(pod, useCurrent ? currentRevision : updateRevision);
  return pod;
}

/** newRevision: the revision of the set's present template, with the set's annotations. */
export function newRevision(set: StatefulSet, revision: number, collisionCount: number): ControllerRevision {
  const cr = newControllerRevision(
    set,
    STATEFULSET_KIND,
    set.spec.template.metadata?.labels,
    getTemplatePatch(set.spec.template),
    revision,
    collisionCount,
  );
  cr.metadata.annotations = { ...cr.metadata.annotations, ...set.metadata.annotations };
  return cr;
}

/**
 * ApplyRevision: the set with the revision's patch applied. The patch only ever replaces
 * spec.template (`$patch: replace`), so applying it is taking that template.
 */
export function applyRevision(set: StatefulSet, revision: ControllerRevision): StatefulSet {
  const clone = cloneObject(set);
  const data = revision.data as { spec?: { template?: Record<string, unknown> } } | undefined;
  const template = data?.spec?.template;
  if (template === undefined) throw new Error(`revision ${revision.metadata.name} has no spec.template`);
  const { $patch: _, ...rest } = cloneObject(template);
  clone.spec.template = rest;
  return clone;
}

/** inconsistentStatus: the computed status differs from the stored one. */
export function inconsistentStatus(set: StatefulSet, status: StatefulSetStatus): boolean {
  const s = set.status;
  return (
    (status.observedGeneration ?? 0) > (s?.observedGeneration ?? 0) ||
    status.replicas !== (s?.replicas ?? 0) ||
    (status.currentReplicas ?? 0) !== (s?.currentReplicas ?? 0) ||
    (status.readyReplicas ?? 0) !== (s?.readyReplicas ?? 0) ||
    (status.updatedReplicas ?? 0) !== (s?.updatedReplicas ?? 0) ||
    (status.currentRevision ?? "") !== (s?.currentRevision ?? "") ||
    (status.availableReplicas ?? 0) !== (s?.availableReplicas ?? 0) ||
    (status.updateRevision ?? "") !== (s?.updateRevision ?? "")
  );
}

/** completeRollingUpdate: every replica updated and ready: the update revision becomes current. */
export function completeRollingUpdate(set: StatefulSet, status: StatefulSetStatus): void {
  const replicas = set.spec.replicas ?? 1;
  if (
    set.spec.updateStrategy?.type === "RollingUpdate" &&
    status.updatedReplicas === replicas &&
    status.readyReplicas === replicas &&
    status.replicas === replicas
  ) {
    status.currentReplicas = status.updatedReplicas;
    status.currentRevision = status.updateRevision;
  }
}

/** getStatefulSetMaxUnavailable: maxUnavailable (default 1) of the replicas, rounded down, at least 1. */
export function getStatefulSetMaxUnavailable(
  maxUnavailable: number | string | undefined,
  replicaCount: number,
): number {
  return Math.max(1, getScaledValueFromIntOrPercent(maxUnavailable ?? 1, replicaCount, false));
}
