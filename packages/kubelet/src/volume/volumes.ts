/**
 * The kubelet's volume manager, cut to the volume kinds Skiff supports: emptyDir, configMap,
 * secret, downwardAPI, hostPath and projected (service account token, configMap, secret,
 * downwardAPI). Each pod's volumes live under the pod's directory, written atomically as kube's
 * AtomicWriter does (a ..data symlink swapped to a new timestamped directory).
 */
import type { Container, Pod } from "@skiff/api";
import type { Mount } from "../runtime/runtime.js";

/** A volume that cannot be set up; the pod worker reports it as kube does (FailedMount event). */
export class VolumeError extends Error {
  constructor(
    /** kube's event reason, "FailedMount". */
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

export interface VolumeManager {
  /**
   * Makes (or refreshes: configMap, secret, downwardAPI and token contents change over time)
   * every volume of the pod; returns volume name -> host directory or file. Throws VolumeError
   * for what the pod cannot start without (a missing ConfigMap that is not optional, ...).
   */
  setUpPod(pod: Pod): Promise<Map<string, string>>;
  /** The container's mounts from its volumeMounts (subPath, readOnly) over setUpPod's result. */
  mountsFor(
    pod: Pod,
    container: Container,
    volumes: ReadonlyMap<string, string>,
    extra?: {
      /** The pod's IPs: with any, the managed /etc/hosts is written and mounted (kube's makeMounts). */
      podIPs?: readonly string[];
      /** The container's environment, for subPathExpr. */
      env?: ReadonlyArray<{ name: string; value: string }>;
    },
  ): Mount[];
  /** Removes every volume directory of the pod; idempotent. */
  tearDownPod(podUID: string): Promise<void>;
  /** UIDs of pods that have volume directories. */
  listPods(): Promise<string[]>;
}
