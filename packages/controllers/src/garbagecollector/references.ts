/**
 * Comparing owner references (kube's graph_builder.go helpers): what changed between two
 * versions of an object's ownerReferences, which dependents name an owner as observed, and which
 * other identity dependents give an owner found absent.
 */
import type { OwnerReference } from "@skiff/api";
import {
  type GraphNode,
  type ObjectReference,
  ownerReferenceCoordinates,
  ownerReferenceMatchesCoordinates,
  referenceKey,
  referenceLessThan,
} from "./graph.js";

export interface RefPair {
  oldRef: OwnerReference;
  newRef: OwnerReference;
}

const sameRef = (a: OwnerReference, b: OwnerReference) =>
  ownerReferenceMatchesCoordinates(a, b) &&
  a.controller === b.controller &&
  a.blockOwnerDeletion === b.blockOwnerDeletion;

/** kube's referencesDiffs, by uid. */
export function referencesDiffs(
  old: readonly OwnerReference[],
  next: readonly OwnerReference[],
): { added: OwnerReference[]; removed: OwnerReference[]; changed: RefPair[] } {
  const oldByUid = new Map(old.map((r) => [r.uid, r]));
  const added: OwnerReference[] = [];
  const changed: RefPair[] = [];
  for (const r of next) {
    const o = oldByUid.get(r.uid);
    if (o === undefined) added.push(r);
    else {
      if (!sameRef(o, r)) changed.push({ oldRef: o, newRef: r });
      oldByUid.delete(r.uid);
    }
  }
  return { added, removed: [...oldByUid.values()], changed };
}

/**
 * kube's partitionDependents: the dependents whose reference to `owner.uid` matches the
 * identity, and those that name the uid with other coordinates or from another namespace.
 */
export function partitionDependents(
  dependents: readonly GraphNode[],
  owner: ObjectReference,
): { matching: GraphNode[]; nonmatching: GraphNode[] } {
  const matching: GraphNode[] = [];
  const nonmatching: GraphNode[] = [];
  const ownerNamespaced = owner.namespace !== "";
  for (const dep of dependents) {
    let match = false;
    let mismatch = false;
    if (ownerNamespaced && owner.namespace !== dep.identity.namespace) mismatch = true;
    else
      for (const ref of dep.owners) {
        if (ref.uid !== owner.uid) continue;
        if (ownerReferenceMatchesCoordinates(ref, owner)) match = true;
        else mismatch = true;
      }
    if (match) matching.push(dep);
    if (mismatch) nonmatching.push(dep);
  }
  return { matching, nonmatching };
}

/**
 * kube's getAlternateOwnerIdentity: another identity the dependents give the absent owner's uid,
 * the first one after it in referenceLessThan order, else the first one.
 */
export function getAlternateOwnerIdentity(
  deps: readonly GraphNode[],
  absent: ObjectReference,
): ObjectReference | undefined {
  const absentClusterScoped = absent.namespace === "";
  const seen = new Set<string>([referenceKey(absent)]);
  let first: ObjectReference | undefined;
  let firstFollowing: ObjectReference | undefined;
  for (const dep of deps)
    for (const ref of dep.owners) {
      if (ref.uid !== absent.uid) continue;
      if (
        ownerReferenceMatchesCoordinates(ref, absent) &&
        (absentClusterScoped || absent.namespace === dep.identity.namespace)
      )
        continue;
      const alt: ObjectReference = { ...ownerReferenceCoordinates(ref), namespace: dep.identity.namespace };
      // This apiVersion/kind is known to be cluster-scoped: drop the dependent's namespace.
      if (absentClusterScoped && alt.apiVersion === absent.apiVersion && alt.kind === absent.kind)
        alt.namespace = "";
      const key = referenceKey(alt);
      if (seen.has(key)) continue;
      seen.add(key);
      if (first === undefined || referenceLessThan(alt, first)) first = alt;
      if (
        referenceLessThan(absent, alt) &&
        (firstFollowing === undefined || referenceLessThan(alt, firstFollowing))
      )
        firstFollowing = alt;
    }
  return firstFollowing ?? first;
}
