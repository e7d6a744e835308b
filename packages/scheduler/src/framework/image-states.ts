/**
 * The images the cluster's nodes hold (kube's cache.imageStates with addNodeImageStates /
 * removeNodeImageStates): for each image name a node reports in status.images, its size and the
 * nodes that have it. The scheduler cache owns one ImageStates and calls addNodeImageStates when
 * a node is added (and, after removeNodeImageStates of the old object, when it is updated), and
 * removeNodeImageStates when it is removed. That fills NodeInfo.imageStates, which ImageLocality
 * reads.
 *
 * The summaries in NodeInfo.imageStates are the shared per-image entries, so numNodes is always
 * the current count, even in NodeInfos a snapshot did not copy again (kube copies the count into
 * each snapshot instead; a snapshot taken incrementally could then keep a stale count).
 */
import type { Node } from "@skiff/api";
import type { ImageStateSummary, NodeInfo } from "./node-info.js";

/** One image name's entry: its size (as first reported) and the nodes that have it. */
class ImageState implements ImageStateSummary {
  readonly nodes = new Set<string>();

  constructor(readonly size: number) {}

  get numNodes(): number {
    return this.nodes.size;
  }
}

export class ImageStates {
  private readonly states = new Map<string, ImageState>();

  /** Records the node's images and sets nodeInfo.imageStates to their (shared) summaries. */
  addNodeImageStates(node: Node, nodeInfo: NodeInfo): void {
    const summaries = new Map<string, ImageStateSummary>();
    const nodeName = node.metadata.name;
    for (const image of node.status?.images ?? []) {
      for (const name of image.names ?? []) {
        let state = this.states.get(name);
        if (state === undefined) {
          state = new ImageState(image.sizeBytes ?? 0);
          this.states.set(name, state);
        }
        state.nodes.add(nodeName);
        if (!summaries.has(name)) summaries.set(name, state);
      }
    }
    nodeInfo.imageStates = summaries;
  }

  /** Forgets the node's images (the old object's, on update); an image no node has is dropped. */
  removeNodeImageStates(node: Node | undefined): void {
    if (node === undefined) return;
    const nodeName = node.metadata.name;
    for (const image of node.status?.images ?? []) {
      for (const name of image.names ?? []) {
        const state = this.states.get(name);
        if (state === undefined) continue;
        state.nodes.delete(nodeName);
        if (state.nodes.size === 0) this.states.delete(name);
      }
    }
  }

  /** How many image names are known (for tests and debugging dumps). */
  get size(): number {
    return this.states.size;
  }
}
