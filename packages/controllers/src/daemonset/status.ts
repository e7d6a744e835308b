/**
 * The DaemonSet's status (daemon_controller.go's updateDaemonSetStatus and storeDaemonSetStatus):
 * per node that should run the pod, whether it has one (the oldest counts), whether that one is
 * ready, available and of the current template; pods on nodes that should not run them are
 * misscheduled. Written through the status subresource only when something changed, retried once
 * on a fresh read (StatusUpdateRetries); a failure requeues the DaemonSet with backoff.
 */
import type { Node } from "@skiff/api";
import { isPodAvailable, isPodReady } from "../util/pod.js";
import { updateStatusWithRetries } from "../util/status-update.js";
import type { DaemonSetsController } from "./daemon-controller.js";
import { getNodesToDaemonPods } from "./manage.js";
import type { DaemonSet, DaemonSetStatus } from "./types.js";
import { compareByCreationTimestampAndPhase, isPodUpdated, nodeShouldRunDaemonPod } from "./util.js";

/** kube's StatusUpdateRetries. */
const STATUS_UPDATE_RETRIES = 1;

type Counts = Required<
  Pick<
    DaemonSetStatus,
    | "desiredNumberScheduled"
    | "currentNumberScheduled"
    | "numberMisscheduled"
    | "numberReady"
    | "updatedNumberScheduled"
    | "numberAvailable"
    | "numberUnavailable"
  >
>;

export async function updateDaemonSetStatus(
  dsc: DaemonSetsController,
  ds: DaemonSet,
  nodeList: readonly Node[],
  hash: string,
  updateObservedGen: boolean,
): Promise<void> {
  const nodeToDaemonPods = await getNodesToDaemonPods(dsc, ds, false);
  const now = dsc.clock.now();
  const minReady = ds.spec.minReadySeconds ?? 0;
  const c: Counts = {
    desiredNumberScheduled: 0,
    currentNumberScheduled: 0,
    numberMisscheduled: 0,
    numberReady: 0,
    updatedNumberScheduled: 0,
    numberAvailable: 0,
    numberUnavailable: 0,
  };
  for (const node of nodeList) {
    const { shouldRun } = nodeShouldRunDaemonPod(node, ds);
    const pods = nodeToDaemonPods.get(node.metadata.name) ?? [];
    if (!shouldRun) {
      if (pods.length > 0) c.numberMisscheduled++;
      continue;
    }
    c.desiredNumberScheduled++;
    if (pods.length === 0) continue;
    c.currentNumberScheduled++;
    const pod = [...pods].sort(compareByCreationTimestampAndPhase)[0];
    if (pod === undefined) continue;
    if (isPodReady(pod)) {
      c.numberReady++;
      if (isPodAvailable(pod, minReady, now)) c.numberAvailable++;
    }
    if (isPodUpdated(pod, hash)) c.updatedNumberScheduled++;
  }
  c.numberUnavailable = c.desiredNumberScheduled - c.numberAvailable;
  await storeDaemonSetStatus(dsc, ds, c, updateObservedGen);
  // A last line of defence against clock skew: look again once minReadySeconds have passed.
  if (minReady > 0 && c.numberReady !== c.numberAvailable) dsc.enqueueAfter(ds, minReady * 1000);
}

function statusUnchanged(ds: DaemonSet, c: Counts, updateObservedGen: boolean): boolean {
  const s = ds.status;
  if (s === undefined) return false;
  if (updateObservedGen && (s.observedGeneration ?? 0) < (ds.metadata.generation ?? 0)) return false;
  return (Object.keys(c) as (keyof Counts)[]).every((k) => (s[k] ?? 0) === c[k]);
}

async function storeDaemonSetStatus(
  dsc: DaemonSetsController,
  ds: DaemonSet,
  c: Counts,
  updateObservedGen: boolean,
): Promise<void> {
  if (statusUnchanged(ds, c, updateObservedGen)) return;
  const dsClient = dsc.client.resource<DaemonSet>("apps/v1", "daemonsets", ds.metadata.namespace);
  const withStatus = (toUpdate: DaemonSet) => {
    const status: DaemonSetStatus = { ...toUpdate.status, ...c };
    if (updateObservedGen) status.observedGeneration = ds.metadata.generation ?? 0;
    toUpdate.status = status;
    return toUpdate;
  };
  // Past the retries the DaemonSet is requeued with a rate limit.
  await updateStatusWithRetries(dsClient, ds, withStatus, { attempts: STATUS_UPDATE_RETRIES + 1 });
}
