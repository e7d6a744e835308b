/**
 * Rate limiters for a RateLimitingQueue, as client-go's util/workqueue/default_rate_limiters.go:
 * `when(item)` says how long the item waits before its next try, `forget(item)` clears its
 * failure history, `numRequeues(item)` counts its failures.
 */
import { type Clock, realClock } from "./clock.js";
import { TokenBucket } from "./token-bucket.js";

export interface RateLimiter<K> {
  /** The delay, ms, before `item` may be processed again (counts a failure where tracked). */
  when(item: K): number;
  /** The item is done (success or given up): clear what is tracked about it. */
  forget(item: K): void;
  /** Failures recorded for `item` since it was last forgotten. */
  numRequeues(item: K): number;
}

/**
 * Per-item exponential backoff: baseMs * 2^failures, capped at maxMs (client-go's
 * ItemExponentialFailureRateLimiter).
 */
export class ItemExponentialFailureRateLimiter<K> implements RateLimiter<K> {
  private readonly failures = new Map<K, number>();

  constructor(
    readonly baseMs: number,
    readonly maxMs: number,
  ) {}

  when(item: K): number {
    const exp = this.failures.get(item) ?? 0;
    this.failures.set(item, exp + 1);
    const backoff = this.baseMs * 2 ** exp;
    // 2^exp overflows to Infinity long after it passed any sensible cap.
    return Number.isFinite(backoff) && backoff <= this.maxMs ? backoff : this.maxMs;
  }

  forget(item: K): void {
    this.failures.delete(item);
  }

  numRequeues(item: K): number {
    return this.failures.get(item) ?? 0;
  }
}

/**
 * One token bucket for all items (client-go's BucketRateLimiter over rate.NewLimiter(qps,
 * burst)): bounds the overall retry rate; it tracks no item, so forget and numRequeues are
 * no-ops.
 */
export class BucketRateLimiter<K> implements RateLimiter<K> {
  private readonly bucket: TokenBucket;

  constructor(qps: number, burst: number, clock: Clock = realClock) {
    this.bucket = new TokenBucket(qps, burst, clock);
  }

  when(_item: K): number {
    return this.bucket.reserve();
  }

  forget(_item: K): void {}

  numRequeues(_item: K): number {
    return 0;
  }
}

/** The longest delay of several limiters (client-go's MaxOfRateLimiter); each one counts. */
export class MaxOfRateLimiter<K> implements RateLimiter<K> {
  readonly limiters: readonly RateLimiter<K>[];

  constructor(...limiters: RateLimiter<K>[]) {
    if (limiters.length === 0) throw new Error("MaxOfRateLimiter: at least one limiter");
    this.limiters = limiters;
  }

  when(item: K): number {
    // Every limiter is asked (not just until the largest): each records the failure.
    let ret = 0;
    for (const l of this.limiters) ret = Math.max(ret, l.when(item));
    return ret;
  }

  forget(item: K): void {
    for (const l of this.limiters) l.forget(item);
  }

  numRequeues(item: K): number {
    let ret = 0;
    for (const l of this.limiters) ret = Math.max(ret, l.numRequeues(item));
    return ret;
  }
}

/**
 * client-go's DefaultControllerRateLimiter: per-item exponential backoff from 5 ms to 1000 s,
 * and an overall 10 qps with a burst of 100 (only the bucket's clock is injectable: the
 * exponential limiter reads no clock).
 */
export function defaultControllerRateLimiter<K>(clock: Clock = realClock): RateLimiter<K> {
  return new MaxOfRateLimiter<K>(
    new ItemExponentialFailureRateLimiter<K>(5, 1000 * 1000),
    new BucketRateLimiter<K>(10, 100, clock),
  );
}
