/**
 * How one informer event changes the dependency graph (kube's GraphBuilder.processGraphChanges
 * and its helpers in graph_builder.go): insert, update or remove the object's node, create
 * virtual nodes for owners not seen yet, and put on the attemptToDelete / attemptToOrphan queues
 * whatever the change may have made collectable. Runs on the single graph-builder loop: the only
 * writer of the graph.
 */
import type { ObjectMeta, OwnerReference } from "@skiff/api";
import type { Logger } from "@skiff/component-base";
import {
  GraphNode,
  type ObjectReference,
  ownerReferenceCoordinates,
  ownerReferenceMatchesCoordinates,
  sameReference,
  type UIDToNode,
} from "./graph.js";
import type { ReferenceCache } from "./reference-cache.js";
import {
  getAlternateOwnerIdentity,
  partitionDependents,
  type RefPair,
  referencesDiffs,
} from "./references.js";

export const FINALIZER_ORPHAN_DEPENDENTS = "orphan";
export const FINALIZER_DELETE_DEPENDENTS = "foregroundDeletion";

/** kube's event: from an informer, or virtual (a GET proved the object absent). */
export interface GraphEvent {
  type: "add" | "update" | "delete";
  virtual: boolean;
  /** The object's metadata (informers here are metadata-only). */
  obj: { metadata: ObjectMeta };
  oldObj?: { metadata: ObjectMeta };
  /** The monitored resource's apiVersion and kind (metadata-only objects do not carry them). */
  gvk: { apiVersion: string; kind: string };
}

/** What processing an event reads and feeds (the GraphBuilder's fields). */
export interface GraphState {
  readonly uidToNode: UIDToNode;
  readonly absentOwnerCache: ReferenceCache;
  readonly log: Logger;
  attemptToDelete(n: GraphNode, rateLimited?: boolean): void;
  attemptToOrphan(n: GraphNode): void;
  /** kube's reportInvalidNamespaceOwnerRef: a Warning event OwnerRefInvalidNamespace on `n`. */
  reportInvalidNamespaceOwnerRef(n: GraphNode, ownerUid: string): void;
}

const beingDeleted = (m: ObjectMeta) => m.deletionTimestamp !== undefined && m.deletionTimestamp !== null;
const hasFinalizer = (m: ObjectMeta, f: string) => (m.finalizers ?? []).includes(f);

function identityFromEvent(e: GraphEvent): ObjectReference {
  const m = e.obj.metadata;
  return {
    apiVersion: e.gvk.apiVersion,
    kind: e.gvk.kind,
    name: m.name ?? "",
    uid: m.uid ?? "",
    namespace: m.namespace ?? "",
  };
}

/** kube's deletionStartsWithFinalizer: the object is now deleting with `f`, and was not before. */
function deletionStartsWithFinalizer(old: { metadata: ObjectMeta } | undefined, next: ObjectMeta, f: string) {
  if (!beingDeleted(next) || !hasFinalizer(next, f)) return false;
  if (old === undefined) return true;
  return !beingDeleted(old.metadata) || !hasFinalizer(old.metadata, f);
}

/** kube's processTransitions: an owner that starts orphaning, or starts deleting in foreground. */
function processTransitions(s: GraphState, e: GraphEvent, n: GraphNode): void {
  const m = e.obj.metadata;
  if (deletionStartsWithFinalizer(e.oldObj, m, FINALIZER_ORPHAN_DEPENDENTS)) {
    s.attemptToOrphan(n);
    return;
  }
  if (deletionStartsWithFinalizer(e.oldObj, m, FINALIZER_DELETE_DEPENDENTS)) {
    // A node first added as virtual has no deletingDependents yet: always set it here.
    n.markDeletingDependents();
    for (const dep of n.dependents) s.attemptToDelete(dep);
    s.attemptToDelete(n);
  }
}

/**
 * kube's addDependentToOwners: `n` joins each owner's dependents; an owner not in the graph gets
 * a virtual node (queued, so that a GET confirms or refutes it); a reference whose coordinates or
 * namespace disagree with the owner observed queues `n` to have its references verified.
 */
function addDependentToOwners(s: GraphState, n: GraphNode, owners: readonly OwnerReference[]): void {
  let potentiallyInvalid = false;
  for (const owner of owners) {
    let ownerNode = s.uidToNode.read(owner.uid);
    if (ownerNode === undefined) {
      ownerNode = new GraphNode(
        { ...ownerReferenceCoordinates(owner), namespace: n.identity.namespace },
        [],
        { virtual: true },
      );
      s.uidToNode.write(ownerNode);
      ownerNode.addDependent(n);
      s.attemptToDelete(ownerNode);
      continue;
    }
    ownerNode.addDependent(n);
    if (potentiallyInvalid) continue;
    const ownerNamespaced = ownerNode.identity.namespace !== "";
    if (ownerNamespaced && ownerNode.identity.namespace !== n.identity.namespace) {
      // Cluster-scoped owners may be named from anywhere; a namespaced one only from its namespace.
      if (ownerNode.isObserved()) s.reportInvalidNamespaceOwnerRef(n, owner.uid);
      potentiallyInvalid = true;
    } else if (!ownerReferenceMatchesCoordinates(owner, ownerNode.identity)) {
      potentiallyInvalid = true;
    } else if (
      !ownerNamespaced &&
      ownerNode.identity.namespace !== n.identity.namespace &&
      !ownerNode.isObserved()
    ) {
      // A virtual cluster-scoped owner could be a namespaced kind wrongly named (kube issue 98040).
      potentiallyInvalid = true;
    }
  }
  if (potentiallyInvalid) s.attemptToDelete(n);
}

