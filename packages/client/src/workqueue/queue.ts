/**
 * The deduplicating work queue of client-go's util/workqueue (queue.go, `Typed`): a FIFO of keys
 * in which a key is at most once, and never handed to two workers at once. A key added while a
 * worker processes it is marked dirty and goes back into the queue when the worker calls
 * `done(key)`, so it runs once more afterwards: the worker always sees the latest state.
 */
import type { Registry } from "prom-client";
import { type Clock, realClock } from "./clock.js";
import { type QueueMetrics, queueMetrics } from "./metrics.js";

export interface QueueOptions {
  /** The `name` label of the queue's metrics (required with `registry`). */
  name?: string;
  clock?: Clock;
  /** Where the workqueue_* metrics go; none without it (client-go's no-op provider). */
  registry?: Registry;
}

export class Queue<K> {
  protected readonly clock: Clock;
  protected readonly metrics: QueueMetrics<K>;
  /** The keys waiting, in order. Invariant: every key in it is in `dirty` and not in `processing`. */
  private queue: K[] = [];
  /** Index of the next key in `queue` (shift() is linear; the array is compacted now and then). */
  private head = 0;
  /** Keys that need processing (queued, or added again while being processed). */
  private readonly dirty = new Set<K>();
  /** Keys handed out by get() and not yet done(). */
  private readonly processing = new Set<K>();
  /** get() calls waiting for a key, first come first served. */
  private readonly waiters: ((key: K | undefined) => void)[] = [];
  private shuttingDown = false;
  /** shutDownWithDrain() calls waiting for `processing` to empty. */
  private readonly drainers: (() => void)[] = [];

  constructor(opts: QueueOptions = {}) {
    this.clock = opts.clock ?? realClock;
    this.metrics = queueMetrics<K>(opts.registry, opts.name, this.clock);
  }

  /** Marks `key` as needing processing; a no-op once shut down or while it already waits. */
  add(key: K): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.metrics.add(key);
    this.dirty.add(key);
    // Being processed: done() requeues it.
    if (this.processing.has(key)) return;
    this.queue.push(key);
    this.handOut();
  }

  /** Keys waiting (not those being processed). */
  len(): number {
    return this.queue.length - this.head;
  }

  /**
   * The next key, once there is one; the caller must call done(key) when it has processed it.
   * Undefined once the queue is shut down and empty: the worker should exit.
   */
  get(): Promise<K | undefined> {
    const key = this.take();
    if (key !== undefined || this.shuttingDown) return Promise.resolve(key);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Ends the processing of `key`; requeues it if it was added meanwhile. */
  done(key: K): void {
    this.metrics.done(key);
    this.processing.delete(key);
    if (this.dirty.has(key)) {
      this.queue.push(key);
      this.handOut();
    }
    if (this.processing.size === 0) for (const d of this.drainers.splice(0)) d();
  }

  /** No more adds; waiting get() calls resolve undefined; keys still queued can still be got. */
  shutDown(): void {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    this.onShutDown();
    this.metrics.close();
    for (const w of this.waiters.splice(0)) w(undefined);
  }

  /**
   * shutDown, then wait until every key handed out is done (client-go's ShutDownWithDrain):
   * workers may go on getting the keys still queued meanwhile.
   */
  async shutDownWithDrain(): Promise<void> {
    this.shutDown();
    if (this.processing.size === 0) return;
    await new Promise<void>((resolve) => this.drainers.push(resolve));
  }

  isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /** For subclasses: release timers and the like when shut down. */
  protected onShutDown(): void {}

  private take(): K | undefined {
    if (this.head === this.queue.length) return undefined;
    const key = this.queue[this.head++] as K;
    if (this.head === this.queue.length || this.head > 1024) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    this.metrics.get(key);
    this.processing.add(key);
    this.dirty.delete(key);
    return key;
  }

  private handOut(): void {
    while (this.waiters.length > 0 && this.len() > 0) {
      const w = this.waiters.shift() as (key: K | undefined) => void;
      w(this.take());
    }
  }
}
