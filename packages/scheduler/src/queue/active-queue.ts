/**
 * kube's activeQueue (pkg/scheduler/backend/queue/active_queue.go, 1.32): the heap of pods ready
 * to be scheduled, ordered by the QueueSort plugin's less, plus the pods in flight (popped, Done
 * not yet called) and the cluster events received while they were in flight, so that a pod that
 * fails can be re-queued at once when something it waited for happened during its attempt.
 */
import type { Pod } from "@skiff/api";
import type { ClusterEvent } from "../framework/interface.js";
import type { QueuedPodInfo } from "../framework/pod-info.js";
import { Heap } from "./heap.js";
import { queuedPodKey } from "./keys.js";

/** A cluster event with its objects (kube's clusterEvent). */
export interface RecordedEvent {
  event: ClusterEvent;
  oldObj: unknown;
  newObj: unknown;
}

interface InFlightEvent extends RecordedEvent {
  seq: number;
}

export class ActiveQueue {
  private readonly heap: Heap<QueuedPodInfo>;
  /** Pods popped and not yet Done, with the sequence number of their pop and their latest object. */
  private readonly inFlightPods = new Map<string, { seq: number; pod: Pod }>();
  /**
   * Events received while any pod was in flight, in arrival order. Invariant: seq increases along
   * the array, and it holds no event older than the oldest in-flight pod's pop (Done prunes them).
   */
  private inFlightEvents: InFlightEvent[] = [];
  /** Pops and events share one sequence, so "events after this pod's pop" is seq > its seq. */
  private seq = 0;
  /** Events up to this seq were dropped when the list hit its bound (see recordEvent). */
  private droppedUpTo = -1;
  private waiters: ((qpi: QueuedPodInfo | undefined) => void)[] = [];
  /** kube's schedulingCycle: incremented on every pop. */
  schedulingCycle = 0;
  closed = false;

  constructor(
    less: (a: QueuedPodInfo, b: QueuedPodInfo) => boolean,
    /** Bound on inFlightEvents: past it they are dropped and the pods concerned requeue conservatively. */
    private readonly maxInFlightEvents: number,
  ) {
    this.heap = new Heap(queuedPodKey, less);
  }

  get length(): number {
    return this.heap.length;
  }

  has(key: string): boolean {
    return this.heap.has(key);
  }

  get(key: string): QueuedPodInfo | undefined {
    return this.heap.get(key);
  }

  /** Adds or re-places a pod; the caller calls broadcast() once it has added all it adds. */
  add(qpi: QueuedPodInfo): void {
    this.heap.addOrUpdate(qpi);
  }

  delete(key: string): QueuedPodInfo | undefined {
    return this.heap.delete(key);
  }

  list(): QueuedPodInfo[] {
    return this.heap.list();
  }

  /**
   * Resolves with the head of the heap, now in flight, as soon as there is one; with undefined once
   * closed. The pod goes in flight when it is handed over, so no event between the handover and the
   * caller's resumption is missed.
   */
  pop(): Promise<QueuedPodInfo | undefined> {
    if (this.closed) return Promise.resolve(undefined);
    const qpi = this.popNow();
    if (qpi !== undefined) return Promise.resolve(qpi);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Hands pods to waiting pop() calls while there are both (kube's cond.Broadcast). */
  broadcast(): void {
    while (this.waiters.length > 0) {
      const qpi = this.popNow();
      if (qpi === undefined) return;
      (this.waiters.shift() as (q: QueuedPodInfo | undefined) => void)(qpi);
    }
  }

  private popNow(): QueuedPodInfo | undefined {
    for (;;) {
      const qpi = this.heap.pop();
      if (qpi === undefined) return undefined;
      const key = queuedPodKey(qpi);
      // As kube: a pod already in flight is tracked twice somewhere; discard this copy.
      if (this.inFlightPods.has(key)) continue;
      qpi.attempts++;
      this.schedulingCycle++;
      this.inFlightPods.set(key, { seq: ++this.seq, pod: qpi.podInfo.pod });
      return qpi;
    }
  }

  isInFlight(key: string): boolean {
    return this.inFlightPods.has(key);
  }

  /** The latest object of an in-flight pod (updates received while it was being scheduled). */
  inFlightPod(key: string): Pod | undefined {
    return this.inFlightPods.get(key)?.pod;
  }

  inFlightPodList(): Pod[] {
    return [...this.inFlightPods.values()].map((f) => f.pod);
  }

  /** Records an event if any pod is in flight (kube's addEventIfAnyInFlight). */
  addEventIfAnyInFlight(e: RecordedEvent): boolean {
    if (this.inFlightPods.size === 0) return false;
    this.recordEvent(e);
    return true;
  }

  /**
   * Records events about an in-flight pod (kube's addEventsIfPodInFlight) and, given one, keeps its
   * latest object, which replaces the attempted one if the pod comes back.
   */
  addEventsIfPodInFlight(key: string, events: readonly RecordedEvent[], latest?: Pod): boolean {
    const f = this.inFlightPods.get(key);
    if (f === undefined) return false;
    if (latest !== undefined) f.pod = latest;
    for (const e of events) this.recordEvent(e);
    return true;
  }

  private recordEvent(e: RecordedEvent): void {
    if (this.inFlightEvents.length >= this.maxInFlightEvents) {
      // Bounded: forget the events; every pod in flight now is treated as having missed one.
      this.droppedUpTo = this.seq;
      this.inFlightEvents = [];
    }
    this.inFlightEvents.push({ ...e, seq: ++this.seq });
  }

  /**
   * The events received since this pod was popped (kube's clusterEventsForPod); undefined when the
   * pod is not in flight or some of its events were dropped, which the caller must treat as "an
   * event may have made it schedulable".
   */
  clusterEventsForPod(key: string): RecordedEvent[] | undefined {
    const f = this.inFlightPods.get(key);
    if (f === undefined || f.seq <= this.droppedUpTo) return undefined;
    return this.inFlightEvents.filter((e) => e.seq > f.seq);
  }

  get inFlightEventCount(): number {
    return this.inFlightEvents.length;
  }

  /** kube's done: the pod is no longer in flight; events no in-flight pod needs are pruned. */
  done(key: string): void {
    if (!this.inFlightPods.delete(key)) return;
    if (this.inFlightPods.size === 0) {
      this.inFlightEvents = [];
      return;
    }
    let oldest = Number.POSITIVE_INFINITY;
    for (const f of this.inFlightPods.values()) oldest = Math.min(oldest, f.seq);
    const keep = this.inFlightEvents.findIndex((e) => e.seq > oldest);
    this.inFlightEvents = keep < 0 ? [] : this.inFlightEvents.slice(keep);
  }

  /** Wakes every pop() with undefined; later pops return undefined at once. */
  close(): void {
    this.closed = true;
    for (const key of [...this.inFlightPods.keys()]) this.done(key);
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w(undefined);
  }
}
