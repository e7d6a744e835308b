/**
 * One probe worker per (pod, container, probe kind), as pkg/kubelet/prober/worker.go: it probes
 * on a ticker of periodSeconds until the pod ends or it is stopped, reading container ids and
 * states from the kubelet's current pod status. Its rules are kube's: results reset to the
 * initial value (readiness failure, liveness success, startup unknown) when the container id
 * changes; nothing is probed before initialDelaySeconds from the container's start; liveness
 * and readiness wait for the startup probe; success/failure thresholds count runs of equal
 * results; after a liveness or startup failure the worker holds until a new container id.
 */

import type { Pod } from "@skiff/api";
import type { Clock, TimerHandle } from "@skiff/client";
import type { KubeletContainer, KubeletPodStatus, Probe, V1ContainerStatus } from "../api-types.js";
import type { Prober } from "./probe.js";
import type { ProbeResult, ProbeType } from "./prober.js";
import type { ResultsManager } from "./results.js";
import type { ProberLogger } from "./types.js";

export interface WorkerHost {
  readonly clock: Clock;
  readonly random: () => number;
  /** When the manager was made: workers made within one period of it start at a random offset. */
  readonly startedAt: number;
  readonly prober: Prober;
  readonly logger: ProberLogger | undefined;
  getPodStatus(podUID: string): KubeletPodStatus | undefined;
  removeWorker(w: ProbeWorker): void;
}

export class ProbeWorker {
  readonly spec: Probe;
  readonly initialValue: ProbeResult;
  /** The last container id seen ("" before the first). */
  containerID = "";
  private lastResult: ProbeResult = "unknown";
  private resultRun = 0;
  private onHold = false;

  private timer: TimerHandle | undefined;
  private running = false;
  private stopped = false;
  private cleanedUp = false;
  private tickPending = false;
  private manualPending = false;
  /** A manual trigger waits for the first tick, as kube's buffered manualTriggerCh does. */
  private begun = false;

  constructor(
    private readonly host: WorkerHost,
    readonly probeType: ProbeType,
    /** Replaced by the manager when the pod is added again (e.g. once it is being deleted). */
    public pod: Pod,
    readonly container: KubeletContainer,
    private readonly results: ResultsManager,
  ) {
    const spec =
      probeType === "liveness"
        ? container.livenessProbe
        : probeType === "readiness"
          ? container.readinessProbe
          : container.startupProbe;
    if (spec === undefined) throw new Error(`container ${container.name} has no ${probeType} probe`);
    this.spec = spec;
    this.initialValue =
      probeType === "readiness" ? "failure" : probeType === "liveness" ? "success" : "unknown";
  }

  private get periodMs(): number {
    return Math.max(1, this.spec.periodSeconds ?? 10) * 1000;
  }

  /** worker.run: after a kubelet (re)start, the first probe waits a random part of the period. */
  start(): void {
    const clock = this.host.clock;
    const jitter =
      this.periodMs > clock.now() - this.host.startedAt ? Math.floor(this.host.random() * this.periodMs) : 0;
    this.timer = clock.setTimeout(() => {
      this.begun = true;
      this.armTicker();
      this.tickPending = true;
      this.wake();
    }, jitter);
  }

