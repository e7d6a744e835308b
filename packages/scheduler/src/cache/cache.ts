/**
 * The scheduler cache (pkg/scheduler/backend/cache): NodeInfos with the pods the scheduler
 * believes are on each node. A pod is *assumed* on its node the moment it is chosen, so the next
 * cycle sees its resources taken while the bind is still in flight; the informer's add of the
 * bound pod confirms the assumption, a failed bind forgets it. `updateSnapshot` copies only the
 * NodeInfos that changed since the last snapshot.
 */
import type { Node, Pod } from "@skiff/api";
import { ImageStates } from "../framework/image-states.js";
import { NodeInfo } from "../framework/node-info.js";
import { PodInfo } from "../framework/pod-info.js";
import type { Snapshot } from "../framework/snapshot.js";
import { NodeTree } from "./node-tree.js";

interface PodState {
  podInfo: PodInfo;
  nodeName: string;
  assumed: boolean;
  bindingFinished: boolean;
}

const uidOf = (pod: Pod): string => {
  const uid = pod.metadata.uid;
  if (uid === undefined || uid === "")
    throw new Error(`pod ${pod.metadata.namespace}/${pod.metadata.name} has no uid`);
  return uid;
};

export class SchedulerCache {
  private readonly nodes = new Map<string, NodeInfo>();
  private readonly podStates = new Map<string, PodState>();
  private readonly tree = new NodeTree();
  private readonly imageStates = new ImageStates();
  /** Node names whose NodeInfo changed since the last snapshot. */
  private dirty = new Set<string>();
  /** Set when nodes came or went, or zones changed: the snapshot's lists are rebuilt. */
  private structureChanged = true;

  /** A node with malformed allocatable throws QuantityError (the caller skips it with an event). */
  addNode(node: Node): void {
    const name = node.metadata.name;
    let ni = this.nodes.get(name);
    if (ni === undefined) {
      // Build it first so that a bad node leaves no trace.
      ni = new NodeInfo(node);
      this.nodes.set(name, ni);
    } else {
      const old = ni.node;
      ni.setNode(node);
      this.imageStates.removeNodeImageStates(old);
    }
    this.imageStates.addNodeImageStates(node, ni);
    this.tree.add(node);
    this.dirty.add(name);
    this.structureChanged = true;
  }

  updateNode(_old: Node | undefined, node: Node): void {
    const name = node.metadata.name;
    const ni = this.nodes.get(name);
    if (ni === undefined || ni.node === undefined) {
      this.addNode(node);
      return;
    }
    const old = ni.node;
    const zoneBefore = old.metadata.labels?.["topology.kubernetes.io/zone"];
    ni.setNode(node);
    if (old.status?.images !== node.status?.images) {
      this.imageStates.removeNodeImageStates(old);
      this.imageStates.addNodeImageStates(node, ni);
    }
    if (zoneBefore !== node.metadata.labels?.["topology.kubernetes.io/zone"]) {
      this.tree.add(node);
      this.structureChanged = true;
    }
    this.dirty.add(name);
  }

  removeNode(node: Node): void {
    const name = node.metadata.name;
    const ni = this.nodes.get(name);
    if (ni === undefined) return;
    this.imageStates.removeNodeImageStates(ni.node);
    // Pods still on it stay until their own deletes arrive (kube keeps a ghost NodeInfo).
    if (ni.pods.length === 0) this.nodes.delete(name);
    else ni.removeNode();
    this.tree.remove(name);
    this.dirty.add(name);
    this.structureChanged = true;
  }

  private nodeInfoFor(name: string): NodeInfo {
    let ni = this.nodes.get(name);
    if (ni === undefined) {
      ni = new NodeInfo();
      this.nodes.set(name, ni);
    }
    return ni;
  }

  private place(pi: PodInfo, nodeName: string): void {
    const ni = this.nodeInfoFor(nodeName);
    const affinityBefore = ni.podsWithAffinity.length;
    const antiBefore = ni.podsWithRequiredAntiAffinity.length;
    ni.addPod(pi);
    this.dirty.add(nodeName);
    if (
      affinityBefore !== ni.podsWithAffinity.length ||
      antiBefore !== ni.podsWithRequiredAntiAffinity.length
    )
      this.structureChanged = true;
  }

  private unplace(uid: string, nodeName: string): void {
    const ni = this.nodes.get(nodeName);
    if (ni === undefined) return;
    const affinityBefore = ni.podsWithAffinity.length;
    const antiBefore = ni.podsWithRequiredAntiAffinity.length;
    ni.removePod(uid);
    this.dirty.add(nodeName);
    if (
      affinityBefore !== ni.podsWithAffinity.length ||
      antiBefore !== ni.podsWithRequiredAntiAffinity.length
    )
      this.structureChanged = true;
    if (ni.node === undefined && ni.pods.length === 0) this.nodes.delete(nodeName);
  }

