/**
 * Scheduler (pkg/scheduler/scheduler.go, schedule_one.go): pops a pod, runs one scheduling cycle
 * synchronously, assumes the pod on the chosen node in the cache, and hands the binding cycle
 * (Permit wait, PreBind, Bind, PostBind) to an asynchronous task so that the next pod is scheduled
 * without waiting for the API. A failed cycle or bind records FailedScheduling, sets
 * PodScheduled=False and returns the pod to the queue.
 */
import type { Pod, PodCondition } from "@skiff/api";
import type { SchedulerCache } from "./cache/cache.js";
import type { CycleState } from "./framework/cycle-state.js";
import { FitError, NoNodesAvailableError } from "./framework/fit-error.js";
import {
  ActionType,
  type ClusterEvent,
  type EventRecorderLike,
  type PodNominator,
} from "./framework/interface.js";
import { PodInfo, type QueuedPodInfo } from "./framework/pod-info.js";
import type { Framework } from "./framework/runtime.js";
import { Snapshot } from "./framework/snapshot.js";
import { Code, isSuccess, type Status } from "./framework/status.js";
import type { SchedulerMetrics } from "./metrics.js";
import { ScheduleAlgorithm } from "./schedule-one.js";

/** What the scheduler needs of its queue (queue/priority-queue.ts implements it). */
export interface SchedulingQueue {
  pop(): Promise<QueuedPodInfo | undefined>;
  done(uid: string): void;
  schedulingCycle(): number;
  addUnschedulableIfNotPresent(qpi: QueuedPodInfo, podSchedulingCycle: number): void;
  moveAllToActiveOrBackoffQueue(event: ClusterEvent, oldObj?: unknown, newObj?: unknown): void;
  close(): void;
}

/** The API calls the scheduler itself makes (besides plugins' Handle.api). */
export interface StatusWriter {
  /** Sets the PodScheduled condition (and nominatedNodeName when given) on the pod's status. */
  updatePodCondition(pod: Pod, condition: PodCondition, nominatedNodeName?: string): Promise<void>;
}

export interface SchedulerOptions {
  profiles: ReadonlyMap<string, Framework>;
  cache: SchedulerCache;
  queue: SchedulingQueue;
  nominator: PodNominator & { updateNominatedPod?(old: Pod, pi: PodInfo): void };
  statusWriter: StatusWriter;
  recorder: EventRecorderLike;
  metrics: SchedulerMetrics;
  /** The pod as the informer holds it now (undefined: deleted); stale pods are not retried. */
  currentPod(pod: Pod): Pod | undefined;
  percentageOfNodesToScore?: number;
  now?: () => number;
  random?: () => number;
  /** Binding cycles in flight at most; the loop waits for a slot (default 128). */
  maxBindsInFlight?: number;
  onError?(e: unknown, what: string): void;
}

const ref = (pod: Pod) => ({
  apiVersion: "v1",
  kind: "Pod",
  namespace: pod.metadata.namespace,
  name: pod.metadata.name,
  uid: pod.metadata.uid ?? "",
  resourceVersion: pod.metadata.resourceVersion ?? "",
});

export class Scheduler {
  readonly snapshot = new Snapshot();
  private readonly algorithm: ScheduleAlgorithm;
  private readonly now: () => number;
  private stopped = false;
  private bindsInFlight = 0;
  private readonly bindSlotWaiters: (() => void)[] = [];
  private readonly binding = new Set<Promise<void>>();
  private loop: Promise<void> | undefined;
  /** Pods bound (counted when the bind succeeds): the benchmark reads it. */
  scheduledCount = 0;

  constructor(private readonly o: SchedulerOptions) {
    this.now = o.now ?? (() => performance.timeOrigin + performance.now());
    this.algorithm = new ScheduleAlgorithm(o.random ?? Math.random, o.percentageOfNodesToScore);
  }

  /** Starts the scheduling loop (scheduleOne until stop). */
  run(): void {
    if (this.loop !== undefined) return;
    this.loop = this.runLoop();
  }

  private async runLoop(): Promise<void> {
    let lastYield = performance.now();
    while (!this.stopped) {
      const more = await this.scheduleOne();
      if (!more) break;
      // Cycles are synchronous; let I/O (bind answers, watch events) in every few ms.
      if (performance.now() - lastYield > 4) {
        await new Promise((r) => setImmediate(r));
        lastYield = performance.now();
      }
      if (this.bindsInFlight >= (this.o.maxBindsInFlight ?? 128))
        await new Promise<void>((r) => this.bindSlotWaiters.push(r));
    }
  }

