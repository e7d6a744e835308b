/**
 * kube's nominator (pkg/scheduler/backend/queue/nominator.go): the pods nominated to run on each
 * node, either from their status.nominatedNodeName or from preemption's result before the API
 * write lands, so that later scheduling cycles account for them. Pods are found by uid, since the
 * nominatedNodeName of the object may lag behind what the scheduler decided.
 */
import type { Pod } from "@skiff/api";
import type { PodInfo } from "../framework/pod-info.js";
import { podKey } from "./keys.js";

/** Looks a pod up in the informer cache (kube's podLister); undefined when it is gone. */
export type PodLookup = (namespace: string, name: string) => Pod | undefined;

/** What most nodes have nominated: shared, frozen, allocated once. */
const NONE: readonly PodInfo[] = Object.freeze([]);

export class Nominator {
  /** node name -> pods nominated there. Invariant: a pod is in at most one list, the one nominatedPodToNode names. */
  private readonly nominatedPods = new Map<string, PodInfo[]>();
  private readonly nominatedPodToNode = new Map<string, string>();

  constructor(private readonly podLookup?: PodLookup) {}

  /**
   * Nominates the pod to nodeName, or, when nodeName is undefined, to its own
   * status.nominatedNodeName (kube's ModeNoop); "" clears the nomination (kube's ModeOverride
   * with an empty name).
   */
  addNominatedPod(pi: PodInfo, nodeName?: string): void {
    const pod = pi.pod;
    this.deleteNominatedPodIfExists(pod);
    const node = nodeName ?? pod.status?.nominatedNodeName ?? "";
    if (node === "") return;
    if (this.podLookup !== undefined) {
      // As kube: a pod removed or already bound is not nominated.
      const current = this.podLookup(pod.metadata.namespace, pod.metadata.name);
      if (current === undefined || current.metadata.uid !== pod.metadata.uid) return;
      if (current.spec.nodeName) return;
    }
    const key = podKey(pod);
    this.nominatedPodToNode.set(key, node);
    const list = this.nominatedPods.get(node) ?? [];
    if (list.some((p) => podKey(p.pod) === key)) return;
    list.push(pi);
    this.nominatedPods.set(node, list);
  }

  /**
   * kube's UpdateNominatedPod: replaces the pod's object. An update that carries no
   * nominatedNodeName on either side keeps a nomination the scheduler made in memory (the API
   * write may not have landed yet).
   */
  updateNominatedPod(oldPod: Pod, newPodInfo: PodInfo): void {
    let node: string | undefined;
    if (!oldPod.status?.nominatedNodeName && !newPodInfo.pod.status?.nominatedNodeName)
      node = this.nominatedPodToNode.get(podKey(oldPod));
    this.deleteNominatedPodIfExists(oldPod);
    this.addNominatedPod(newPodInfo, node);
  }

  deleteNominatedPodIfExists(pod: Pod): void {
    const key = podKey(pod);
    const node = this.nominatedPodToNode.get(key);
    if (node === undefined) return;
    this.nominatedPodToNode.delete(key);
    const list = (this.nominatedPods.get(node) ?? []).filter((p) => podKey(p.pod) !== key);
    if (list.length === 0) this.nominatedPods.delete(node);
    else this.nominatedPods.set(node, list);
  }

  /** A copy: callers may hold it across later changes (asked for every node of every cycle). */
  nominatedPodsForNode(nodeName: string): readonly PodInfo[] {
    const list = this.nominatedPods.get(nodeName);
    return list === undefined ? NONE : [...list];
  }

  nominatedNodeFor(pod: Pod): string | undefined {
    return this.nominatedPodToNode.get(podKey(pod));
  }
}
