/**
 * ImageLocality (k8s.io/kubernetes/pkg/scheduler/framework/plugins/imagelocality): favours nodes
 * that already hold the pod's images, by their sizes, each scaled by how widely the image has
 * spread (nodes with it / all nodes) so that pods do not pile onto the few nodes that pulled it
 * first. The sum is clamped to 23 MB..1000 MB per container and mapped onto 0..100.
 *
 * Where an image is: NodeInfo.imageStates (filled by the cache through framework/image-states.ts).
 * When the cache has not filled it, PreScore falls back to the nodes' status.images (see
 * image-index.ts).
 */
import type { Pod } from "@skiff/api";
import type { CycleState, StateData } from "../../framework/cycle-state.js";
import {
  type Handle,
  MAX_NODE_SCORE,
  type Plugin,
  type PreScorePlugin,
  type ScorePlugin,
} from "../../framework/interface.js";
import type { ImageStateSummary, NodeInfo } from "../../framework/node-info.js";
import { Status } from "../../framework/status.js";
import { needsStatusImages, type PodImage, podImages, StatusImageIndex } from "./image-index.js";

export { alternateImageName, normalizedImageName } from "./image-index.js";

export const Name = "ImageLocality";

const MB = 1024 * 1024;
/** Below this sum a node scores 0: small images are pulled quickly anyway. */
export const MIN_THRESHOLD = 23 * MB;
/** The sum that scores 100, per container: bigger images gain nothing more. */
export const MAX_CONTAINER_THRESHOLD = 1000 * MB;

const preScoreStateKey = `PreScore${Name}`;

class PreScoreState implements StateData {
  constructor(
    readonly images: readonly PodImage[],
    readonly numContainers: number,
    readonly totalNumNodes: number,
    /** Only when some node's imageStates is not filled. */
    readonly fallback: StatusImageIndex | undefined,
  ) {}
  clone(): StateData {
    return this;
  }
}

/** kube's scaledImageScore: the size times the share of nodes that have the image. */
function scaledImageScore(state: ImageStateSummary, totalNumNodes: number): number {
  const spread = state.numNodes / totalNumNodes;
  return Math.trunc(state.size * spread);
}

/** kube's calculatePriority: the clamped sum on 0..100. */
export function calculatePriority(sumScores: number, numContainers: number): number {
  const maxThreshold = MAX_CONTAINER_THRESHOLD * numContainers;
  let s = sumScores;
  if (s < MIN_THRESHOLD) s = MIN_THRESHOLD;
  else if (s > maxThreshold) s = maxThreshold;
  return Math.trunc((MAX_NODE_SCORE * (s - MIN_THRESHOLD)) / (maxThreshold - MIN_THRESHOLD));
}

export class ImageLocality implements PreScorePlugin, ScorePlugin {
  readonly name = Name;

  constructor(private readonly handle: Handle) {}

  preScore(state: CycleState, pod: Pod): Status | undefined {
    const all = this.handle.snapshotSharedLister().nodeInfos().list();
    const images = podImages(pod);
    const numContainers = (pod.spec.initContainers?.length ?? 0) + (pod.spec.containers?.length ?? 0);
    // The scheduler cache fills every NodeInfo's imageStates; only hand-made snapshots need the
    // O(nodes) check for images it did not index.
    const fallback =
      this.handle.imageStatesFilled !== true && needsStatusImages(all)
        ? new StatusImageIndex(images, all)
        : undefined;
    // No node holds any image: every node would score calculatePriority(0) = 0, so Score need
    // not run (kube scores them all; the totals are the same).
    if (fallback === undefined && !all.some((ni) => ni.imageStates.size > 0)) return Status.skip();
    state.write(preScoreStateKey, new PreScoreState(images, numContainers, all.length, fallback));
    return undefined;
  }

  score(state: CycleState, pod: Pod, nodeInfo: NodeInfo): { score: number; status?: Status } {
    let s = state.read<PreScoreState>(preScoreStateKey);
    if (s === undefined) {
      // PreScore disabled in the profile: compute here.
      this.preScore(state, pod);
      s = state.read<PreScoreState>(preScoreStateKey) as PreScoreState;
    }
    if (s.totalNumNodes === 0) return { score: 0 };
    let sum = 0;
    const states = nodeInfo.imageStates;
    if (states.size > 0) {
      for (const img of s.images) {
        const st =
          states.get(img.name) ?? (img.alternate === undefined ? undefined : states.get(img.alternate));
        if (st !== undefined) sum += scaledImageScore(st, s.totalNumNodes);
      }
    } else if (s.fallback !== undefined) {
      sum = s.fallback.sumScores(nodeInfo.name, s.totalNumNodes, scaledImageScore);
    }
    return { score: calculatePriority(sum, s.numContainers) };
  }
}

export function New(_args: Record<string, unknown> | undefined, handle: Handle): Plugin {
  return new ImageLocality(handle);
}
