/**
 * The manage loop of kube's daemonset controller (daemon_controller.go: getDaemonPods,
 * getNodesToDaemonPods, manage, podsShouldBeOnNode, syncNodes): which nodes lack their daemon pod
 * and which pods must go (on nodes that may no longer run them, failed ones with a backoff,
 * succeeded ones, surplus ones), then at most BurstReplicas creates in slow-start batches and as
 * many deletes, with expectations set first so that the next sync waits for their events.
 */
import type { Node, Pod } from "@skiff/api";
import { toSelector } from "@skiff/client";
import { claimObjects, newControllerRef, recheckController } from "../util/controller-ref.js";
import { isNamespaceTerminating } from "../util/errors.js";
import { isPodAvailable, isPodReady, isPodTerminal } from "../util/pod.js";
import { messageOf, SLOW_START_INITIAL_BATCH_SIZE, slowStartBatch } from "../util/pod-control.js";
import type { DaemonSetsController } from "./daemon-controller.js";
import {
  DAEMONSET_KIND,
  type DaemonSet,
  DEFAULT_DAEMONSET_UNIQUE_LABEL_KEY,
  FAILED_DAEMON_POD_REASON,
  SUCCEEDED_DAEMON_POD_REASON,
} from "./types.js";
import {
  allowsSurge,
  compareByCreationTimestampAndPhase,
  createPodTemplate,
  getTargetNodeName,
  nodeShouldRunDaemonPod,
  replaceDaemonSetPodNodeNameNodeAffinity,
} from "./util.js";

/** getDaemonPods: the pods the DaemonSet owns, adopting matching orphans and releasing strays. */
export async function getDaemonPods(dsc: DaemonSetsController, ds: DaemonSet): Promise<Pod[]> {
  const ns = ds.metadata.namespace;
  const selector = toSelector(ds.spec.selector);
  return claimObjects(dsc.podLister.namespace(ns).list(), {
    controller: ds,
    gvk: DAEMONSET_KIND,
    match: (pod) => selector.matches(pod.metadata.labels),
    client: (n) => dsc.client.resource<Pod>("v1", "pods", n),
    canAdopt: recheckController(
      () => dsc.client.resource<DaemonSet>("apps/v1", "daemonsets", ns).get(ds.metadata.name),
      ds,
    ),
  });
}

/**
 * getNodesToDaemonPods: the DaemonSet's pods by the node they are for (bound or not yet).
 * Terminal pods being deleted are left out unless includeDeletedTerminal (history cleanup keeps
 * their revisions).
 */
export async function getNodesToDaemonPods(
  dsc: DaemonSetsController,
  ds: DaemonSet,
  includeDeletedTerminal: boolean,
): Promise<Map<string, Pod[]>> {
  const out = new Map<string, Pod[]>();
  for (const pod of await getDaemonPods(dsc, ds)) {
    if (!includeDeletedTerminal && isPodTerminal(pod) && pod.metadata.deletionTimestamp !== undefined)
      continue;
    let nodeName: string;
    try {
      nodeName = getTargetNodeName(pod);
    } catch (e) {
      dsc.logger.warn(
        { pod: `${pod.metadata.namespace}/${pod.metadata.name}`, err: messageOf(e) },
        "no node for daemon pod",
      );
      continue;
    }
    const list = out.get(nodeName);
    if (list === undefined) out.set(nodeName, [pod]);
    else list.push(pod);
  }
  return out;
}

/** failedPodsBackoffKey: per DaemonSet (uid), generation and node. */
function failedPodsBackoffKey(ds: DaemonSet, nodeName: string): string {
  return `${ds.metadata.uid}/${ds.status?.observedGeneration ?? 0}/${nodeName}`;
}

/**
 * podsShouldBeOnNode: whether the node needs a daemon pod, and which of its pods to delete.
 * Without surge a node keeps its oldest running pod; with surge it may keep one old and one new
 * pod while the new one is not yet available.
 */
