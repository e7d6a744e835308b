/**
 * The pod worker's queue: client-go's RateLimitingQueue from @skiff/client (deduplicating; a key
 * is never synced twice at once; a key added while it syncs runs once more afterwards) with
 * `workers` loops taking keys from it, and per-key exponential backoff from 5 ms doubling per
 * failure, capped at `maxDelayMs` (client-go caps at 1000 s; a hollow node's retry costs the
 * cluster one request, so a shorter cap keeps pods from waiting minutes after a brief API server
 * outage).
 */
import {
  type Clock as ClientClock,
  ItemExponentialFailureRateLimiter,
  RateLimitingQueue,
  type TimerHandle,
} from "@skiff/client";
import type { Clock } from "./clock.js";

export interface WorkQueueOptions {
  /** Keys processed at once. */
  workers: number;
  clock: Clock;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Called with each failure of sync (never fatal). */
  onError?(key: string, e: unknown, retries: number): void;
}

/** The hollow nodes' clock as the client machinery's (only its timers and wall time are used). */
function clientClock(c: Clock): ClientClock {
  return {
    now: () => c.now(),
    setTimeout: (f, ms) => c.setTimeout(f, ms) as TimerHandle,
    clearTimeout: (h) => c.clearTimeout(h),
  };
}

export class WorkQueue {
  private readonly queue: RateLimitingQueue<string>;
  private readonly loops: Promise<void>[];
  /** Failures of sync so far. */
  retries = 0;
  private stopping = false;

  constructor(
    private readonly sync: (key: string) => Promise<void>,
    private readonly o: WorkQueueOptions,
  ) {
    this.queue = new RateLimitingQueue<string>({
      clock: clientClock(o.clock),
      rateLimiter: new ItemExponentialFailureRateLimiter<string>(o.baseDelayMs ?? 5, o.maxDelayMs ?? 30_000),
    });
    this.loops = Array.from({ length: o.workers }, () => this.worker());
  }

  /** Keys waiting (not counting those being processed or waiting out a backoff). */
  get length(): number {
    return this.queue.len();
  }

  add(key: string): void {
    this.queue.add(key);
  }

  /** Adds `key` once `ms` have passed (the earlier time wins if it is already waiting). */
  addAfter(key: string, ms: number): void {
    this.queue.addAfter(key, ms);
  }

  /** Drops what is queued and delayed; resolves once no sync is running. */
  async shutDown(): Promise<void> {
    // Keys still queued are dropped, not synced (the client's queue would hand them out still).
    this.stopping = true;
    this.queue.shutDown();
    await Promise.all(this.loops);
  }

  private async worker(): Promise<void> {
    for (let key = await this.queue.get(); key !== undefined; key = await this.queue.get()) {
      if (this.stopping) {
        this.queue.done(key);
        continue;
      }
      try {
        await this.sync(key);
        this.queue.forget(key);
      } catch (e) {
        this.retries++;
        this.queue.addRateLimited(key);
        this.o.onError?.(key, e, this.queue.numRequeues(key));
      } finally {
        this.queue.done(key);
      }
    }
  }
}
