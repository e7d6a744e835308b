/**
 * Per-node results of scanning a node's pods (how many match a selector, an affinity term ...),
 * kept across scheduling cycles while the node's pods do not change. kube-scheduler scans every
 * pod of every node for each pod with spread constraints or inter-pod affinity, spread over 16
 * goroutines; Skiff scans on one thread, so it remembers the per-node answers instead: consecutive
 * pods of one workload ask the same questions, and between two of them only the node that took
 * the previous pod has changed.
 *
 * Soundness rests on NodeInfo.generation: every change of a NodeInfo's pods (addPod, removePod)
 * or node (setNode) gives it a new generation from one global counter, and a clone keeps the
 * generation only while it holds the same pods. An answer is therefore reused only for a NodeInfo
 * whose generation is the one it was computed at, and only for a key that names everything else
 * the answer depends on (selector, namespace ...).
 */
import type { NodeInfo } from "./node-info.js";

interface Entry<V> {
  generation: number;
  values: Map<string, V>;
}

export class NodeMatchCache<V> {
  private readonly byNode = new WeakMap<NodeInfo, Entry<V>>();

  /** @param maxKeysPerNode bound on the answers kept per node; the oldest is dropped first. */
  constructor(private readonly maxKeysPerNode = 32) {}

  /** The answer for `key` on this node, computed by `compute` unless known for its generation. */
  get(ni: NodeInfo, key: string, compute: (ni: NodeInfo) => V): V {
    let e = this.byNode.get(ni);
    if (e === undefined || e.generation !== ni.generation) {
      e = { generation: ni.generation, values: new Map() };
      this.byNode.set(ni, e);
    }
    const known = e.values.get(key);
    if (known !== undefined) return known;
    const v = compute(ni);
    if (e.values.size >= this.maxKeysPerNode) {
      const oldest = e.values.keys().next();
      if (oldest.done !== true) e.values.delete(oldest.value);
    }
    e.values.set(key, v);
    return v;
  }
}