function removeDependentFromOwners(s: GraphState, n: GraphNode, owners: readonly OwnerReference[]): void {
  for (const owner of owners) s.uidToNode.read(owner.uid)?.deleteDependent(n);
}

/** kube's addUnblockedOwnersToDeleteQueue: an owner waiting on a reference that stopped blocking. */
function addUnblockedOwnersToDeleteQueue(s: GraphState, removed: OwnerReference[], changed: RefPair[]): void {
  for (const r of removed) {
    if (r.blockOwnerDeletion !== true) continue;
    const n = s.uidToNode.read(r.uid);
    if (n !== undefined) s.attemptToDelete(n);
  }
  for (const c of changed) {
    if (c.oldRef.blockOwnerDeletion !== true || c.newRef.blockOwnerDeletion === true) continue;
    const n = s.uidToNode.read(c.newRef.uid);
    if (n !== undefined) s.attemptToDelete(n);
  }
}

/** Marks a node observed; a virtual node seen with other coordinates is replaced (kube's clone). */
function observe(s: GraphState, e: GraphEvent, existing: GraphNode): GraphNode {
  const observed = identityFromEvent(e);
  if (!sameReference(observed, existing.identity)) {
    // Dependents that named this uid otherwise get their references verified (bad child, then
    // good parent; the other order is addDependentToOwners' case).
    const { nonmatching } = partitionDependents(existing.getDependents(), observed);
    for (const dep of nonmatching) {
      if (observed.namespace !== "" && dep.identity.namespace !== observed.namespace)
        s.reportInvalidNamespaceOwnerRef(dep, observed.uid);
      s.attemptToDelete(dep);
    }
    const replacement = existing.clone();
    replacement.identity = observed;
    s.uidToNode.write(replacement);
    existing = replacement;
  }
  existing.markObserved();
  return existing;
}

/** Applies one event to the graph (kube's processGraphChanges body). */
export function processGraphEvent(s: GraphState, e: GraphEvent): void {
  const m = e.obj.metadata;
  const uid = m.uid ?? "";
  let existing = s.uidToNode.read(uid);
  if (existing !== undefined && !e.virtual && !existing.isObserved()) existing = observe(s, e, existing);

  if ((e.type === "add" || e.type === "update") && existing === undefined) {
    const n = new GraphNode(identityFromEvent(e), [...(m.ownerReferences ?? [])], {
      beingDeleted: beingDeleted(m),
      deletingDependents: beingDeleted(m) && hasFinalizer(m, FINALIZER_DELETE_DEPENDENTS),
    });
    s.uidToNode.write(n);
    addDependentToOwners(s, n, n.owners);
    // An add may stand for a creation and a deletion combined: look at the transitions too.
    processTransitions(s, e, n);
    return;
  }
  if (e.type === "add" || e.type === "update") {
    let node = existing as GraphNode;
    if (!e.virtual && (node.identity.apiVersion !== e.gvk.apiVersion || node.identity.kind !== e.gvk.kind)) {
      const old = node;
      node = node.clone();
      node.identity = { ...node.identity, apiVersion: e.gvk.apiVersion, kind: e.gvk.kind };
      s.uidToNode.write(node);
      for (const o of node.owners) s.uidToNode.read(o.uid)?.replaceDependentIfItExists(old, node);
    }
    const next = m.ownerReferences ?? [];
    const { added, removed, changed } = referencesDiffs(node.owners, next);
    if (added.length > 0 || removed.length > 0 || changed.length > 0) {
      addUnblockedOwnersToDeleteQueue(s, removed, changed);
      node.owners = [...next];
      addDependentToOwners(s, node, added);
      removeDependentFromOwners(s, node, removed);
    }
    if (beingDeleted(m)) node.markBeingDeleted();
    processTransitions(s, e, node);
    return;
  }
  // delete
  if (existing === undefined) {
    s.log.debug({ uid }, "garbage collector: deleted item not in the graph");
    return;
  }
  if (e.virtual && !removeOnVirtualDelete(s, e, existing)) return;
  s.uidToNode.delete(existing.identity.uid);
  removeDependentFromOwners(s, existing, existing.owners);
  if (existing.dependents.size > 0) s.absentOwnerCache.add(identityFromEvent(e));
  for (const dep of existing.dependents) s.attemptToDelete(dep);
  for (const o of existing.owners) {
    const owner = s.uidToNode.read(o.uid);
    // An owner deleting in foreground may have been waiting for this one.
    if (owner?.isDeletingDependents() === true) s.attemptToDelete(owner);
  }
}

/**
 * A virtual delete (a GET found no object with this identity): whether to remove the node. Not
 * when dependents name the uid with other coordinates (the owner may exist under those): then
 * only the dependents that named the absent identity are queued, and a virtual node is given
 * the next identity to verify.
 */
function removeOnVirtualDelete(s: GraphState, e: GraphEvent, existing: GraphNode): boolean {
  const deleted = identityFromEvent(e);
  const { matching, nonmatching } = partitionDependents(existing.getDependents(), deleted);
  const markAbsent = () => {
    if (matching.length === 0) return;
    s.absentOwnerCache.add(deleted);
    for (const dep of matching) s.attemptToDelete(dep);
  };
  if (!existing.isObserved()) {
    if (nonmatching.length === 0) return true;
    markAbsent();
    if (sameReference(existing.identity, deleted)) {
      const alt = getAlternateOwnerIdentity(nonmatching, deleted);
      if (alt !== undefined) {
        const replacement = existing.clone();
        replacement.identity = alt;
        s.uidToNode.write(replacement);
        s.attemptToDelete(replacement, true);
      }
    }
    return false;
  }
  if (!sameReference(existing.identity, deleted)) {
    // Never remove an observed node on a virtual event with other coordinates.
    markAbsent();
    return false;
  }
  return true;
}
