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
  /** Where each node sits in each list, so that a changed node is swapped in without a scan. */
  private positions: Map<string, number>[] = [new Map(), new Map(), new Map()];

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
    this.positions = this.lists().map((list) => new Map(list.map((ni, i) => [ni.name, i])));
  }

  private lists(): NodeInfo[][] {
    return [
      this.nodeInfoList,
      this.havePodsWithAffinityNodeInfoList,
      this.havePodsWithRequiredAntiAffinityNodeInfoList,
    ];
  }

  /** Puts a new copy of a node already in the lists in place of the old one (same order). */
  swap(ni: NodeInfo): void {
    const lists = this.lists();
    for (let l = 0; l < lists.length; l++) {
      const i = this.positions[l]?.get(ni.name);
      if (i !== undefined) (lists[l] as NodeInfo[])[i] = ni;
    }
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
