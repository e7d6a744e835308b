/**
 * What the collector's workers do with a node (kube's garbagecollector.go: attemptToDeleteItem,
 * isDangling, classifyReferences, processDeletingDependentsItem, orphanDependents). Every
 * decision is made on the object as the API server has it now (a live GET), never on the graph
 * alone: the graph only says which objects to look at.
 */
import type { OwnerReference } from "@skiff/api";
import { isNotFound, type PartialObjectMetadata } from "@skiff/client";
import type { Logger } from "@skiff/component-base";
import { EnqueuedVirtualDeleteEvent, NamespacedOwnerOfClusterScopedObject } from "./errors.js";
import { formatReference, type GraphNode, type ObjectReference, ownerReferenceCoordinates } from "./graph.js";
import type { GraphBuilder } from "./graph-builder.js";
import { FINALIZER_DELETE_DEPENDENTS, FINALIZER_ORPHAN_DEPENDENTS } from "./graph-changes.js";
import { deleteOwnerRefStrategicMergePatch, type Operations, type Propagation } from "./operations.js";

export interface AttemptContext {
  readonly ops: Operations;
  readonly graph: GraphBuilder;
  readonly log: Logger;
}

const hasFinalizer = (o: PartialObjectMetadata, f: string) => (o.metadata.finalizers ?? []).includes(f);
const isDeleting = (o: PartialObjectMetadata) =>
  o.metadata.deletionTimestamp !== undefined && o.metadata.deletionTimestamp !== null;

/**
 * kube's isDangling: whether an owner reference names no object. The absent owner cache answers
 * first (cluster-scoped key, then the dependent's namespace); else a GET in the namespace the
 * owner's kind implies, a 404 or another uid meaning dangling. Also returns the owner read.
 */
async function isDangling(
  c: AttemptContext,
  ref: OwnerReference,
  item: GraphNode,
): Promise<{ dangling: boolean; owner?: PartialObjectMetadata }> {
  const key: ObjectReference = { ...ownerReferenceCoordinates(ref), namespace: "" };
  if (c.graph.absentOwnerCache.has(key)) return { dangling: true };
  key.namespace = item.identity.namespace;
  if (c.graph.absentOwnerCache.has(key)) return { dangling: true };
  const namespaced = c.ops.namespaced(ref.apiVersion, ref.kind);
  if (!namespaced) key.namespace = "";
  if (item.identity.namespace === "" && namespaced) {
    c.log.debug(
      { item: formatReference(item.identity), owner: ref.uid },
      "garbage collector: item is cluster-scoped, but refers to a namespaced owner",
    );
    throw new NamespacedOwnerOfClusterScopedObject();
  }
  let owner: PartialObjectMetadata;
  try {
    owner = await c.ops.getOwner(ref, namespaced ? item.identity.namespace : "");
  } catch (e) {
    if (!isNotFound(e)) throw e;
    c.graph.absentOwnerCache.add(key);
    return { dangling: true };
  }
  if (owner.metadata.uid !== ref.uid) {
    c.graph.absentOwnerCache.add(key);
    return { dangling: true };
  }
  return { dangling: false, owner };
}

/**
 * kube's classifyReferences: solid (the owner exists and is not waiting for its dependents),
 * dangling (no such owner), waitingForDependentsDeletion (the owner is being deleted in the
 * foreground).
 */
async function classifyReferences(c: AttemptContext, item: GraphNode, refs: readonly OwnerReference[]) {
  const solid: OwnerReference[] = [];
  const dangling: OwnerReference[] = [];
  const waiting: OwnerReference[] = [];
  for (const ref of refs) {
    const r = await isDangling(c, ref, item);
    if (r.dangling) dangling.push(ref);
    else if (
      r.owner !== undefined &&
      isDeleting(r.owner) &&
      hasFinalizer(r.owner, FINALIZER_DELETE_DEPENDENTS)
    )
      waiting.push(ref);
    else solid.push(ref);
  }
  return { solid, dangling, waiting };
}

/** kube's deleteObject call sites: a 404 means the item is gone, which the graph must learn. */
async function deleteItem(
  c: AttemptContext,
  item: GraphNode,
  latest: PartialObjectMetadata,
  policy: Propagation,
): Promise<void> {
  c.log.debug(
    { item: formatReference(item.identity), propagationPolicy: policy },
    "garbage collector: deleting item",
  );
  try {
    await c.ops.deleteObject(
      item.identity,
      latest.metadata.resourceVersion,
      latest.metadata.ownerReferences,
      policy,
    );
  } catch (e) {
    if (!isNotFound(e)) throw e;
    c.graph.enqueueVirtualDeleteEvent(item.identity);
    throw new EnqueuedVirtualDeleteEvent();
  }
}

