/**
 * The pod workers (pkg/kubelet/pod_workers.go): one serialized worker per pod UID. Updates
 * coalesce (the worker always acts on the latest pod), a pod's sync never runs twice at once,
 * and each pod moves syncing -> terminating -> terminated, never back. A worker runs when the API
 * changes the pod, when the runtime reports one of its containers started, exited or was
 * OOM-killed, when a probe result changes, when a back-off ends, and every resync interval
 * (level-triggered: each run reads the runtime's state afresh).
 */
import type { Pod } from "@skiff/api";
import { type Clock, realClock, type TimerHandle } from "@skiff/client";
import type { ProbeResultEvent } from "../prober/prober.js";
import type { RuntimeEvent } from "../runtime/runtime.js";
import { stopContainer } from "./kill.js";
import { GRACE_PERIOD_LABEL, POD_UID_LABEL } from "./labels.js";
import { errText, PodSyncer } from "./pod-sync.js";
import type { PodLogger, PodState, PodWorkersOptions } from "./types.js";

const silent: PodLogger = { info() {}, warn() {}, error() {}, debug() {} };

export interface TerminateOptions {
  /** Replaces the pod's grace period (eviction: 0 or the eviction's; node shutdown's share). */
  gracePeriodSeconds?: number;
  /** The terminal status reason and message (e.g. "Evicted", "The node was low on resource: memory."). */
  reason?: string;
  message?: string;
}

