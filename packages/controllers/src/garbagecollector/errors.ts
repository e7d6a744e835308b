/** The garbage collector's marker errors (kube's garbagecollector.go sentinels). */

/** kube's enqueuedVirtualDeleteEventErr: the node proved absent; the graph loop removes it. */
export class EnqueuedVirtualDeleteEvent extends Error {
  constructor() {
    super("enqueued virtual delete event");
  }
}

/** kube's namespacedOwnerOfClusterScopedObjectErr: invalid for good, retrying will not help. */
export class NamespacedOwnerOfClusterScopedObject extends Error {
  constructor() {
    super("cluster-scoped objects cannot refer to namespaced owners");
  }
}