/**
 * kube's attemptToDeleteItem: read the object; a missing one (or another object under the name)
 * becomes a virtual delete event. An owner deleting in foreground goes on with its dependents.
 * Otherwise its owner references decide: a solid owner keeps it (dangling and waiting
 * references are patched out); owners waiting in foreground delete it in the foreground too when
 * it has dependents of its own; no owner left deletes it (propagation as its finalizers say,
 * else Background).
 */
export async function attemptToDeleteItem(c: AttemptContext, item: GraphNode): Promise<void> {
  // Being deleted is a one-way trip: wait for the deletion, then its dependents are processed.
  if (item.isBeingDeleted() && !item.isDeletingDependents()) return;
  let latest: PartialObjectMetadata;
  try {
    latest = await c.ops.getObject(item.identity);
  } catch (e) {
    if (!isNotFound(e)) throw e;
    c.graph.enqueueVirtualDeleteEvent(item.identity);
    throw new EnqueuedVirtualDeleteEvent();
  }
  if (latest.metadata.uid !== item.identity.uid) {
    c.graph.enqueueVirtualDeleteEvent(item.identity);
    throw new EnqueuedVirtualDeleteEvent();
  }
  if (item.isDeletingDependents()) return processDeletingDependentsItem(c, item);

  const refs = latest.metadata.ownerReferences ?? [];
  if (refs.length === 0) return;
  const { solid, dangling, waiting } = await classifyReferences(c, item, refs);
  if (solid.length > 0) {
    if (dangling.length === 0 && waiting.length === 0) return;
    // Waiting references go too: else their owners would wait on this item forever.
    const uids = [...dangling, ...waiting].map((r) => r.uid);
    await c.ops.patch(item, deleteOwnerRefStrategicMergePatch(item.identity.uid, uids), (n) =>
      c.ops.deleteOwnerRefJsonMergePatch(n, uids),
    );
    return;
  }
  if (waiting.length > 0 && item.dependents.size > 0) {
    for (const dep of item.getDependents()) {
      if (!dep.isDeletingDependents()) continue;
      // A dependent deleting in foreground too may be a cycle: stop blocking the owners first
      // (kube's detection, with its false positives).
      await c.ops.patch(item, item.unblockOwnerReferencesStrategicMergePatch(), (n) =>
        c.ops.unblockOwnerReferencesJsonMergePatch(n),
      );
      break;
    }
    // The graph sees the foreground deletion start and comes back in processDeletingDependentsItem.
    return deleteItem(c, item, latest, "Foreground");
  }
  const policy: Propagation = hasFinalizer(latest, FINALIZER_ORPHAN_DEPENDENTS)
    ? "Orphan"
    : hasFinalizer(latest, FINALIZER_DELETE_DEPENDENTS)
      ? "Foreground"
      : "Background";
  return deleteItem(c, item, latest, policy);
}

/**
 * kube's processDeletingDependentsItem: an owner deleting in foreground loses its
 * foregroundDeletion finalizer once no blocking dependent is left; until then its blocking
 * dependents are queued for deletion.
 */
async function processDeletingDependentsItem(c: AttemptContext, item: GraphNode): Promise<void> {
  const blocking = item.blockingDependents();
  if (blocking.length === 0) {
    c.log.debug(
      { item: formatReference(item.identity) },
      "garbage collector: removing the foregroundDeletion finalizer",
    );
    return c.ops.removeFinalizer(item, FINALIZER_DELETE_DEPENDENTS);
  }
  for (const dep of blocking) if (!dep.isDeletingDependents()) c.graph.attemptToDelete(dep);
}

/**
 * kube's orphanDependents: the owner's reference removed from every dependent, in parallel; a
 * dependent already gone is fine (a strategic merge patch of a missing reference changes nothing).
 */
export async function orphanDependents(c: AttemptContext, owner: ObjectReference, dependents: GraphNode[]) {
  const results = await Promise.allSettled(
    dependents.map((dep) =>
      c.ops.patch(dep, deleteOwnerRefStrategicMergePatch(dep.identity.uid, [owner.uid]), (n) =>
        c.ops.deleteOwnerRefJsonMergePatch(n, [owner.uid]),
      ),
    ),
  );
  const errors: string[] = [];
  results.forEach((r, i) => {
    if (r.status === "fulfilled" || isNotFound(r.reason)) return;
    const msg = r.reason instanceof Error ? r.reason.message : String(r.reason);
    errors.push(`orphaning ${dependents[i]} failed, ${msg}`);
  });
  if (errors.length > 0)
    throw new Error(
      `failed to orphan dependents of owner ${formatReference(owner)}, got errors: ${errors.join("; ")}`,
    );
}

/**
 * kube's attemptToOrphanWorker body: orphan the owner's dependents as the graph knows them, then
 * remove the owner's orphan finalizer (the API server then deletes the owner).
 */
export async function attemptToOrphan(c: AttemptContext, owner: GraphNode): Promise<void> {
  await orphanDependents(c, owner.identity, owner.getDependents());
  await c.ops.removeFinalizer(owner, FINALIZER_ORPHAN_DEPENDENTS);
}