  /** Stops popping, closes the queue and waits for bindings in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.o.queue.close();
    for (const w of this.bindSlotWaiters.splice(0)) w();
    await this.loop;
    await Promise.allSettled([...this.binding]);
  }

  /** One pod: false when the queue is closed. */
  async scheduleOne(): Promise<boolean> {
    const qpi = await this.o.queue.pop();
    if (qpi === undefined) return false;
    const pod = qpi.podInfo.pod;
    const uid = pod.metadata.uid ?? "";
    const fwk = this.o.profiles.get(pod.spec.schedulerName ?? "default-scheduler");
    if (fwk === undefined || this.skipPodSchedule(pod)) {
      this.o.queue.done(uid);
      return true;
    }
    const start = this.now();
    const cycle = this.o.queue.schedulingCycle();
    const state = fwk.newCycleState();
    this.o.cache.updateSnapshot(this.snapshot);
    let host: string;
    try {
      host = this.algorithm.schedulePod(fwk, state, pod, this.snapshot).suggestedHost;
    } catch (e) {
      await this.handleScheduleError(fwk, state, qpi, e, start, cycle);
      return true;
    }
    // Assume: the pod is on `host` as far as the next cycles are concerned.
    const assumed: Pod = { ...pod, spec: { ...pod.spec, nodeName: host } };
    const assumedInfo = new PodInfo(assumed);
    try {
      this.o.cache.assumePod(assumedInfo);
    } catch (e) {
      this.fail(fwk, qpi, e, "SchedulerError", cycle, start);
      return true;
    }
    const reserve = fwk.runReservePluginsReserve(state, assumed, host);
    if (!isSuccess(reserve)) {
      fwk.runReservePluginsUnreserve(state, assumed, host);
      this.o.cache.forgetPod(assumed);
      this.failWithStatus(fwk, qpi, reserve as Status, cycle, start);
      return true;
    }
    const permit = fwk.runPermitPlugins(state, assumed, host);
    if (permit !== undefined && !permit.isWait() && !permit.isSuccess()) {
      fwk.runReservePluginsUnreserve(state, assumed, host);
      this.o.cache.forgetPod(assumed);
      this.failWithStatus(fwk, qpi, permit, cycle, start);
      return true;
    }
    if (pod.status?.nominatedNodeName !== undefined) this.o.nominator.deleteNominatedPodIfExists(pod);
    this.bindsInFlight++;
    const task = this.bindingCycle(fwk, state, qpi, assumed, host, start, cycle).finally(() => {
      this.binding.delete(task);
      this.bindsInFlight--;
      this.bindSlotWaiters.shift()?.();
    });
    this.binding.add(task);
    return true;
  }

  /** A pod being deleted, or one already assumed (an update raced the queue), is not scheduled. */
  private skipPodSchedule(pod: Pod): boolean {
    if (pod.metadata.deletionTimestamp !== undefined) return true;
    return this.o.cache.isAssumedPod(pod);
  }

  private async bindingCycle(
    fwk: Framework,
    state: CycleState,
    qpi: QueuedPodInfo,
    assumed: Pod,
    host: string,
    start: number,
    cycle: number,
  ): Promise<void> {
    const uid = assumed.metadata.uid ?? "";
    try {
      let s = await fwk.waitOnPermit(assumed);
      if (isSuccess(s)) s = await fwk.runPreBindPlugins(state, assumed, host);
      const bindStart = this.now();
      if (isSuccess(s)) s = await fwk.runBindPlugins(state, assumed, host);
      if (!isSuccess(s)) {
        fwk.runReservePluginsUnreserve(state, assumed, host);
        this.o.cache.forgetPod(assumed);
        // The node has room again: pods waiting for it may fit (kube's AssignedPodDelete).
        this.o.queue.moveAllToActiveOrBackoffQueue({
          resource: "AssignedPod",
          actionType: ActionType.Delete,
          label: "AssignedPodDelete",
        });
        this.failWithStatus(fwk, qpi, s as Status, cycle, start);
        return;
      }
      this.o.metrics.bindingDuration.observe((this.now() - bindStart) / 1000);
      this.o.cache.finishBinding(assumed);
      this.o.queue.done(uid);
      this.scheduledCount++;
      this.o.metrics.observeAttempt("scheduled", fwk.profileName, (this.now() - start) / 1000);
      if (qpi.initialAttemptTimestamp !== undefined)
        this.o.metrics.podSchedulingSli.observe(
          { attempts: String(qpi.attempts) },
          (this.now() - qpi.initialAttemptTimestamp) / 1000,
        );
      fwk.runPostBindPlugins(state, assumed, host);
      this.o.recorder.eventf(
        ref(assumed),
        undefined,
        "Normal",
        "Scheduled",
        "Binding",
        `Successfully assigned ${assumed.metadata.namespace}/${assumed.metadata.name} to ${host}`,
      );
    } catch (e) {
      this.o.cache.forgetPod(assumed);
      this.fail(fwk, qpi, e, "SchedulerError", cycle, start);
    }
  }

