/**
 * ProberManager: the kubelet's ProbeManager, as pkg/kubelet/prober/prober_manager.go. It keeps
 * one worker per (pod UID, container, probe kind) for regular containers and sidecar init
 * containers (restartPolicy Always), three results caches, and sets containerStatuses[].started
 * and .ready from them (UpdatePodStatus). Probes reach pods only through the node network's
 * dialer; exec probes through the runtime's execSync.
 */
import type { Pod, PodStatus } from "@skiff/api";
import { type Clock, realClock } from "@skiff/client";
import type { KubeletContainer, KubeletPodStatus, V1ContainerStatus } from "../api-types.js";
import { type ProbeEventRecorder, Prober, probeTypeName } from "./probe.js";
import type { ProbeManager, ProbeResultEvent, ProbeType } from "./prober.js";
import { ResultsManager, type ResultUpdate } from "./results.js";
import type { Dialer, ExecSync, ProberLogger } from "./types.js";
import { ProbeWorker, type WorkerHost } from "./worker.js";

export interface ProberManagerOptions {
  /** PodNetwork.dial: a TCP connection from inside the node's network namespace. */
  dial: Dialer;
  /** ContainerRuntime.execSync (bare container id, argv, timeout). */
  execSync: ExecSync;
  /** The kubelet's current computed status of a pod (container ids, states, podIP). */
  getPodStatus(podUID: string): KubeletPodStatus | PodStatus | undefined;
  /** Drives the probe ticks and initial delays; network timeouts use real time. */
  clock?: Clock;
  /** Unhealthy / ProbeWarning events; client's EventRecorder fits. */
  recorder?: ProbeEventRecorder;
  logger?: ProberLogger;
  /** The start jitter's random source (Math.random by default). */
  random?: () => number;
}

const PROBE_TYPES: readonly ProbeType[] = ["startup", "liveness", "readiness"];

export class ProberManager implements ProbeManager {
  private readonly workers = new Map<string, ProbeWorker>();
  private readonly listeners = new Set<(e: ProbeResultEvent) => void>();
  private readonly results: Record<ProbeType, ResultsManager>;
  private readonly host: WorkerHost;
  private stopped = false;

  constructor(private readonly opts: ProberManagerOptions) {
    const clock = opts.clock ?? realClock;
    const notify = (probeType: ProbeType) => (u: ResultUpdate) => this.emit(probeType, u);
    this.results = {
      liveness: new ResultsManager(notify("liveness")),
      readiness: new ResultsManager(notify("readiness")),
      startup: new ResultsManager(notify("startup")),
    };
    this.host = {
      clock,
      random: opts.random ?? Math.random,
      startedAt: clock.now(),
      prober: new Prober(opts.dial, opts.execSync, opts.recorder, opts.logger),
      logger: opts.logger,
      getPodStatus: (uid) => opts.getPodStatus(uid) as KubeletPodStatus | undefined,
      removeWorker: (w) => {
        const key = workerKey(w.pod.metadata.uid ?? "", w.container.name, w.probeType);
        if (this.workers.get(key) === w) this.workers.delete(key);
      },
    };
  }

  /** AddPod: a worker for each declared probe not yet probed; known workers see the new pod. */
  addPod(pod: Pod): void {
    if (this.stopped) return;
    const uid = pod.metadata.uid ?? "";
    for (const c of probedContainers(pod)) {
      for (const t of PROBE_TYPES) {
        const spec =
          t === "liveness" ? c.livenessProbe : t === "readiness" ? c.readinessProbe : c.startupProbe;
        if (spec === undefined) continue;
        const key = workerKey(uid, c.name, t);
        const existing = this.workers.get(key);
        if (existing !== undefined) {
          // kube keeps the first pod object; the newer one carries deletionTimestamp, which
          // quiets liveness and startup during graceful termination.
          existing.pod = pod;
          continue;
        }
        const w = new ProbeWorker(this.host, t, pod, c, this.results[t]);
        this.workers.set(key, w);
        w.start();
      }
    }
  }

