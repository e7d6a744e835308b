/**
 * The garbage collector's dependency graph (kube's pkg/controller/garbagecollector/graph.go): one
 * node per object uid, knowing its owners (the object's ownerReferences) and its dependents (the
 * nodes whose ownerReferences name it). An owner named by a dependent but not yet seen by any
 * informer is a "virtual" node until an informer observes it or a live GET proves it absent.
 */
import type { OwnerReference } from "@skiff/api";

/**
 * kube's objectReference: an owner reference's coordinates plus the namespace. A virtual node's
 * namespace is its first dependent's (owners of namespaced dependents are namespaced or
 * cluster-scoped; which one is only known once the kind is resolved).
 */
export interface ObjectReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  /** "" for cluster-scoped objects. */
  namespace: string;
}

/** kube's ownerReferenceCoordinates: the fields that identify the referent (no flags). */
export function ownerReferenceCoordinates(ref: OwnerReference): Omit<ObjectReference, "namespace"> {
  return { apiVersion: ref.apiVersion, kind: ref.kind, name: ref.name, uid: ref.uid };
}

/** kube's ownerReferenceMatchesCoordinates: same uid, name, kind and apiVersion. */
export function ownerReferenceMatchesCoordinates(
  a: Omit<ObjectReference, "namespace">,
  b: Omit<ObjectReference, "namespace">,
): boolean {
  return a.uid === b.uid && a.name === b.name && a.kind === b.kind && a.apiVersion === b.apiVersion;
}

export function sameReference(a: ObjectReference, b: ObjectReference): boolean {
  return ownerReferenceMatchesCoordinates(a, b) && a.namespace === b.namespace;
}

/** One string per identity (the absent owner cache's key, map keys). */
export function referenceKey(r: ObjectReference): string {
  return JSON.stringify([r.apiVersion, r.kind, r.namespace, r.name, r.uid]);
}

/** kube's objectReference.String. */
export function formatReference(r: ObjectReference): string {
  return `[${r.apiVersion}/${r.kind}, namespace: ${r.namespace}, name: ${r.name}, uid: ${r.uid}]`;
}

/** kube's referenceLessThan: kind, apiVersion, namespace, name, uid in that order of weight. */
export function referenceLessThan(a: ObjectReference, b: ObjectReference): boolean {
  if (a.kind !== b.kind) return a.kind < b.kind;
  if (a.apiVersion !== b.apiVersion) return a.apiVersion < b.apiVersion;
  if (a.namespace !== b.namespace) return a.namespace < b.namespace;
  if (a.name !== b.name) return a.name < b.name;
  return a.uid < b.uid;
}

/**
 * kube's node. Only the graph builder's loop changes `identity`, `owners` and `dependents`;
 * workers read them (single-threaded here, so no locks: a worker sees the graph as of its last
 * await, as kube's workers see it under its read locks).
 */
export class GraphNode {
  /** Nodes whose ownerReferences name this node's uid. */
  readonly dependents = new Set<GraphNode>();
  /**
   * Set when the object is seen with a deletionTimestamp and the foregroundDeletion finalizer:
   * it waits for its blocking dependents to go (kube's deletingDependents).
   */
  deletingDependents: boolean;
  /** The object has a deletionTimestamp (a one-way trip: never reset). */
  beingDeleted: boolean;
  /** Not (yet) observed by an informer: created because a dependent names it. */
  virtual: boolean;

  constructor(
    public identity: ObjectReference,
    /** The object's ownerReferences as last observed. */
    public owners: OwnerReference[] = [],
    o: { virtual?: boolean; beingDeleted?: boolean; deletingDependents?: boolean } = {},
  ) {
    this.virtual = o.virtual ?? false;
    this.beingDeleted = o.beingDeleted ?? false;
    this.deletingDependents = o.deletingDependents ?? false;
  }

  /** A copy with the same dependents (kube's clone, used to replace a node's identity). */
  clone(): GraphNode {
    const c = new GraphNode({ ...this.identity }, [...this.owners], {
      virtual: this.virtual,
      beingDeleted: this.beingDeleted,
      deletingDependents: this.deletingDependents,
    });
    for (const d of this.dependents) c.dependents.add(d);
    return c;
  }

  isObserved(): boolean {
    return !this.virtual;
  }

  markObserved(): void {
    this.virtual = false;
  }

  markBeingDeleted(): void {
    this.beingDeleted = true;
  }

  markDeletingDependents(): void {
    this.deletingDependents = true;
  }

  isDeletingDependents(): boolean {
    return this.deletingDependents;
  }

  isBeingDeleted(): boolean {
    return this.beingDeleted;
  }

  addDependent(d: GraphNode): void {
    this.dependents.add(d);
  }

  deleteDependent(d: GraphNode): void {
    this.dependents.delete(d);
  }

  /** kube's replaceDependentIfItExists: a dependent node replaced by its clone. */
  replaceDependentIfItExists(old: GraphNode, next: GraphNode): void {
    if (this.dependents.delete(old)) this.dependents.add(next);
  }

  getDependents(): GraphNode[] {
    return [...this.dependents];
  }

  /**
   * The dependents that block this node's foreground deletion: those whose reference to it has
   * blockOwnerDeletion (kube's blockingDependents).
   */
  blockingDependents(): GraphNode[] {
    return this.getDependents().filter((d) =>
      d.owners.some((o) => o.uid === this.identity.uid && o.blockOwnerDeletion === true),
    );
  }

  /**
   * kube's unblockOwnerReferencesStrategicMergePatch: every blocking reference of this node set
   * to blockOwnerDeletion false, the node's uid making the patch conditional.
   */
  unblockOwnerReferencesStrategicMergePatch(): unknown {
    const refs = this.owners
      .filter((o) => o.blockOwnerDeletion === true)
      .map((o) => ({ uid: o.uid, blockOwnerDeletion: false }));
    return { metadata: { ownerReferences: refs, uid: this.identity.uid } };
  }

  toString(): string {
    return formatReference(this.identity);
  }
}

/** kube's concurrentUIDToNode: every node of the graph by uid. */
export class UIDToNode {
  private readonly nodes = new Map<string, GraphNode>();

  read(uid: string): GraphNode | undefined {
    return this.nodes.get(uid);
  }

  write(n: GraphNode): void {
    this.nodes.set(n.identity.uid, n);
  }

  delete(uid: string): void {
    this.nodes.delete(uid);
  }

  get size(): number {
    return this.nodes.size;
  }

  values(): IterableIterator<GraphNode> {
    return this.nodes.values();
  }
}
