/**
 * cache.Snapshot: the cluster as one scheduling cycle sees it. Taken from the scheduler cache at
 * the start of each cycle (incrementally: only NodeInfos whose generation moved are copied), so
 * plugins never see the cache change under them.
 */
import type { NodeInfoLister, SharedLister } from "./interface.js";
import type { NodeInfo } from "./node-info.js";

export class Snapshot implements SharedLister, NodeInfoLister {
  nodeInfoMap = new Map<string, NodeInfo>();
  nodeInfoList: NodeInfo[] = [];
  havePodsWithAffinityNodeInfoList: NodeInfo[] = [];
  havePodsWithRequiredAntiAffinityNodeInfoList: NodeInfo[] = [];
  /** The cache generation this snapshot reflects. */
  generation = 0;

  /** A snapshot of fixed NodeInfos (tests, and preemption's what-if copies). */
  static of(nodeInfos: readonly NodeInfo[]): Snapshot {
    const s = new Snapshot();
    for (const ni of nodeInfos) s.nodeInfoMap.set(ni.name, ni);
    s.rebuildLists(nodeInfos);
    return s;
  }

  rebuildLists(ordered: readonly NodeInfo[]): void {
    this.nodeInfoList = ordered.filter((n) => n.node !== undefined);
    this.havePodsWithAffinityNodeInfoList = this.nodeInfoList.filter((n) => n.podsWithAffinity.length > 0);
    this.havePodsWithRequiredAntiAffinityNodeInfoList = this.nodeInfoList.filter(
      (n) => n.podsWithRequiredAntiAffinity.length > 0,
    );
  }

  nodeInfos(): NodeInfoLister {
    return this;
  }

  list(): readonly NodeInfo[] {
    return this.nodeInfoList;
  }

  havePodsWithAffinityList(): readonly NodeInfo[] {
    return this.havePodsWithAffinityNodeInfoList;
  }

  havePodsWithRequiredAntiAffinityList(): readonly NodeInfo[] {
    return this.havePodsWithRequiredAntiAffinityNodeInfoList;
  }

  get(nodeName: string): NodeInfo | undefined {
    return this.nodeInfoMap.get(nodeName);
  }

  numNodes(): number {
    return this.nodeInfoList.length;
  }
}
