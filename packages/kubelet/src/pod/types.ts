/**
 * What the pod workers are built from: the kubelet's managers behind their interfaces and the
 * functions other parts of the agent provide (environment, log paths, lifecycle handlers).
 */
import type { Container, Pod } from "@skiff/api";
import type { Clock, EventRecorder } from "@skiff/client";
import type { PodCgroups } from "../cm/cgroups.js";
import type { PodNetwork } from "../network/network.js";
import type { ProbeManager } from "../prober/prober.js";
import type { ContainerRuntime } from "../runtime/runtime.js";
import type { PodUTSNamespaces } from "../uts/uts.js";
import type { VolumeManager } from "../volume/volumes.js";
import type { RunHandler } from "./kill.js";
import type { SyncReason } from "./status.js";
import type { StatusManager } from "./status-manager.js";

export interface PodLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

export interface PodWorkersOptions {
  runtime: ContainerRuntime;
  network: PodNetwork;
  /** The pod's UTS namespace with its hostname (not for hostNetwork pods). */
  uts: PodUTSNamespaces;
  cgroups: PodCgroups;
  volumes: VolumeManager;
  /** Absent: containers are ready once running and nothing is probed. */
  probes?: ProbeManager;
  statusManager: StatusManager;
  /** Events about pods and their containers (client-go's EventRecorder). */
  recorder: Pick<EventRecorder, "event">;
  /** The container's environment (env/src: kube's makeEnvironmentVariables). */
  makeEnvironment(
    pod: Pod,
    container: Container,
    podIP: string,
  ): Promise<Array<{ name: string; value: string }>>;
  /** `<data-dir>/logs/<ns>_<name>_<uid>/<container>/<restartCount>.log` (logs/). */
  logPathFor(pod: Pod, containerName: string, restartCount: number): string;
  /** Runs a postStart or preStop handler (prober/handlers.ts); absent: hooks are skipped. */
  runHandler?: RunHandler;
  clock?: Clock;
  logger?: PodLogger;
  /** The periodic sync of every pod (kube's --sync-frequency, 1 min). */
  resyncIntervalMs?: number;
  /** Delay before retrying a sync that failed (kube's pod worker back-off period, 10 s). */
  syncErrorBackoffMs?: number;
}

export type WorkerPhase = "syncing" | "terminating" | "terminated";

/** One pod's worker state (pod_workers.go podSyncStatus, with what the sync keeps between runs). */
export interface PodState {
  uid: string;
  /** The latest pod object the API gave. */
  pod: Pod;
  phase: WorkerPhase;
  /** The pod is gone from the API (deleted or force deleted). */
  removed: boolean;
  /** Eviction or node shutdown: the grace period to use and the terminal reason and message. */
  gracePeriodOverride?: number;
  terminalReason?: { reason: string; message: string };
  /** kube's reasonCache: why the last sync did not run a container, by container name. */
  reasons: Map<string, SyncReason>;
  /** Container id -> the runtime's error when starting it failed. */
  startErrors: Map<string, string>;
  /** Container ids whose liveness or startup probe failed. */
  livenessFailed: Set<string>;
  startupFailed: Set<string>;
  podIP?: string;
  sandboxReady: boolean;
  /** Network, UTS namespace, cgroup and volumes torn down. */
  cleanedUp: boolean;
  /** Containers removed too (the pod is being deleted). */
  containersRemoved: boolean;
  // The worker loop (pod_workers.go managePodLoop): one run at a time, updates coalesce.
  running: boolean;
  pending: boolean;
  timer?: object;
}
