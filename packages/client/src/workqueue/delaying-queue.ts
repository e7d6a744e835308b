/**
 * A work queue whose keys can be added after a delay (client-go's delaying_queue.go): keys wait
 * in a set ordered by ready time, one clock timer for the earliest, and join the queue when due.
 * A key already waiting keeps the earlier of its two ready times.
 */

import type { TimerHandle } from "./clock.js";
import { Queue, type QueueOptions } from "./queue.js";

export class DelayingQueue<K> extends Queue<K> {
  /** Key -> the clock time it becomes ready. */
  private readonly waiting = new Map<K, number>();
  private timer: { handle: TimerHandle; at: number } | undefined;

  constructor(opts: QueueOptions = {}) {
    super(opts);
  }

  /** Adds `key` after `ms` (now if ms <= 0); counts as a retry in the metrics, as client-go's. */
  addAfter(key: K, ms: number): void {
    if (this.isShuttingDown()) return;
    this.metrics.retry();
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const readyAt = this.clock.now() + ms;
    const known = this.waiting.get(key);
    if (known !== undefined && known <= readyAt) return;
    this.waiting.set(key, readyAt);
    this.arm();
  }

  /** Keys waiting for their delay to pass. */
  waitingLen(): number {
    return this.waiting.size;
  }

  protected override onShutDown(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer.handle);
    this.timer = undefined;
    this.waiting.clear();
  }

  /** One timer, for the earliest ready time. */
  private arm(): void {
    let earliest: number | undefined;
    for (const at of this.waiting.values()) if (earliest === undefined || at < earliest) earliest = at;
    if (this.timer !== undefined) {
      if (earliest !== undefined && this.timer.at === earliest) return;
      this.clock.clearTimeout(this.timer.handle);
      this.timer = undefined;
    }
    if (earliest === undefined) return;
    const handle = this.clock.setTimeout(() => this.fire(), earliest - this.clock.now());
    this.timer = { handle, at: earliest };
  }

  private fire(): void {
    this.timer = undefined;
    const now = this.clock.now();
    const due = [...this.waiting].filter(([, at]) => at <= now).sort((a, b) => a[1] - b[1]);
    for (const [key] of due) {
      this.waiting.delete(key);
      this.add(key);
    }
    this.arm();
  }
}