export class PodWorkers {
  private readonly states = new Map<string, PodState>();
  private readonly clock: Clock;
  private readonly log: PodLogger;
  private readonly syncer: PodSyncer;
  private readonly unsubscribe: Array<() => void> = [];
  /** Container id -> pod uid, from the last listings (to route runtime events). */
  private readonly containerPods = new Map<string, string>();
  private stopped = false;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly o: PodWorkersOptions) {
    this.clock = o.clock ?? realClock;
    this.log = o.logger ?? silent;
    this.syncer = new PodSyncer(o, this.clock, this.log);
    o.statusManager.setPodDeletionSafety((uid) => this.podResourcesAreReclaimed(uid));
  }

  /**
   * Subscribes to runtime events and probe results, and learns which containers already run
   * (adoption after an agent restart: they are the pods' current containers, never started twice).
   */
  async start(): Promise<void> {
    this.unsubscribe.push(this.o.runtime.onEvent((e) => this.onRuntimeEvent(e)));
    if (this.o.probes !== undefined)
      this.unsubscribe.push(this.o.probes.onResult((e) => this.onProbeResult(e)));
    for (const c of await this.o.runtime.listContainers()) {
      const uid = c.labels[POD_UID_LABEL];
      if (uid !== undefined) this.containerPods.set(c.id, uid);
    }
  }

  /** The API added or changed a pod bound to this node (kubelet HandlePodAdditions/Updates). */
  updatePod(pod: Pod): void {
    const uid = pod.metadata.uid ?? "";
    let st = this.states.get(uid);
    if (st === undefined) {
      st = {
        uid,
        pod,
        phase: "syncing",
        removed: false,
        reasons: new Map(),
        startErrors: new Map(),
        livenessFailed: new Set(),
        startupFailed: new Set(),
        sandboxReady: false,
        cleanedUp: false,
        containersRemoved: false,
        running: false,
        pending: false,
      };
      this.states.set(uid, st);
    }
    st.pod = pod;
    this.schedule(st);
  }

  /** The pod is gone from the API (HandlePodRemoves): stop it with its last known grace period. */
  removePod(uid: string): void {
    const st = this.states.get(uid);
    if (st === undefined) return;
    st.removed = true;
    this.schedule(st);
  }

  /** Eviction or node shutdown: terminate the pod now, with an optional grace period and reason. */
  terminatePod(uid: string, opts: TerminateOptions = {}): void {
    const st = this.states.get(uid);
    if (st === undefined) return;
    if (opts.gracePeriodSeconds !== undefined) st.gracePeriodOverride = opts.gracePeriodSeconds;
    if (opts.reason !== undefined) st.terminalReason = { reason: opts.reason, message: opts.message ?? "" };
    if (st.phase === "syncing") st.phase = "terminating";
    this.schedule(st);
  }

  /** The worker's phase of a pod, if it has one. */
  podPhase(uid: string): PodState["phase"] | undefined {
    return this.states.get(uid)?.phase;
  }

  /** UIDs of the pods with workers. */
  knownPods(): string[] {
    return [...this.states.keys()];
  }

  /** Nothing of the pod is left on the node (kube's PodResourcesAreReclaimed + no containers). */
  podResourcesAreReclaimed(uid: string): boolean {
    const st = this.states.get(uid);
    return st === undefined || (st.phase === "terminated" && st.cleanedUp && st.containersRemoved);
  }

  /**
   * kube's HandlePodCleanups for what no worker owns: runtime containers, pod networks, cgroups
   * and volume directories of pods not in `activePodUIDs` (left by a previous run of the agent)
   * are stopped and removed.
   */
  async cleanupOrphanedPods(activePodUIDs: ReadonlySet<string>): Promise<void> {
    const keep = (uid: string) => activePodUIDs.has(uid) || this.states.has(uid);
    const containers = await this.o.runtime.listContainers();
    await Promise.all(
      containers
        .filter((c) => c.labels[POD_UID_LABEL] !== undefined && !keep(c.labels[POD_UID_LABEL] ?? ""))
        .map(async (c) => {
          if (c.state === "running") {
            const grace = Number(c.labels[GRACE_PERIOD_LABEL] ?? "30");
            await stopContainer(
              this.o.runtime,
              this.clock,
              c.id,
              (Number.isFinite(grace) ? grace : 30) * 1000,
            );
          }
          await this.o.runtime.removeContainer(c.id);
        }),
    );
    for (const uid of await this.o.network.listPods()) if (!keep(uid)) await this.o.network.tearDownPod(uid);
    for (const uid of await this.o.uts.listPods()) if (!keep(uid)) await this.o.uts.tearDownPod(uid);
    for (const uid of await this.o.cgroups.listPods()) if (!keep(uid)) await this.o.cgroups.removePod(uid);
    for (const uid of await this.o.volumes.listPods()) if (!keep(uid)) await this.o.volumes.tearDownPod(uid);
  }

  /** Resolves once no worker is running (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const u of this.unsubscribe.splice(0)) u();
    for (const st of this.states.values())
      if (st.timer !== undefined) this.clock.clearTimeout(st.timer as TimerHandle);
    await this.idle();
  }

  private onRuntimeEvent(e: RuntimeEvent): void {
    const uid = this.containerPods.get(e.id);
    const st = uid === undefined ? undefined : this.states.get(uid);
    if (st !== undefined) {
      this.schedule(st);
      return;
    }
    // A container this worker has not listed yet: find its pod through its labels.
    void this.o.runtime.containerStatus(e.id).then((s) => {
      const owner = s?.labels[POD_UID_LABEL];
      if (owner === undefined) return;
      this.containerPods.set(e.id, owner);
      const found = this.states.get(owner);
      if (found !== undefined) this.schedule(found);
    });
  }

  private onProbeResult(e: ProbeResultEvent): void {
    const st = this.states.get(e.podUID);
    if (st === undefined) return;
    const set =
      e.probeType === "liveness"
        ? st.livenessFailed
        : e.probeType === "startup"
          ? st.startupFailed
          : undefined;
    if (set !== undefined) {
      // Probe results name the container as the status does (containerd://<id>); the pod's
      // actions look containers up by their runtime id.
      const id = e.containerID.replace(/^[a-z]+:\/\//, "");
      if (e.result === "failure") set.add(id);
      else set.delete(id);
    }
    this.schedule(st);
  }

  /** Runs the pod's worker now, or right after the run in progress (updates coalesce). */
  private schedule(st: PodState): void {
    if (this.stopped) return;
    if (st.running) {
      st.pending = true;
      return;
    }
    if (st.timer !== undefined) {
      this.clock.clearTimeout(st.timer as TimerHandle);
      delete st.timer;
    }
    st.running = true;
    const p = this.run(st).finally(() => {
      st.running = false;
      this.inFlight.delete(p);
      if (st.pending) {
        st.pending = false;
        if (this.states.get(st.uid) === st) this.schedule(st);
      }
    });
    this.inFlight.add(p);
  }

  private wakeAt(st: PodState, at: number): void {
    if (this.stopped || this.states.get(st.uid) !== st) return;
    if (st.timer !== undefined) this.clock.clearTimeout(st.timer as TimerHandle);
    st.timer = this.clock.setTimeout(
      () => {
        delete st.timer;
        this.schedule(st);
      },
      Math.max(0, at - this.clock.now()),
    );
  }

  /** managePodLoop's one iteration. */
  private async run(st: PodState): Promise<void> {
    const resync = this.o.resyncIntervalMs ?? 60_000;
    try {
      for (const c of await this.syncer.podContainers(st.uid)) this.containerPods.set(c.status.id, st.uid);
      if (st.phase === "syncing") {
        if (st.pod.metadata.deletionTimestamp !== undefined || st.removed) st.phase = "terminating";
        else {
          const r = await this.syncer.syncPod(st);
          if (!r.terminal) {
            this.wakeAt(st, Math.min(r.wakeAt ?? Number.POSITIVE_INFINITY, this.clock.now() + resync));
            return;
          }
          st.phase = "terminating";
        }
      }
      if (st.phase === "terminating") {
        await this.syncer.syncTerminatingPod(st);
        st.phase = "terminated";
        this.log.info(
          { pod: `${st.pod.metadata.namespace}/${st.pod.metadata.name}`, uid: st.uid },
          "pod terminated",
        );
      }
      await this.syncer.syncTerminatedPod(st);
      this.o.statusManager.requestSync(st.uid);
      if (st.removed) {
        this.states.delete(st.uid);
        this.o.statusManager.forget(st.uid);
      }
    } catch (e) {
      this.log.warn(
        { pod: `${st.pod.metadata.namespace}/${st.pod.metadata.name}`, uid: st.uid, err: errText(e) },
        "pod sync failed",
      );
      this.wakeAt(st, this.clock.now() + (this.o.syncErrorBackoffMs ?? 10_000));
    }
  }
}
