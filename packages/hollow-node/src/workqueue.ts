/**
 * A deduplicating work queue of keys with per-key exponential backoff, in client-go's shape
 * (workqueue.RateLimitingInterface with ItemExponentialFailureRateLimiter): a key queued twice is
 * processed once; a key added while it is being processed is processed again afterwards, never
 * twice at once; `sync(key)` throwing requeues the key after 5 ms doubling per failure, capped at
 * `maxDelayMs` (client-go caps at 1000 s; a hollow node's retry costs the cluster one request, so
 * a shorter cap keeps pods from waiting minutes after a brief API server outage).
 */
import type { Clock } from "./clock.js";
import { Deque } from "./deque.js";

export interface WorkQueueOptions {
  /** Keys processed at once. */
  workers: number;
  clock: Clock;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Called with each failure of sync (never fatal). */
  onError?(key: string, e: unknown, retries: number): void;
}

export class WorkQueue {
  private readonly queue = new Deque<string>();
  /** Keys in `queue`. */
  private readonly queued = new Set<string>();
  /** Keys whose sync is running. Invariant: disjoint from `queued`. */
  private readonly processing = new Set<string>();
  /** Keys added while processing: queued again when their sync ends. */
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly delayed = new Map<string, unknown>();
  private stopped = false;
  private idleWaiters: (() => void)[] = [];
  retries = 0;

  constructor(
    private readonly sync: (key: string) => Promise<void>,
    private readonly o: WorkQueueOptions,
  ) {}

  /** Keys waiting (not counting those being processed or waiting out a backoff). */
  get length(): number {
    return this.queue.length;
  }

  add(key: string): void {
    if (this.stopped) return;
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.queue.push(key);
    this.pump();
  }

  /** Adds the key after its backoff (client-go's AddRateLimited). */
  addRateLimited(key: string): void {
    if (this.stopped) return;
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    // A retry already waiting comes sooner than this one would: keep it.
    if (this.delayed.has(key)) return;
    const base = this.o.baseDelayMs ?? 5;
    const ms = Math.min(base * 2 ** n, this.o.maxDelayMs ?? 30_000);
    this.delayed.set(
      key,
      this.o.clock.setTimeout(() => {
        this.delayed.delete(key);
        this.add(key);
      }, ms),
    );
  }

  /** Forgets a key's failures (client-go's Forget): its next failure starts from the base delay. */
  forget(key: string): void {
    this.failures.delete(key);
  }

  /** Drops what is queued and delayed; resolves once no sync is running. */
  shutDown(): Promise<void> {
    this.stopped = true;
    for (const h of this.delayed.values()) this.o.clock.clearTimeout(h);
    this.delayed.clear();
    this.queue.drain();
    this.queued.clear();
    this.dirty.clear();
    if (this.processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    while (!this.stopped && this.processing.size < this.o.workers && this.queue.length > 0) {
      const key = this.queue.shift() as string;
      this.queued.delete(key);
      this.processing.add(key);
      void this.process(key);
    }
  }

  private async process(key: string): Promise<void> {
    try {
      await this.sync(key);
      this.forget(key);
    } catch (e) {
      this.retries++;
      this.addRateLimited(key);
      this.o.onError?.(key, e, this.failures.get(key) ?? 0);
    } finally {
      this.processing.delete(key);
      if (this.stopped) {
        if (this.processing.size === 0) for (const w of this.idleWaiters.splice(0)) w();
      } else {
        if (this.dirty.delete(key)) this.add(key);
        this.pump();
      }
    }
  }
}
