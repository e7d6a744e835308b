/**
 * The RollingUpdate strategy (kube's pkg/controller/daemon/update.go rollingUpdate). Without
 * surge: delete old pods, unavailable ones first, while fewer than maxUnavailable nodes are
 * without an available pod; the manage loop then creates the new pods. With maxSurge: create a
 * new pod next to an old one on at most maxSurge nodes at a time (at once where the old pod is
 * unavailable), and delete the old pod once the new one is available. Nodes with several old or
 * several new pods are left to the manage loop.
 */
import type { Node, Pod } from "@skiff/api";
import { isPodAvailable } from "../util/pod.js";
import type { DaemonSetsController } from "./daemon-controller.js";
import { getNodesToDaemonPods, syncNodes } from "./manage.js";
import type { DaemonSet } from "./types.js";
import { isPodUpdated, nodeShouldRunDaemonPod, surgeCount, unavailableCount } from "./util.js";

/**
 * findUpdatedPodsOnNode: the node's new and old pod (not being deleted); ok is false when there
 * are two of either, which the manage loop prunes first.
 */
export function findUpdatedPodsOnNode(
  pods: readonly Pod[],
  hash: string,
): { newPod?: Pod; oldPod?: Pod; ok: boolean } {
  let newPod: Pod | undefined;
  let oldPod: Pod | undefined;
  for (const pod of pods) {
    if (pod.metadata.deletionTimestamp !== undefined) continue;
    if (isPodUpdated(pod, hash)) {
      if (newPod !== undefined) return { ok: false };
      newPod = pod;
    } else {
      if (oldPod !== undefined) return { ok: false };
      oldPod = pod;
    }
  }
  return { newPod, oldPod, ok: true };
}

/**
 * updatedDesiredNodeCounts: maxSurge and maxUnavailable for the nodes that should run the pod
 * (adding those nodes, without pods, to the map); both 0 is taken as maxUnavailable 1.
 */
export function updatedDesiredNodeCounts(
  ds: DaemonSet,
  nodeList: readonly Node[],
  nodeToDaemonPods: Map<string, Pod[]>,
): { maxSurge: number; maxUnavailable: number; desiredNumberScheduled: number } {
  let desiredNumberScheduled = 0;
  for (const node of nodeList) {
    if (!nodeShouldRunDaemonPod(node, ds).shouldRun) continue;
    desiredNumberScheduled++;
    if (!nodeToDaemonPods.has(node.metadata.name)) nodeToDaemonPods.set(node.metadata.name, []);
  }
  let maxUnavailable = unavailableCount(ds, desiredNumberScheduled);
  const maxSurge = surgeCount(ds, desiredNumberScheduled);
  if (desiredNumberScheduled > 0 && maxUnavailable === 0 && maxSurge === 0) maxUnavailable = 1;
  return { maxSurge, maxUnavailable, desiredNumberScheduled };
}

export async function rollingUpdate(
  dsc: DaemonSetsController,
  ds: DaemonSet,
  nodeList: readonly Node[],
  hash: string,
): Promise<void> {
  const nodeToDaemonPods = await getNodesToDaemonPods(dsc, ds, false);
  const { maxSurge, maxUnavailable, desiredNumberScheduled } = updatedDesiredNodeCounts(
    ds,
    nodeList,
    nodeToDaemonPods,
  );
  const now = dsc.clock.now();
  const minReady = ds.spec.minReadySeconds ?? 0;
  const available = (p: Pod) => isPodAvailable(p, minReady, now);
  if (maxSurge === 0) {
    await syncNodes(dsc, ds, podsToReplace(nodeToDaemonPods, hash, maxUnavailable, available), [], hash);
    return;
  }
  const oldPodsToDelete: string[] = [];
  const shouldNotRunPodsToDelete: string[] = [];
  const candidateNewNodes: string[] = [];
  const allowedNewNodes: string[] = [];
  let numSurge = 0;
  let numAvailable = 0;
  const shouldRun = (nodeName: string) => {
    const node = dsc.nodeLister.get(nodeName);
    if (node === undefined) throw new Error(`couldn't get node for nodeName "${nodeName}"`);
    return nodeShouldRunDaemonPod(node, ds).shouldRun;
  };
  for (const [nodeName, pods] of nodeToDaemonPods) {
    const { newPod, oldPod, ok } = findUpdatedPodsOnNode(pods, hash);
    if (!ok) {
      numSurge++; // the manage loop prunes the excess; count the node as surging
      continue;
    }
    // Availability of every node, even those being sunset by a scheduling constraint change.
    if (oldPod !== undefined ? available(oldPod) : newPod !== undefined && available(newPod)) numAvailable++;
    if (oldPod === undefined) continue; // nothing to replace: the manage loop handles the node
    if (newPod === undefined) {
      if (!available(oldPod)) {
        if (!shouldRun(nodeName)) oldPodsToDelete.push(oldPod.metadata.name);
        else allowedNewNodes.push(nodeName); // an unavailable old pod is replaced at once
        continue;
      }
      if (!shouldRun(nodeName)) {
        shouldNotRunPodsToDelete.push(oldPod.metadata.name);
        continue;
      }
      if (numSurge < maxSurge) candidateNewNodes.push(nodeName);
      continue;
    }
    // Already surged onto this node: the old pod goes once the new one is available.
    if (!available(newPod)) numSurge++;
    else oldPodsToDelete.push(oldPod.metadata.name);
  }
  // With surge the owner expects full availability: pods on nodes that may no longer run them go
  // only as pods elsewhere become available.
  const deletable = Math.min(numAvailable - desiredNumberScheduled, shouldNotRunPodsToDelete.length);
  if (deletable > 0) oldPodsToDelete.push(...shouldNotRunPodsToDelete.slice(0, deletable));
  const remainingSurge = Math.min(Math.max(maxSurge - numSurge, 0), candidateNewNodes.length);
  await syncNodes(
    dsc,
    ds,
    oldPodsToDelete,
    [...allowedNewNodes, ...candidateNewNodes.slice(0, remainingSurge)],
    hash,
  );
}

/**
 * Without surge: the old pods to delete. Unavailable old pods always (they count against the
 * budget); available ones while the nodes without an available pod stay under maxUnavailable.
 */
function podsToReplace(
  nodeToDaemonPods: ReadonlyMap<string, Pod[]>,
  hash: string,
  maxUnavailable: number,
  available: (p: Pod) => boolean,
): string[] {
  let numUnavailable = 0;
  const allowedReplacementPods: string[] = [];
  const candidatePodsToDelete: string[] = [];
  for (const pods of nodeToDaemonPods.values()) {
    const { newPod, oldPod, ok } = findUpdatedPodsOnNode(pods, hash);
    if (!ok || (oldPod === undefined) === (newPod === undefined)) {
      // Excess pods, no pod, or both: the manage loop acts; the node counts as unavailable.
      numUnavailable++;
      continue;
    }
    if (newPod !== undefined) {
      if (!available(newPod)) numUnavailable++;
      continue;
    }
    const old = oldPod as Pod;
    if (!available(old)) {
      allowedReplacementPods.push(old.metadata.name);
      numUnavailable++;
    } else if (numUnavailable < maxUnavailable) candidatePodsToDelete.push(old.metadata.name);
  }
  const remaining = Math.min(Math.max(maxUnavailable - numUnavailable, 0), candidatePodsToDelete.length);
  return [...allowedReplacementPods, ...candidatePodsToDelete.slice(0, remaining)];
}
