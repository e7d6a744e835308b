/**
 * kube's StatefulSetStatusUpdater (stateful_set_status_updater.go): writes a computed status
 * through the status subresource, retrying conflicts on a fresh read of the set.
 */
import { type ClientInterface, cloneObject, isConflict } from "@skiff/client";
import type { StatefulSet, StatefulSetStatus } from "./types.js";

/** retry.DefaultRetry's steps. */
const RETRIES = 5;

export class StatefulSetStatusUpdater {
  constructor(private readonly client: ClientInterface) {}

  async updateStatefulSetStatus(set: StatefulSet, status: StatefulSetStatus): Promise<void> {
    const sets = this.client.resource<StatefulSet>("apps/v1", "statefulsets", set.metadata.namespace);
    let toUpdate = cloneObject(set);
    for (let i = 0; ; i++) {
      // The whole status is the computed one (kube assigns set.Status = *status).
      toUpdate.status = { ...status };
      try {
        await sets.updateStatus(toUpdate);
        return;
      } catch (e) {
        if (!isConflict(e) || i + 1 >= RETRIES) throw e;
      }
      toUpdate = await sets.get(set.metadata.name);
    }
  }
}
