/**
 * The kubelet's probe manager (pkg/kubelet/prober): one worker per container and probe kind,
 * results cached and pushed to whoever listens (the pod workers restart a container whose
 * liveness failed; readiness and startup results set containerStatuses[].ready / started).
 */
import type { Pod, PodStatus } from "@skiff/api";

export type ProbeType = "liveness" | "readiness" | "startup";
export type ProbeResult = "success" | "failure" | "unknown";

export interface ProbeResultEvent {
  podUID: string;
  containerName: string;
  /** The runtime container id the result is about (a restart makes a new id). */
  containerID: string;
  probeType: ProbeType;
  result: ProbeResult;
  /** For failures, kube's message (e.g. `Liveness probe failed: HTTP probe failed with statuscode: 500`). */
  message?: string;
}

export interface ProbeManager {
  /** Starts probe workers for the pod's containers that declare probes. */
  addPod(pod: Pod): void;
  /** Stops every worker of the pod. */
  removePod(pod: Pod): void;
  /**
   * Sets `ready` and `started` of each container status from the cached results, as kube's
   * prober manager UpdatePodStatus does (no readiness probe: ready once running and started).
   */
  updatePodStatus(pod: Pod, status: PodStatus): void;
  /** Subscribes to result changes; returns the unsubscribe function. */
  onResult(listener: (e: ProbeResultEvent) => void): () => void;
  stop(): void;
}
