/**
 * A delaying queue with a rate limiter (client-go's rate_limiting_queue.go): a controller calls
 * `addRateLimited(key)` when sync(key) failed (the key comes back after the limiter's delay) and
 * `forget(key)` when it succeeded (its backoff starts over).
 */
import { DelayingQueue } from "./delaying-queue.js";
import type { QueueOptions } from "./queue.js";
import { defaultControllerRateLimiter, type RateLimiter } from "./rate-limiters.js";

export interface RateLimitingQueueOptions<K> extends QueueOptions {
  /** Default: defaultControllerRateLimiter() on the queue's clock. */
  rateLimiter?: RateLimiter<K>;
}

export class RateLimitingQueue<K> extends DelayingQueue<K> {
  readonly rateLimiter: RateLimiter<K>;

  constructor(opts: RateLimitingQueueOptions<K> = {}) {
    super(opts);
    this.rateLimiter = opts.rateLimiter ?? defaultControllerRateLimiter<K>(this.clock);
  }

  /** Adds `key` once the rate limiter says it may come back. */
  addRateLimited(key: K): void {
    this.addAfter(key, this.rateLimiter.when(key));
  }

  /** Stops tracking `key`'s failures (it does not remove it from the queue). */
  forget(key: K): void {
    this.rateLimiter.forget(key);
  }

  /** How many times `key` was requeued with addRateLimited since it was last forgotten. */
  numRequeues(key: K): number {
    return this.rateLimiter.numRequeues(key);
  }
}
