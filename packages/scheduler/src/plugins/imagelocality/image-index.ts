/**
 * ImageLocality's image names and its fallback index. kube looks a container's image up in
 * NodeInfo.ImageStates under normalizedImageName (a missing tag becomes ":latest"); Skiff also
 * tries the other spelling of a Docker Hub name ("nginx:latest" <-> "docker.io/library/nginx:latest"),
 * because containerd reports the long form while pod specs usually carry the short one (kube
 * leaves this as a TODO in image_locality.go).
 */
import type { Pod } from "@skiff/api";
import type { ImageStateSummary, NodeInfo } from "../../framework/node-info.js";

/** kube's normalizedImageName: ":latest" when the name carries no tag (the last ':' is not after the last '/'). */
export function normalizedImageName(name: string): string {
  return name.lastIndexOf(":") <= name.lastIndexOf("/") ? `${name}:latest` : name;
}

const DOCKER_HUB = "docker.io/";
const DOCKER_LIBRARY = "docker.io/library/";

/**
 * The other spelling of a Docker Hub image (docker/distribution's reference normalization): a name
 * without a registry domain gains "docker.io/" (and "library/" when it has no path); a
 * "docker.io/library/x" name loses the prefix. undefined for other registries.
 */
export function alternateImageName(normalized: string): string | undefined {
  if (normalized.startsWith(DOCKER_LIBRARY)) return normalized.slice(DOCKER_LIBRARY.length);
  if (normalized.startsWith(DOCKER_HUB)) return normalized.slice(DOCKER_HUB.length);
  const slash = normalized.indexOf("/");
  if (slash < 0) return DOCKER_LIBRARY + normalized;
  const first = normalized.slice(0, slash);
  // A first component with a '.' or ':' (or "localhost") is a registry domain.
  if (first.includes(".") || first.includes(":") || first === "localhost") return undefined;
  return DOCKER_HUB + normalized;
}

/** One container's image, in the order kube sums them (init containers first). */
export interface PodImage {
  name: string;
  alternate: string | undefined;
}

export function podImages(pod: Pod): PodImage[] {
  const out: PodImage[] = [];
  for (const c of [...(pod.spec.initContainers ?? []), ...(pod.spec.containers ?? [])]) {
    const name = normalizedImageName(c.image ?? "");
    out.push({ name, alternate: alternateImageName(name) });
  }
  return out;
}

/** Whether some node reports images the cache did not put in its imageStates. */
export function needsStatusImages(nodes: readonly NodeInfo[]): boolean {
  for (const ni of nodes)
    if (ni.imageStates.size === 0 && (ni.node?.status?.images?.length ?? 0) > 0) return true;
  return false;
}

/**
 * The pod's images across the cluster, read from the nodes' status.images once per cycle (for
 * nodes whose imageStates the cache has not filled; the others are read from imageStates): for
 * each of the pod's images, its size and how many nodes have it, and for each node which of the
 * pod's images it has.
 */
export class StatusImageIndex {
  private readonly summaries: (ImageStateSummary | undefined)[];
  /** node name -> bit i set when the node has the pod's i-th image (at most 31 images: more are not indexed). */
  private readonly masks = new Map<string, number>();

  constructor(images: readonly PodImage[], nodes: readonly NodeInfo[]) {
    this.summaries = images.map(() => undefined);
    const n = Math.min(images.length, 31);
    for (const ni of nodes) {
      let mask = 0;
      for (let i = 0; i < n; i++) {
        const size = imageSize(ni, images[i] as PodImage);
        if (size === undefined) continue;
        mask |= 1 << i;
        const s = this.summaries[i];
        if (s === undefined) this.summaries[i] = { size, numNodes: 1 };
        else s.numNodes++;
      }
      if (mask !== 0) this.masks.set(ni.name, mask);
    }
  }

  /** The sum of scaled scores of the pod's images on this node. */
  sumScores(
    nodeName: string,
    totalNumNodes: number,
    scaled: (s: ImageStateSummary, total: number) => number,
  ): number {
    const mask = this.masks.get(nodeName) ?? 0;
    let sum = 0;
    for (let i = 0; mask !== 0 && i < this.summaries.length && i < 31; i++)
      if ((mask & (1 << i)) !== 0) sum += scaled(this.summaries[i] as ImageStateSummary, totalNumNodes);
    return sum;
  }
}

/** The size of the image on the node, or undefined when the node does not have it. */
function imageSize(ni: NodeInfo, img: PodImage): number | undefined {
  if (ni.imageStates.size > 0) {
    const st =
      ni.imageStates.get(img.name) ??
      (img.alternate === undefined ? undefined : ni.imageStates.get(img.alternate));
    return st?.size;
  }
  for (const image of ni.node?.status?.images ?? []) {
    const names = image.names ?? [];
    if (names.includes(img.name) || (img.alternate !== undefined && names.includes(img.alternate)))
      return image.sizeBytes ?? 0;
  }
  return undefined;
}