  /** A non-blocking manual run (manager.UpdatePodStatus uses it for readiness). */
  trigger(): void {
    if (this.stopped) return;
    this.manualPending = true;
    this.wake();
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer !== undefined) this.host.clock.clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.running) this.cleanUp();
  }

  private armTicker(): void {
    // time.Ticker: a tick every period whatever the probes take; one tick waits at most.
    this.timer = this.host.clock.setTimeout(() => {
      this.tickPending = true;
      this.armTicker();
      this.wake();
    }, this.periodMs);
  }

  private wake(): void {
    if (this.running || this.stopped || !this.begun) return;
    if (this.tickPending) this.tickPending = false;
    else if (this.manualPending) this.manualPending = false;
    else return;
    this.running = true;
    void this.doProbe()
      .catch((err: unknown) => {
        // HandleCrash: a bug in one probe must not end the worker.
        this.host.logger?.error({ err: String(err), probeType: this.probeType }, "probe worker crashed");
        return true;
      })
      .then((keepGoing) => {
        this.running = false;
        if (!keepGoing) this.stop();
        if (this.stopped) this.cleanUp();
        else this.wake();
      });
  }

  private cleanUp(): void {
    if (this.cleanedUp) return;
    this.cleanedUp = true;
    if (this.containerID !== "") this.results.remove(this.containerID);
    this.host.removeWorker(this);
  }

  private set(result: ProbeResult, message?: string, force = false): void {
    this.results.set(
      {
        containerID: this.containerID,
        result,
        podUID: this.pod.metadata.uid ?? "",
        containerName: this.container.name,
        message,
      },
      force,
    );
  }

  /** worker.doProbe: one probe and its bookkeeping; false ends the worker. */
  private async doProbe(): Promise<boolean> {
    const status = this.host.getPodStatus(this.pod.metadata.uid ?? "");
    if (status === undefined) return true; // not created yet, or already gone
    if (status.phase === "Failed" || status.phase === "Succeeded") return false;

    const c = findStatus(status, this.container.name);
    if (c === undefined) return true; // no container yet: wait for more information

    if (this.containerID !== c.containerID) {
      if (this.containerID !== "") this.results.remove(this.containerID);
      this.containerID = c.containerID ?? "";
      this.set(this.initialValue);
      this.onHold = false; // a new container: probe it
    }
    if (this.onHold) return true;

    if (c.state.running === undefined) {
      this.set("failure");
      // Stop when the container will not be restarted.
      return c.state.terminated === undefined || this.pod.spec.restartPolicy !== "Never";
    }

    // Graceful shutdown: quiet liveness and startup, and stop probing.
    if (this.pod.metadata.deletionTimestamp != null && this.probeType !== "readiness") {
      this.set("success");
      return false;
    }

    const startedAt =
      c.state.running.startedAt === undefined ? Number.NaN : Date.parse(c.state.running.startedAt);
    const sinceStart = Number.isNaN(startedAt) ? Number.POSITIVE_INFINITY : this.host.clock.now() - startedAt;
    if (Math.trunc(sinceStart / 1000) < (this.spec.initialDelaySeconds ?? 0)) return true;

    if (c.started === true) {
      // The startup probe is done with this container (the worker stays for its successors).
      if (this.probeType === "startup") return true;
    } else if (this.probeType !== "startup") return true; // wait for the startup probe

    const out = await this.host.prober.probe(
      this.probeType,
      this.pod,
      status,
      this.container,
      this.containerID,
    );
    if (this.stopped) return false;
    if (out.error !== undefined) return true; // prober error: throw the result away
    const result: ProbeResult = out.result;

    if (this.lastResult === result) this.resultRun++;
    else {
      this.lastResult = result;
      this.resultRun = 1;
    }
    if (
      (result === "failure" && this.resultRun < (this.spec.failureThreshold ?? 3)) ||
      (result === "success" && this.resultRun < (this.spec.successThreshold ?? 1))
    )
      return true; // below the threshold: the result stands

    const restarting = this.probeType !== "readiness" && result === "failure";
    this.set(result, result === "failure" ? out.output : undefined, restarting);
    if (restarting) {
      // The container will be restarted: hold until a new container id (kubernetes #21751).
      this.onHold = true;
      this.resultRun = 0;
    }
    return true;
  }
}

/** podutil.GetContainerStatus over containers, then init containers; only with an id. */
function findStatus(status: KubeletPodStatus, name: string): V1ContainerStatus | undefined {
  const withID = (list: V1ContainerStatus[] | undefined) =>
    list?.find((s) => s.name === name && s.containerID !== undefined && s.containerID !== "");
  return withID(status.containerStatuses) ?? withID(status.initContainerStatuses);
}
