/**
 * How the workload controllers write a status they computed (replicaset's
 * updateReplicaSetStatus, daemon's storeDaemonSetStatus, statefulset's StatefulSetStatusUpdater):
 * through the status subresource, on a copy of the object (never the cached one); when the write
 * fails (a conflict: someone wrote the object meanwhile), the object is read fresh and the status
 * put on it again, up to `attempts` writes in all. Past them the error goes to the caller, whose
 * key the work queue retries with backoff.
 */
import type { KubeObject } from "@skiff/api";
import { cloneObject, type ResourceClient } from "@skiff/client";

export interface StatusUpdateRetries {
  /** Writes at most, the first included (kube: statusUpdateRetries + 1, or retry.DefaultRetry's 5). */
  attempts: number;
  /** Which failures are worth a fresh read and another write (default: all). */
  retryIf?: (e: unknown) => boolean;
}

/** Writes `withStatus(copy)` to the status subresource, retrying on a fresh read as `o` says. */
export async function updateStatusWithRetries<T extends KubeObject>(
  client: ResourceClient<T>,
  obj: T,
  withStatus: (copy: T) => T,
  o: StatusUpdateRetries,
): Promise<T> {
  let current = obj;
  for (let attempt = 1; ; attempt++) {
    try {
      return await client.updateStatus(withStatus(cloneObject(current)));
    } catch (e) {
      if (attempt >= o.attempts || !(o.retryIf?.(e) ?? true)) throw e;
    }
    current = await client.get(obj.metadata.name as string);
  }
}
