/**
 * kube's backoffQueue (pkg/scheduler/backend/queue/backoff_queue.go, 1.32): pods that failed and
 * wait out their backoff before going back to the activeQ, in a heap ordered by backoff expiry.
 * The backoff is podInitialBackoff doubled for each attempt after the first, capped at
 * podMaxBackoff, counted from the pod's timestamp (refreshed when a failed pod is re-queued).
 */
import type { QueuedPodInfo } from "../framework/pod-info.js";
import type { Clock } from "./clock.js";
import { Heap } from "./heap.js";
import { queuedPodKey } from "./keys.js";

export class BackoffQueue {
  /**
   * Ordered by backoffExpiry. Invariant: a pod's timestamp and attempts do not change while it is
   * here (timestamp changes when a failed pod comes back, attempts when it is popped from the
   * activeQ), so its expiry, and the heap order, stay valid.
   */
  private readonly heap: Heap<QueuedPodInfo>;

  constructor(
    private readonly clock: Clock,
    readonly podInitialBackoffMs: number,
    readonly podMaxBackoffMs: number,
  ) {
    this.heap = new Heap(queuedPodKey, (a, b) => this.backoffExpiry(a) < this.backoffExpiry(b));
  }

  /** kube's calculateBackoffDuration: none before the first attempt, then initial * 2^(attempts-1) up to max. */
  backoffDuration(qpi: QueuedPodInfo): number {
    if (qpi.attempts === 0) return 0;
    let d = this.podInitialBackoffMs;
    for (let i = 1; i < qpi.attempts; i++) {
      if (d > this.podMaxBackoffMs - d) return this.podMaxBackoffMs;
      d += d;
    }
    return Math.min(d, this.podMaxBackoffMs);
  }

  backoffExpiry(qpi: QueuedPodInfo): number {
    return qpi.timestamp + this.backoffDuration(qpi);
  }

  /** kube's isPodBackingoff: the pod must not be retried yet. */
  isPodBackingoff(qpi: QueuedPodInfo): boolean {
    return this.backoffExpiry(qpi) > this.clock.now();
  }

  add(qpi: QueuedPodInfo): void {
    this.heap.addOrUpdate(qpi);
  }

  /** Re-places a pod whose QueuedPodInfo was updated in place. */
  update(qpi: QueuedPodInfo): void {
    this.heap.addOrUpdate(qpi);
  }

  get(key: string): QueuedPodInfo | undefined {
    return this.heap.get(key);
  }

  has(key: string): boolean {
    return this.heap.has(key);
  }

  delete(key: string): QueuedPodInfo | undefined {
    return this.heap.delete(key);
  }

  /** Removes and returns every pod whose backoff has expired, earliest first. */
  popAllBackoffCompleted(): QueuedPodInfo[] {
    const done: QueuedPodInfo[] = [];
    for (let top = this.heap.peek(); top !== undefined && !this.isPodBackingoff(top); top = this.heap.peek())
      done.push(this.heap.pop() as QueuedPodInfo);
    return done;
  }

  list(): QueuedPodInfo[] {
    return this.heap.list();
  }

  get length(): number {
    return this.heap.length;
  }
}