  /** The pod (with spec.nodeName set) is taken to be on its node until confirmed or forgotten. */
  assumePod(podInfo: PodInfo): void {
    const pod = podInfo.pod;
    const uid = uidOf(pod);
    if (this.podStates.has(uid))
      throw new Error(`pod ${podInfo.key}(${uid}) is in the cache, so can't be assumed`);
    const nodeName = pod.spec.nodeName;
    if (nodeName === undefined || nodeName === "")
      throw new Error(`assumed pod ${podInfo.key} has no nodeName`);
    this.place(podInfo, nodeName);
    this.podStates.set(uid, { podInfo, nodeName, assumed: true, bindingFinished: false });
  }

  finishBinding(pod: Pod): void {
    const ps = this.podStates.get(uidOf(pod));
    if (ps?.assumed) ps.bindingFinished = true;
  }

  /** Undoes an assumption (the bind failed); a pod already confirmed is left alone. */
  forgetPod(pod: Pod): void {
    const uid = uidOf(pod);
    const ps = this.podStates.get(uid);
    if (ps === undefined || !ps.assumed) return;
    this.unplace(uid, ps.nodeName);
    this.podStates.delete(uid);
  }

  isAssumedPod(pod: Pod): boolean {
    return this.podStates.get(pod.metadata.uid ?? "")?.assumed === true;
  }

  /** An assigned pod from the informer: confirms an assumption, or adds it. Throws QuantityError. */
  addPod(pod: Pod): void {
    const uid = uidOf(pod);
    const nodeName = pod.spec.nodeName as string;
    const ps = this.podStates.get(uid);
    if (ps !== undefined) {
      // Confirmation of an assumed pod (possibly on another node than assumed, if someone else bound it).
      this.unplace(uid, ps.nodeName);
    }
    const pi = new PodInfo(pod);
    this.place(pi, nodeName);
    this.podStates.set(uid, { podInfo: pi, nodeName, assumed: false, bindingFinished: true });
  }

  updatePod(_old: Pod | undefined, pod: Pod): void {
    this.addPod(pod);
  }

  removePod(pod: Pod): void {
    const uid = uidOf(pod);
    const ps = this.podStates.get(uid);
    if (ps === undefined) return;
    this.unplace(uid, ps.nodeName);
    this.podStates.delete(uid);
  }

  getPod(uid: string): Pod | undefined {
    return this.podStates.get(uid)?.podInfo.pod;
  }

  nodeCount(): number {
    return this.tree.numNodes;
  }

  podCount(): number {
    return this.podStates.size;
  }

  assumedPodCount(): number {
    let n = 0;
    for (const ps of this.podStates.values()) if (ps.assumed) n++;
    return n;
  }

  /**
   * Brings the snapshot up to date: changed NodeInfos are cloned into it (a cycle may keep using
   * the old clones safely); the ordered lists are rebuilt only when nodes came or went.
   */
  updateSnapshot(snapshot: Snapshot): void {
    if (this.dirty.size === 0 && !this.structureChanged) return;
    for (const name of this.dirty) {
      const ni = this.nodes.get(name);
      if (ni === undefined || ni.node === undefined) snapshot.nodeInfoMap.delete(name);
      else snapshot.nodeInfoMap.set(name, ni.clone());
    }
    const changedNames = this.dirty;
    this.dirty = new Set();
    if (this.structureChanged) {
      this.structureChanged = false;
      const ordered: NodeInfo[] = [];
      for (const name of this.tree.list()) {
        const ni = snapshot.nodeInfoMap.get(name);
        if (ni !== undefined) ordered.push(ni);
      }
      snapshot.rebuildLists(ordered);
    } else {
      // Same nodes in the same order: swap the changed clones into the lists in place.
      for (const name of changedNames) {
        const ni = snapshot.nodeInfoMap.get(name);
        if (ni !== undefined) snapshot.swap(ni);
      }
    }
  }

  /**
   * The comparer (pkg/scheduler/backend/cache/debugger/comparer.go): what the informers hold
   * against what the cache holds. Returns the differences (empty when they agree).
   */
  compare(
    nodes: readonly Node[],
    assignedPods: readonly Pod[],
  ): { missedNodes: string[]; redundantNodes: string[]; missedPods: string[]; redundantPods: string[] } {
    const nodeNames = new Set(nodes.map((n) => n.metadata.name));
    const cached = new Set<string>();
    for (const [name, ni] of this.nodes) if (ni.node !== undefined) cached.add(name);
    const podUids = new Set(assignedPods.map((p) => p.metadata.uid ?? ""));
    const cachedPods = new Set<string>();
    for (const [uid, ps] of this.podStates) if (!ps.assumed) cachedPods.add(uid);
    return {
      missedNodes: [...nodeNames].filter((n) => !cached.has(n)),
      redundantNodes: [...cached].filter((n) => !nodeNames.has(n)),
      missedPods: [...podUids].filter((u) => !this.podStates.has(u)),
      redundantPods: [...cachedPods].filter((u) => !podUids.has(u)),
    };
  }
}
