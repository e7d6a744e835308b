/**
 * The level-triggered loop every in-process controller runs on (client-go's workqueue plus a
 * worker, as kube-controller-manager's controllers use them): events and a periodic resync add
 * keys to a deduplicating queue; a key is never processed by two workers at once (one added while
 * it is processed runs again afterwards); a failed sync is retried with exponential backoff
 * (client-go's ItemExponentialFailureRateLimiter: 5 ms doubling, at most 1000 s); a sync may ask
 * to run again after a delay (kube's AddAfter). Time comes from an injectable clock.
 */
import type { Logger } from "@skiff/component-base";

export interface Clock {
  now(): number;
  setTimeout(f: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (f, ms) => {
    const t = setTimeout(f, ms);
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** What sync returns: nothing (done), or a delay after which the key is looked at again. */
export type SyncResult = undefined | { requeueAfterMs: number };

export interface LoopOptions {
  name: string;
  sync(key: string): Promise<SyncResult | undefined>;
  /** Every key there is (the resync and the first pass after start). */
  listKeys(): Promise<string[]>;
  /** Period of the full resync (kube's --*-sync-period); 0 for none. */
  resyncMs: number;
  workers?: number;
  clock?: Clock;
  log?: Logger;
  baseBackoffMs?: number;
  maxBackoffMs?: number;
}

export class ControllerLoop {
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  /** Keys added while being processed: they go back in the queue when done. */
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Set<unknown>();
  private readonly clock: Clock;
  private running = 0;
  private stopped = true;
  private readonly idle = new Set<() => void>();

  constructor(private readonly o: LoopOptions) {
    this.clock = o.clock ?? realClock;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.resync();
  }

  /** Stops taking keys and waits for the syncs in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) this.clock.clearTimeout(t);
    this.timers.clear();
    this.queue.length = 0;
    this.queued.clear();
    if (this.running > 0) await new Promise<void>((r) => this.idle.add(r));
  }

  /** Adds a key (deduplicated); a key being processed is processed again after. */
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

  /** Adds the key after `ms`. */
  addAfter(key: string, ms: number): void {
    if (this.stopped) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const t = this.clock.setTimeout(() => {
      this.timers.delete(t);
      this.add(key);
    }, ms);
    this.timers.add(t);
  }

  private async resync(): Promise<void> {
    await this.relist();
    if (this.o.resyncMs > 0) this.addTimer(() => void this.resync(), this.o.resyncMs);
  }

  /** Adds every key now (events may have been missed). */
  async relist(): Promise<void> {
    if (this.stopped) return;
    try {
      for (const k of await this.o.listKeys()) this.add(k);
    } catch (e) {
      this.o.log?.warn({ controller: this.o.name, err: String(e) }, "resync failed");
    }
  }

  private addTimer(f: () => void, ms: number): void {
    if (this.stopped) return;
    const t = this.clock.setTimeout(() => {
      this.timers.delete(t);
      f();
    }, ms);
    this.timers.add(t);
  }

  private pump(): void {
    while (!this.stopped && this.running < (this.o.workers ?? 1) && this.queue.length > 0) {
      const key = this.queue.shift() as string;
      this.queued.delete(key);
      this.processing.add(key);
      this.running++;
      void this.process(key);
    }
  }

  private async process(key: string): Promise<void> {
    try {
      const r = await this.o.sync(key);
      this.failures.delete(key);
      if (r !== undefined) this.addAfter(key, r.requeueAfterMs);
    } catch (e) {
      const n = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, n);
      const delay = Math.min((this.o.baseBackoffMs ?? 5) * 2 ** (n - 1), this.o.maxBackoffMs ?? 1_000_000);
      this.o.log?.debug({ controller: this.o.name, key, err: String(e), retryMs: delay }, "sync failed");
      this.addAfter(key, delay);
    } finally {
      this.processing.delete(key);
      this.running--;
      if (this.dirty.delete(key)) this.add(key);
      if (this.running === 0) {
        for (const r of this.idle) r();
        this.idle.clear();
      }
      this.pump();
    }
  }

  /** Keys waiting or being processed (for tests). */
  get pending(): number {
    return this.queue.length + this.processing.size;
  }
}
