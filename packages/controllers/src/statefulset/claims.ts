/**
 * persistentVolumeClaimRetentionPolicy (StatefulSetAutoDeletePVC, on by default in kube 1.32):
 * who owns a pod's claims, so that the garbage collector deletes them when the policy says so.
 *
 *   whenScaled Retain, whenDeleted Retain: no owner reference
 *   whenScaled Retain, whenDeleted Delete: the set owns the claim
 *   whenScaled Delete, whenDeleted Retain: the pod owns it once its ordinal is scaled away
 *   whenScaled Delete, whenDeleted Delete: the set while in range, the pod once scaled away
 *
 * A claim referencing an older set or pod of the same name (a stale uid) is left alone; so are
 * claims another controller owns (stateful_set_utils.go's isClaimOwnerUpToDate and
 * updateClaimOwnerRefForSetAndPod).
 */
import type { KubeObject, OwnerReference, PersistentVolumeClaim, Pod } from "@skiff/api";
import { type GroupVersionKind, newControllerRef } from "../util/controller-ref.js";
import { POD_KIND, STATEFULSET_KIND, type StatefulSet } from "./types.js";
import { podInOrdinalRange } from "./utils.js";

/** getPersistentVolumeClaimRetentionPolicy: Retain/Retain unless set. */
export function retentionPolicy(set: StatefulSet): { whenDeleted: string; whenScaled: string } {
  const p = set.spec.persistentVolumeClaimRetentionPolicy;
  return { whenDeleted: p?.whenDeleted ?? "Retain", whenScaled: p?.whenScaled ?? "Retain" };
}

/** matchesRef: the reference names obj (kind and name; the uid is checked by the callers). */
const matchesRef = (ref: OwnerReference, obj: KubeObject, gvk: GroupVersionKind) =>
  ref.apiVersion === gvk.apiVersion && ref.kind === gvk.kind && ref.name === obj.metadata.name;

/** hasOwnerRef: target names owner (by uid), controller or not. */
export const hasOwnerRef = (target: KubeObject, owner: KubeObject): boolean =>
  (target.metadata.ownerReferences ?? []).some((r) => r.uid === owner.metadata.uid);

/** hasStaleOwnerRef: target references an object of obj's kind and name but another uid. */
export function hasStaleOwnerRef(target: KubeObject, obj: KubeObject, gvk: GroupVersionKind): boolean {
  const ref = (target.metadata.ownerReferences ?? []).find((r) => matchesRef(r, obj, gvk));
  return ref !== undefined && ref.uid !== (obj.metadata.uid ?? "");
}

/** hasUnexpectedController: under a Delete policy, a controller that is neither the set nor the pod. */
function hasUnexpectedController(claim: PersistentVolumeClaim, set: StatefulSet, pod: Pod): boolean {
  const p = retentionPolicy(set);
  if (p.whenScaled === "Retain" && p.whenDeleted === "Retain") return false;
  for (const ref of claim.metadata.ownerReferences ?? []) {
    if (matchesRef(ref, set, STATEFULSET_KIND)) {
      if (ref.uid !== set.metadata.uid) return true;
      continue;
    }
    if (matchesRef(ref, pod, POD_KIND)) {
      if (ref.uid !== pod.metadata.uid) return true;
      continue;
    }
    if (ref.controller === true) return true;
  }
  return false;
}

/** hasNonControllerOwner: the set or pod owns the claim without being its controller. */
function hasNonControllerOwner(claim: PersistentVolumeClaim, set: StatefulSet, pod: Pod): boolean {
  return (claim.metadata.ownerReferences ?? []).some(
    (r) => (r.uid === set.metadata.uid || r.uid === pod.metadata.uid) && r.controller !== true,
  );
}

/** isClaimOwnerUpToDate: the claim's owners are what the policy asks (or best left alone). */
export function isClaimOwnerUpToDate(claim: PersistentVolumeClaim, set: StatefulSet, pod: Pod): boolean {
  if (hasStaleOwnerRef(claim, set, STATEFULSET_KIND) || hasStaleOwnerRef(claim, pod, POD_KIND)) return true;
  if (hasUnexpectedController(claim, set, pod)) return !(hasOwnerRef(claim, set) || hasOwnerRef(claim, pod));
  if (hasNonControllerOwner(claim, set, pod)) return false;
  const p = retentionPolicy(set);
  const scaledDown = !podInOrdinalRange(pod, set);
  const bySet = hasOwnerRef(claim, set);
  const byPod = hasOwnerRef(claim, pod);
  if (p.whenScaled === "Delete" && p.whenDeleted === "Delete")
    return scaledDown !== bySet && scaledDown === byPod;
  if (p.whenScaled === "Delete") return !bySet && scaledDown === byPod;
  if (p.whenDeleted === "Delete") return bySet && !byPod;
  return !bySet && !byPod;
}

/** updateClaimOwnerRefForSetAndPod: rewrites the claim's references to the set and pod per policy. */
export function updateClaimOwnerRefForSetAndPod(
  claim: PersistentVolumeClaim,
  set: StatefulSet,
  pod: Pod,
): void {
  const unexpected = hasUnexpectedController(claim, set, pod);
  let refs = (claim.metadata.ownerReferences ?? []).filter(
    (r) => !matchesRef(r, set, STATEFULSET_KIND) && !matchesRef(r, pod, POD_KIND),
  );
  if (!unexpected) {
    const p = retentionPolicy(set);
    const scaledDown = !podInOrdinalRange(pod, set);
    const add = (owner: KubeObject, gvk: GroupVersionKind) => {
      if (!refs.some((r) => r.uid === owner.metadata.uid)) refs = [...refs, newControllerRef(owner, gvk)];
    };
    if (p.whenScaled === "Delete" && scaledDown) add(pod, POD_KIND);
    if (p.whenDeleted === "Delete" && (p.whenScaled !== "Delete" || !scaledDown)) add(set, STATEFULSET_KIND);
  }
  claim.metadata.ownerReferences = refs;
}
