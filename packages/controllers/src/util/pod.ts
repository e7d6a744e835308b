/**
 * Pod helpers the workload controllers share: readiness and availability (kube's
 * pkg/api/v1/pod IsPodReady / IsPodAvailable), activity (pkg/controller IsPodActive /
 * FilterActivePods), and the pod informer's controller-uid index (pkg/controller
 * AddPodControllerUIDIndexer / FilterPodsByOwner), which lets a controller find its own pods and
 * its namespace's orphans without scanning every pod of the namespace.
 */
import type { KubeObject, Pod, PodCondition } from "@skiff/api";
import type { Indexer, IndexFunc } from "@skiff/client";
import { getControllerOf } from "./controller-ref.js";

/** The pod's Ready condition, if it has one (kube's GetPodReadyCondition). */
export function getPodReadyCondition(pod: Pod): PodCondition | undefined {
  return pod.status?.conditions?.find((c) => c.type === "Ready");
}

/** Ready=True (kube's podutil.IsPodReady). */
export function isPodReady(pod: Pod): boolean {
  return getPodReadyCondition(pod)?.status === "True";
}

/**
 * Ready for at least minReadySeconds (kube's podutil.IsPodAvailable): the Ready condition's
 * lastTransitionTime plus minReadySeconds is before `nowMs`. With minReadySeconds 0 a ready pod
 * is available at once.
 */
export function isPodAvailable(pod: Pod, minReadySeconds: number, nowMs: number): boolean {
  const c = getPodReadyCondition(pod);
  if (c?.status !== "True") return false;
  if (minReadySeconds <= 0) return true;
  const since = c.lastTransitionTime === undefined ? Number.NaN : Date.parse(c.lastTransitionTime);
  return !Number.isNaN(since) && since + minReadySeconds * 1000 < nowMs;
}

/** When the pod turned ready, in ms (undefined when not ready or unknown), as kube's podReadyTime. */
export function podReadyTime(pod: Pod): number | undefined {
  const c = getPodReadyCondition(pod);
  if (c?.status !== "True" || c.lastTransitionTime === undefined) return undefined;
  const t = Date.parse(c.lastTransitionTime);
  return Number.isNaN(t) ? undefined : t;
}

/** Failed or Succeeded (kube's podutil.IsPodTerminal). */
export function isPodTerminal(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase === "Failed" || phase === "Succeeded";
}

/** Not terminal and not being deleted (kube's controller.IsPodActive). */
export function isPodActive(pod: Pod): boolean {
  return !isPodTerminal(pod) && pod.metadata.deletionTimestamp === undefined;
}

/** kube's controller.FilterActivePods. */
export function filterActivePods(pods: readonly Pod[]): Pod[] {
  return pods.filter(isPodActive);
}

/** kube's controller.PodControllerUIDIndex: pods by their controller's uid. */
export const PodControllerUIDIndex = "podControllerUID";

/** kube's OrphanPodIndexKeyForNamespace: where pods without a controller are indexed. */
export function orphanPodIndexKeyForNamespace(namespace: string): string {
  return `_ORPHAN_POD/${namespace}`;
}

/**
 * The index function of PodControllerUIDIndex (kube's AddPodControllerUIDIndexer): the
 * controller's uid, or the orphan key of the pod's namespace. Share this one function: an
 * informer refuses two functions under one index name.
 */
export const podControllerUIDIndexFunc: IndexFunc = (obj) => {
  const ref = getControllerOf(obj);
  if (ref !== undefined) return [ref.uid];
  return [orphanPodIndexKeyForNamespace(obj.metadata.namespace ?? "")];
};

/**
 * The pods of the owner's namespace controlled by it (kind and uid), and with
 * `includeOrphans` those controlled by nobody (kube's controller.FilterPodsByOwner).
 */
export function filterPodsByOwner(
  indexer: Indexer<Pod>,
  owner: KubeObject,
  ownerKind: string,
  includeOrphans: boolean,
): Pod[] {
  const ns = owner.metadata.namespace ?? "";
  const uid = owner.metadata.uid;
  if (uid === undefined || uid === "") return [];
  const out = indexer.byIndex(PodControllerUIDIndex, uid).filter((p) => {
    const ref = getControllerOf(p);
    return p.metadata.namespace === ns && ref?.uid === uid && ref.kind === ownerKind;
  });
  if (includeOrphans) out.push(...indexer.byIndex(PodControllerUIDIndex, orphanPodIndexKeyForNamespace(ns)));
  return out;
}

/** kube's controller.PodKey: namespace/name. */
export function podKey(pod: Pod): string {
  return `${pod.metadata.namespace}/${pod.metadata.name}`;
}
