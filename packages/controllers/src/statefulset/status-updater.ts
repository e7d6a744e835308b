/**
 * kube's StatefulSetStatusUpdater (stateful_set_status_updater.go): writes a computed status
 * through the status subresource, retrying conflicts on a fresh read of the set.
 */
import { type ClientInterface, isConflict } from "@skiff/client";
import { updateStatusWithRetries } from "../util/status-update.js";
import type { StatefulSet, StatefulSetStatus } from "./types.js";

/** retry.DefaultRetry's steps. */
const RETRIES = 5;

export class StatefulSetStatusUpdater {
  constructor(private readonly client: ClientInterface) {}

  async updateStatefulSetStatus(set: StatefulSet, status: StatefulSetStatus): Promise<void> {
    const sets = this.client.resource<StatefulSet>("apps/v1", "statefulsets", set.metadata.namespace);
    // The whole status is the computed one (kube assigns set.Status = *status).
    const withStatus = (toUpdate: StatefulSet) => ({ ...toUpdate, status: { ...status } });
    await updateStatusWithRetries(sets, set, withStatus, { attempts: RETRIES, retryIf: isConflict });
  }
}