  /** RemovePod: stop every worker of the pod (their results go with them). */
  removePod(pod: Pod): void {
    const prefix = `${pod.metadata.uid ?? ""}/`;
    for (const [key, w] of [...this.workers]) if (key.startsWith(prefix)) w.stop();
  }

  /** CleanupPods: stop the workers of every pod not in `desiredPodUIDs`. */
  cleanupPods(desiredPodUIDs: ReadonlySet<string>): void {
    for (const w of [...this.workers.values()]) if (!desiredPodUIDs.has(w.pod.metadata.uid ?? "")) w.stop();
  }

  /** The cached result of a container id (its `containerd://` form), if any. */
  getResult(probeType: ProbeType, containerID: string): "success" | "failure" | "unknown" | undefined {
    return this.results[probeType].get(containerID);
  }

  /**
   * UpdatePodStatus: started = running and (startup success, or no startup probe); ready =
   * started, running and (readiness success, or no readiness probe). A readiness probe that
   * has no success yet is run at once. Non-sidecar init containers are ready once exited 0.
   */
  updatePodStatus(pod: Pod, status: PodStatus | KubeletPodStatus): void {
    const s = status as KubeletPodStatus;
    const uid = pod.metadata.uid ?? "";
    for (const c of s.containerStatuses ?? []) this.updateContainer(uid, c);
    for (const c of s.initContainerStatuses ?? []) {
      const spec = (pod.spec.initContainers ?? []).find((x) => x.name === c.name) as
        | KubeletContainer
        | undefined;
      if (spec === undefined) continue;
      if (spec.restartPolicy !== "Always") {
        c.started = this.isContainerStarted(uid, c);
        if (c.state.terminated !== undefined && c.state.terminated.exitCode === 0) c.ready = true;
        continue;
      }
      this.updateContainer(uid, c);
    }
  }

  onResult(listener: (e: ProbeResultEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  stop(): void {
    this.stopped = true;
    for (const w of [...this.workers.values()]) w.stop();
  }

  /** Workers running, for tests and metrics. */
  get workerCount(): number {
    return this.workers.size;
  }

  private updateContainer(uid: string, c: V1ContainerStatus): void {
    const started = this.isContainerStarted(uid, c);
    c.started = started;
    if (!started) {
      c.ready = false;
      return;
    }
    let ready = false;
    if (c.state.running !== undefined) {
      if (this.results.readiness.get(c.containerID ?? "") === "success") ready = true;
      else {
        const w = this.workers.get(workerKey(uid, c.name, "readiness"));
        ready = w === undefined;
        w?.trigger();
      }
    }
    c.ready = ready;
  }

  private isContainerStarted(uid: string, c: V1ContainerStatus): boolean {
    if (c.state.running === undefined) return false;
    const r = this.results.startup.get(c.containerID ?? "");
    if (r !== undefined) return r === "success";
    // A startup probe that has not run yet: not started.
    return !this.workers.has(workerKey(uid, c.name, "startup"));
  }

  private emit(probeType: ProbeType, u: ResultUpdate): void {
    const e: ProbeResultEvent = {
      podUID: u.podUID,
      containerName: u.containerName,
      containerID: u.containerID,
      probeType,
      result: u.result,
    };
    if (u.message !== undefined) e.message = `${probeTypeName(probeType)} probe failed: ${u.message}`;
    for (const l of [...this.listeners]) {
      try {
        l(e);
      } catch (err) {
        this.opts.logger?.error({ err: String(err) }, "probe result listener failed");
      }
    }
  }
}

function workerKey(podUID: string, containerName: string, t: ProbeType): string {
  return `${podUID}/${containerName}/${t}`;
}

/** Regular containers and sidecar init containers: the ones kube probes. */
function probedContainers(pod: Pod): KubeletContainer[] {
  const sidecars = (pod.spec.initContainers ?? []).filter(
    (c) => (c as KubeletContainer).restartPolicy === "Always",
  ) as KubeletContainer[];
  return [...sidecars, ...(pod.spec.containers as KubeletContainer[])];
}