export function podsShouldBeOnNode(
  dsc: DaemonSetsController,
  node: Node,
  nodeToDaemonPods: ReadonlyMap<string, Pod[]>,
  ds: DaemonSet,
  hash: string,
): { needsPod: boolean; podsToDelete: string[] } {
  const { shouldRun, shouldContinueRunning } = nodeShouldRunDaemonPod(node, ds);
  const daemonPods = nodeToDaemonPods.get(node.metadata.name);
  const podsToDelete: string[] = [];
  if (shouldRun && daemonPods === undefined) return { needsPod: true, podsToDelete };
  if (!shouldContinueRunning) {
    // The node may not run the pod any more: delete every daemon pod on it.
    for (const pod of daemonPods ?? [])
      if (pod.metadata.deletionTimestamp === undefined) podsToDelete.push(pod.metadata.name);
    return { needsPod: false, podsToDelete };
  }
  const running: Pod[] = [];
  for (const pod of daemonPods ?? []) {
    if (pod.metadata.deletionTimestamp !== undefined) continue;
    const phase = pod.status?.phase;
    if (phase === "Failed") {
      // The controller often fights a kubelet that rejects the pod: back off instead of hot looping.
      const key = failedPodsBackoffKey(ds, node.metadata.name);
      const now = dsc.failedPodsBackoff.clock.now();
      if (dsc.failedPodsBackoff.isInBackOffSinceUpdate(key, now)) {
        dsc.enqueueAfter(ds, dsc.failedPodsBackoff.get(key));
        continue;
      }
      dsc.failedPodsBackoff.next(key, now);
      dsc.recorder.event(
        ds,
        "Warning",
        FAILED_DAEMON_POD_REASON,
        `Found failed daemon pod ${pod.metadata.namespace}/${pod.metadata.name} on node ${node.metadata.name}, will try to kill it`,
      );
      podsToDelete.push(pod.metadata.name);
    } else if (phase === "Succeeded") {
      dsc.recorder.event(
        ds,
        "Normal",
        SUCCEEDED_DAEMON_POD_REASON,
        `Found succeeded daemon pod ${pod.metadata.namespace}/${pod.metadata.name} on node ${node.metadata.name}, will try to delete it`,
      );
      podsToDelete.push(pod.metadata.name);
    } else running.push(pod);
  }
  if (running.length <= 1) return { needsPod: false, podsToDelete };
  running.sort(compareByCreationTimestampAndPhase);
  if (!allowsSurge(ds)) {
    // More than one running pod on the node: keep the oldest.
    for (const pod of running.slice(1)) podsToDelete.push(pod.metadata.name);
    return { needsPod: false, podsToDelete };
  }
  // Surging: keep the oldest new pod and the oldest old pod; the old one goes once it is not
  // ready or the new one is available. Neither ready: only the new one stays.
  let oldestNew: Pod | undefined;
  let oldestOld: Pod | undefined;
  for (const pod of running) {
    const isNew = pod.metadata.labels?.[DEFAULT_DAEMONSET_UNIQUE_LABEL_KEY] === hash;
    if (isNew && oldestNew === undefined) oldestNew = pod;
    else if (!isNew && oldestOld === undefined) oldestOld = pod;
    else podsToDelete.push(pod.metadata.name);
  }
  if (oldestNew !== undefined && oldestOld !== undefined) {
    const now = dsc.failedPodsBackoff.clock.now();
    if (!isPodReady(oldestOld) || isPodAvailable(oldestNew, ds.spec.minReadySeconds ?? 0, now))
      podsToDelete.push(oldestOld.metadata.name);
  }
  return { needsPod: false, podsToDelete };
}

