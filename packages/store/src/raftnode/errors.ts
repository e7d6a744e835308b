/**
 * Errors a RaftNode gives its callers, with etcd's messages (clients retry by these).
 * See etcd's server/etcdserver/errors.go.
 */
export class RaftNodeError extends Error {
  constructor(
    readonly code: "NoLeader" | "Timeout" | "Stopped" | "StorageFailed" | "NotLeader",
    message: string,
  ) {
    super(message);
    this.name = "RaftNodeError";
  }
}

export const errNoLeader = () => new RaftNodeError("NoLeader", "etcdserver: no leader");
export const errTimeout = () => new RaftNodeError("Timeout", "etcdserver: request timed out");
export const errStopped = () => new RaftNodeError("Stopped", "etcdserver: server stopped");
