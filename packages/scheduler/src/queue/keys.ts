/**
 * How the queue names a pod: by uid (a pod deleted and re-created under the same name is another
 * pod), falling back to namespace/name for objects without one (kube keys by namespace/name).
 */
import type { Pod } from "@skiff/api";
import type { QueuedPodInfo } from "../framework/pod-info.js";

export function podKey(pod: Pod): string {
  return pod.metadata.uid || `${pod.metadata.namespace}/${pod.metadata.name}`;
}

export function queuedPodKey(qpi: QueuedPodInfo): string {
  return podKey(qpi.podInfo.pod);
}