/** getUnscheduledPodsWithoutNode: unbound pods meant for nodes that no longer exist. */
function getUnscheduledPodsWithoutNode(
  nodeList: readonly Node[],
  nodeToDaemonPods: ReadonlyMap<string, Pod[]>,
): string[] {
  const names = new Set(nodeList.map((n) => n.metadata.name));
  const out: string[] = [];
  for (const [nodeName, pods] of nodeToDaemonPods) {
    if (names.has(nodeName)) continue;
    for (const pod of pods) if ((pod.spec.nodeName ?? "") === "") out.push(pod.metadata.name);
  }
  return out;
}

/** manage: create the missing daemon pods, delete the ones that must go. */
export async function manage(
  dsc: DaemonSetsController,
  ds: DaemonSet,
  nodeList: readonly Node[],
  hash: string,
): Promise<void> {
  const nodeToDaemonPods = await getNodesToDaemonPods(dsc, ds, false);
  const nodesNeedingDaemonPods: string[] = [];
  const podsToDelete: string[] = [];
  for (const node of nodeList) {
    const r = podsShouldBeOnNode(dsc, node, nodeToDaemonPods, ds, hash);
    if (r.needsPod) nodesNeedingDaemonPods.push(node.metadata.name);
    podsToDelete.push(...r.podsToDelete);
  }
  podsToDelete.push(...getUnscheduledPodsWithoutNode(nodeList, nodeToDaemonPods));
  await syncNodes(dsc, ds, podsToDelete, nodesNeedingDaemonPods, hash);
}

/**
 * syncNodes: deletes podsToDelete and creates a pod for each node in nodesNeedingDaemonPods, at
 * most burstReplicas of each. Expectations are set for all of them first; a failed or skipped
 * create or delete lowers them again, since no event will come for it.
 */
export async function syncNodes(
  dsc: DaemonSetsController,
  ds: DaemonSet,
  podsToDelete: readonly string[],
  nodesNeedingDaemonPods: readonly string[],
  hash: string,
): Promise<void> {
  const key = `${ds.metadata.namespace}/${ds.metadata.name}`;
  const createDiff = Math.min(nodesNeedingDaemonPods.length, dsc.burstReplicas);
  const deleteDiff = Math.min(podsToDelete.length, dsc.burstReplicas);
  dsc.expectations.setExpectations(key, createDiff, deleteDiff);
  const errors: unknown[] = [];
  const template = createPodTemplate(ds.spec.template, hash);
  const ref = newControllerRef(ds, DAEMONSET_KIND);
  let attempted = 0;
  const { error } = await slowStartBatch(createDiff, SLOW_START_INITIAL_BATCH_SIZE, async (i) => {
    attempted++;
    const nodeName = nodesNeedingDaemonPods[i] as string;
    try {
      // The scheduler binds the pod to its node through this affinity (kube since 1.12).
      await dsc.podControl.createPod(ds.metadata.namespace, template, ds, ref, (pod) => {
        pod.spec.affinity = replaceDaemonSetPodNodeNameNodeAffinity(pod.spec.affinity, nodeName);
      });
    } catch (e) {
      // In a namespace being deleted every create fails: nothing to retry (and, as kube, the
      // expectation stays until it expires).
      if (isNamespaceTerminating(e)) return;
      dsc.expectations.creationObserved(key);
      throw e;
    }
  });
  if (error !== undefined) errors.push(error);
  // The creates never attempted will not be observed either.
  if (createDiff > attempted) dsc.expectations.lowerExpectations(key, createDiff - attempted, 0);
  const deletes = await Promise.allSettled(
    podsToDelete.slice(0, deleteDiff).map(async (name) => {
      try {
        if (!(await dsc.podControl.deletePod(ds.metadata.namespace, name, ds)))
          dsc.expectations.deletionObserved(key);
      } catch (e) {
        dsc.expectations.deletionObserved(key);
        throw e;
      }
    }),
  );
  for (const d of deletes) if (d.status === "rejected") errors.push(d.reason);
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new Error(errors.map(messageOf).join("; "));
}