  private async handleScheduleError(
    fwk: Framework,
    state: CycleState,
    qpi: QueuedPodInfo,
    e: unknown,
    start: number,
    cycle: number,
  ): Promise<void> {
    const pod = qpi.podInfo.pod;
    if (e instanceof NoNodesAvailableError) {
      qpi.unschedulablePlugins = new Set();
      this.report(fwk, qpi, "unschedulable", "Unschedulable", e.message, cycle, start);
      return;
    }
    if (!(e instanceof FitError)) {
      this.fail(fwk, qpi, e, "SchedulerError", cycle, start);
      return;
    }
    let nominatedNodeName: string | undefined;
    if (fwk.postFilter.length > 0) {
      const r = await fwk.runPostFilterPlugins(state, pod, e.diagnosis.nodeToStatus);
      if (r.status.code === Code.Error) {
        this.o.onError?.(r.status.error ?? new Error(r.status.message()), "preemption");
      } else if (!r.status.isSuccess()) {
        e.diagnosis.postFilterMsg = r.status.message();
      }
      nominatedNodeName = r.result?.nominatedNodeName;
    }
    qpi.unschedulablePlugins = e.diagnosis.unschedulablePlugins;
    if (nominatedNodeName !== undefined && nominatedNodeName !== "") {
      const p: Pod = { ...pod, status: { ...pod.status, nominatedNodeName } };
      this.o.nominator.addNominatedPod(new PodInfo(p), nominatedNodeName);
    }
    // DefaultPreemption has written status.nominatedNodeName itself.
    this.report(fwk, qpi, "unschedulable", "Unschedulable", e.message, cycle, start);
  }

  private failWithStatus(fwk: Framework, qpi: QueuedPodInfo, s: Status, cycle: number, start: number): void {
    if (s.isRejected()) {
      qpi.unschedulablePlugins = new Set(s.plugin === "" ? [] : [s.plugin]);
      this.report(fwk, qpi, "unschedulable", "Unschedulable", s.message(), cycle, start);
    } else this.fail(fwk, qpi, s.error ?? new Error(s.message()), "SchedulerError", cycle, start);
  }

  private fail(
    fwk: Framework,
    qpi: QueuedPodInfo,
    e: unknown,
    reason: string,
    cycle: number,
    start: number,
  ): void {
    this.o.onError?.(e, `scheduling ${qpi.podInfo.key}`);
    qpi.unschedulablePlugins = new Set();
    this.report(fwk, qpi, "error", reason, e instanceof Error ? e.message : String(e), cycle, start);
  }

  /**
   * handleSchedulingFailure: back to the queue (if the pod still exists and is still unbound), a
   * FailedScheduling event, and PodScheduled=False with the reason (written only when it changes).
   */
  private report(
    fwk: Framework,
    qpi: QueuedPodInfo,
    result: "unschedulable" | "error",
    reason: string,
    message: string,
    cycle: number,
    start: number,
    nominatedNodeName?: string,
  ): void {
    this.o.metrics.observeAttempt(result, fwk.profileName, (this.now() - start) / 1000);
    const pod = qpi.podInfo.pod;
    const current = this.o.currentPod(pod);
    if (
      current === undefined ||
      (current.spec.nodeName ?? "") !== "" ||
      current.metadata.uid !== pod.metadata.uid
    ) {
      this.o.queue.done(pod.metadata.uid ?? "");
      return;
    }
    if (current !== pod) qpi.podInfo = safePodInfo(current) ?? qpi.podInfo;
    qpi.pendingPlugins = new Set();
    // It calls done() itself (in-flight events decide between backoff and unschedulable).
    this.o.queue.addUnschedulableIfNotPresent(qpi, cycle);
    this.o.recorder.eventf(ref(pod), undefined, "Warning", "FailedScheduling", "Scheduling", message);
    const cond: PodCondition = { type: "PodScheduled", status: "False", reason, message };
    const old = current.status?.conditions?.find((c) => c.type === "PodScheduled");
    const nominatedChanged =
      nominatedNodeName !== undefined && nominatedNodeName !== current.status?.nominatedNodeName;
    if (!nominatedChanged && old?.status === "False" && old.reason === reason && old.message === message)
      return;
    this.o.statusWriter
      .updatePodCondition(
        current,
        { ...cond, lastProbeTime: null, lastTransitionTime: new Date(this.now()).toISOString() },
        nominatedNodeName,
      )
      .catch((err: unknown) => this.o.onError?.(err, `updating PodScheduled of ${qpi.podInfo.key}`));
  }
}

function safePodInfo(pod: Pod): PodInfo | undefined {
  try {
    return new PodInfo(pod);
  } catch {
    return undefined;
  }
}
