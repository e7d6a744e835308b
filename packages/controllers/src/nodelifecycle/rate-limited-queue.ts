/**
 * kube's RateLimitedTimedQueue (pkg/controller/nodelifecycle/scheduler/rate_limited_queue.go):
 * the nodes of one zone waiting for a NoExecute taint, each at most once until removed, in the
 * order they are due, drained by `tryProcess` no faster than the zone's token bucket allows
 * (burst 1). The limiter is swapped as the zone's disruption state changes; a rate of 0 stops
 * the zone's tainting altogether (kube's fake "never" limiter).
 */
import { type Clock, TokenBucket } from "@skiff/client";

/** kube's EvictionRateLimiterBurst. */
export const EVICTION_RATE_LIMITER_BURST = 1;

/** TimedValue: a node name (and uid) to process no earlier than processAt. */
export interface TimedValue {
  value: string;
  uid: string;
  addedAt: number;
  processAt: number;
}

/** An action's verdict: done (removed from the queue), or retry after `waitMs`. */
export type ActionResult = { done: true } | { done: false; waitMs: number };

export class RateLimitedTimedQueue {
  /** Ordered by processAt, then insertion (a stable sort keeps kube's heap's FIFO for ties closely enough). */
  private queue: TimedValue[] = [];
  /**
   * UniqueQueue's set: values added and not yet removed. A value processed successfully leaves
   * the queue but stays in the set (RemoveFromQueue), so it is not added again until Remove.
   */
  private readonly set = new Set<string>();
  private limiter: TokenBucket | undefined;
  private qps: number;

  constructor(
    qps: number,
    private readonly clock: Clock,
  ) {
    this.qps = qps;
    this.limiter = newLimiter(qps, clock);
  }

  /** The rate this queue is drained at (0: never). */
  get rate(): number {
    return this.qps;
  }

  /** Adds a value unless present (or processed and not removed since); whether it was added. */
  add(value: string, uid: string): boolean {
    if (this.set.has(value)) return false;
    const now = this.clock.now();
    this.push({ value, uid, addedAt: now, processAt: now });
    this.set.add(value);
    return true;
  }

  /** Remove: forgets the value, so it may be added again; whether it was known. */
  remove(value: string): boolean {
    if (!this.set.delete(value)) return false;
    this.queue = this.queue.filter((v) => v.value !== value);
    return true;
  }

  /** Values waiting (not those processed and kept in the set). */
  get length(): number {
    return this.queue.length;
  }

  has(value: string): boolean {
    return this.queue.some((v) => v.value === value);
  }

  /**
   * Try: processes due values in order while the limiter gives tokens. A value whose action is
   * done leaves the queue (kept in the set); one that must be retried is due again after its
   * wait. Values removed while their action ran are not put back.
   */
  async tryProcess(fn: (v: TimedValue) => Promise<ActionResult>): Promise<void> {
    for (let head = this.queue[0]; head !== undefined; head = this.queue[0]) {
      if (this.limiter === undefined || !this.limiter.allow()) break;
      const now = this.clock.now();
      if (now < head.processAt) break;
      const r = await fn(head);
      const i = this.queue.indexOf(head);
      if (i < 0) continue;
      this.queue.splice(i, 1);
      if (!r.done) this.push({ ...head, processAt: now + r.waitMs + 1 });
    }
  }

  /** SwapLimiter: a new rate; a limiter with no token left passes its debt on to the new one. */
  swapLimiter(qps: number): void {
    if (qps === this.qps) return;
    const exhausted = this.limiter === undefined || !this.limiter.allow();
    this.qps = qps;
    this.limiter = newLimiter(qps, this.clock);
    if (exhausted) this.limiter?.allow();
  }

  private push(v: TimedValue): void {
    const i = this.queue.findIndex((x) => x.processAt > v.processAt);
    if (i < 0) this.queue.push(v);
    else this.queue.splice(i, 0, v);
  }
}

function newLimiter(qps: number, clock: Clock): TokenBucket | undefined {
  return qps > 0 ? new TokenBucket(qps, EVICTION_RATE_LIMITER_BURST, clock) : undefined;
}
