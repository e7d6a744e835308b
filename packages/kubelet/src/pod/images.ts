/**
 * Image handling as the kubelet's image manager (pkg/kubelet/images/image_manager.go
 * EnsureImageExists), with one difference: Skiff has no registry, images are imported on the
 * node. So a pull can only fail: IfNotPresent (or Always) with the image absent gives ErrImagePull
 * and then ImagePullBackOff (backed off per pod and image as kube's), Never gives
 * ErrImageNeverPull. Always with the image present uses it: there is no registry to ask whether a
 * newer one exists.
 */
import type { Pod } from "@skiff/api";
import type { KubeletContainer } from "../api-types.js";
import type { ImageRef } from "../runtime/runtime.js";
import type { Backoff } from "./backoff.js";

export type ImageResult =
  | { ok: true; image: ImageRef }
  | {
      ok: false;
      reason: "ErrImageNeverPull" | "ErrImagePull" | "ImagePullBackOff" | "InvalidImageName";
      message: string;
    };

/** Emits an event about the container (involvedObject with its fieldPath). */
export type ContainerEventFn = (type: "Normal" | "Warning", reason: string, message: string) => void;

/**
 * The canonical form of a reference, as containerd's reference.ParseDockerRef: docker.io and
 * library/ for short names, :latest when neither tag nor digest is given.
 */
export function normalizeImage(ref: string): string {
  let name = ref;
  const first = name.split("/")[0] ?? "";
  const hasDomain =
    name.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost");
  if (!hasDomain) name = name.includes("/") ? `docker.io/${name}` : `docker.io/library/${name}`;
  const last = name.slice(name.lastIndexOf("/") + 1);
  if (!last.includes(":") && !last.includes("@")) name = `${name}:latest`;
  return name;
}

/** The present image a spec's image names, if any. */
export function findImage(images: readonly ImageRef[], image: string): ImageRef | undefined {
  const want = normalizeImage(image);
  return images.find((i) => i.ref === image) ?? images.find((i) => normalizeImage(i.ref) === want);
}

export function ensureImageExists(
  pod: Pod,
  c: KubeletContainer,
  images: readonly ImageRef[],
  backoff: Backoff,
  now: number,
  event: ContainerEventFn,
): ImageResult {
  const image = c.image ?? "";
  if (image === "") {
    const message = `Failed to apply default image tag "": couldn't parse image name "": invalid reference format`;
    event("Warning", "InspectFailed", message);
    return { ok: false, reason: "InvalidImageName", message };
  }
  const present = findImage(images, image);
  const policy = c.imagePullPolicy ?? (normalizeImage(image).endsWith(":latest") ? "Always" : "IfNotPresent");
  if (present !== undefined) {
    event("Normal", "Pulled", `Container image "${image}" already present on machine`);
    return { ok: true, image: present };
  }
  if (policy === "Never") {
    const message = `Container image "${image}" is not present with pull policy of Never`;
    event("Warning", "ErrImageNeverPull", message);
    return { ok: false, reason: "ErrImageNeverPull", message };
  }
  const key = imageBackoffKey(pod, image);
  if (backoff.isInBackOffSinceUpdate(key, now)) {
    const message = `Back-off pulling image "${image}"`;
    event("Normal", "BackOff", message);
    return { ok: false, reason: "ImagePullBackOff", message };
  }
  event("Normal", "Pulling", `Pulling image "${image}"`);
  const message = `failed to pull and unpack image "${normalizeImage(image)}": no registry: images are imported on the node (skiff image import)`;
  event("Warning", "Failed", `Failed to pull image "${image}": ${message}`);
  backoff.next(key, now);
  return { ok: false, reason: "ErrImagePull", message };
}

/** The key image pulls of this pod and image back off under (kube: `<podUID>_<image>`). */
export function imageBackoffKey(pod: Pod, image: string): string {
  return `${pod.metadata.uid ?? ""}_${image}`;
}
