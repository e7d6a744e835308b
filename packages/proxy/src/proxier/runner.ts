/**
 * kube's async.BoundedFrequencyRunner (pkg/util/async), which paces kube-proxy's syncProxyRules:
 * - run() asks for a run; asks that arrive while one is in progress coalesce into one more run
 *   after it (kube's one-slot channel);
 * - runs are rate-limited by a token bucket of `burstRuns` tokens refilled one per `minIntervalMs`
 *   (--min-sync-period, burst 2), so the first change after an idle period runs at once and a
 *   storm of changes runs at most every minIntervalMs;
 * - the function runs at least every `maxIntervalMs` (--sync-period) even when nothing asks;
 * - retryAfter(ms) brings the next run forward to at most ms from now (kube: a failed sync
 *   retries after --sync-period).
 * Time goes through an injected Clock, so tests step it by hand. The function is async; runs never
 * overlap.
 */
import type { Clock, TimerHandle } from "@skiff/client";

export interface BoundedFrequencyRunnerOptions {
  /** The shortest time between runs on average (0: no limit). */
  minIntervalMs: number;
  /** The longest time between runs. */
  maxIntervalMs: number;
  /** Runs allowed back to back before minIntervalMs applies (kube-proxy: 2). */
  burstRuns: number;
  clock: Clock;
  /** A run that threw (the runner goes on). */
  onError?(e: unknown): void;
}

export class BoundedFrequencyRunner {
  /** Invariant: 0 <= tokens <= burstRuns; refilled lazily at refill(). */
  private tokens: number;
  private refilledAt: number;
  private timer: { handle: TimerHandle; at: number } | undefined;
  /** A run is in progress (set before the function is called); at most one at a time. */
  private busy = false;
  private running: Promise<void> | undefined;
  /** run() was called while running: one more run (rate permitting) once it ends. */
  private pending = false;
  /** retryAfter() during a run: applied after the run resets the timer. */
  private retryAt: number | undefined;
  private started = false;
  private stopped = false;

  constructor(
    readonly name: string,
    private readonly fn: () => Promise<void>,
    private readonly opts: BoundedFrequencyRunnerOptions,
  ) {
    if (opts.burstRuns < 1) throw new Error(`${name}: burstRuns must be at least 1`);
    if (opts.maxIntervalMs < opts.minIntervalMs)
      throw new Error(`${name}: maxInterval must be >= minInterval`);
    this.tokens = opts.burstRuns;
    this.refilledAt = opts.clock.now();
  }

  /** Starts the periodic runs (kube's Loop): the first one maxIntervalMs from now. */
  loop(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.schedule(this.opts.maxIntervalMs);
  }

  /** Asks for a run as soon as the rate limit allows. */
  run(): void {
    if (this.stopped) return;
    this.tryRun();
  }

  /** Makes the next run happen no later than `ms` from now. */
  retryAfter(ms: number): void {
    if (this.stopped) return;
    const at = this.opts.clock.now() + ms;
    if (this.busy) {
      this.retryAt = Math.min(this.retryAt ?? at, at);
      return;
    }
    if (this.timer === undefined || at < this.timer.at) this.schedule(ms);
  }

  /** Stops timers; resolves once a run in progress has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.clearTimer();
    await this.running;
  }

  /** When the timer will next fire (ms since the epoch), for tests and logs. */
  nextRunAt(): number | undefined {
    return this.timer?.at;
  }

  isRunning(): boolean {
    return this.busy;
  }

  private refill(now: number): void {
    const { minIntervalMs, burstRuns } = this.opts;
    if (minIntervalMs <= 0) {
      this.tokens = burstRuns;
    } else {
      this.tokens = Math.min(burstRuns, this.tokens + (now - this.refilledAt) / minIntervalMs);
    }
    this.refilledAt = now;
  }

  private tryRun(): void {
    if (this.busy) {
      this.pending = true;
      return;
    }
    const now = this.opts.clock.now();
    this.refill(now);
    if (this.tokens >= 1) {
      this.tokens -= 1;
      this.start();
      return;
    }
    // Not allowed yet: run when the next token is there, or at the scheduled time if sooner.
    const wait = Math.ceil((1 - this.tokens) * this.opts.minIntervalMs);
    if (this.timer === undefined || now + wait < this.timer.at) this.schedule(wait);
  }

  private start(): void {
    this.clearTimer();
    this.pending = false;
    this.busy = true;
    this.running = this.invoke();
  }

  private async invoke(): Promise<void> {
    try {
      await this.fn();
    } catch (e) {
      this.opts.onError?.(e);
    }
    this.finished();
  }

  private finished(): void {
    this.busy = false;
    this.running = undefined;
    if (this.stopped) return;
    const now = this.opts.clock.now();
    // As kube's tryRun: after a run, the next periodic one is maxInterval away...
    this.schedule(this.opts.maxIntervalMs);
    // ...unless a retry asked for sooner, or a change came in meanwhile.
    if (this.retryAt !== undefined) {
      const at = this.retryAt;
      this.retryAt = undefined;
      if (at < now + this.opts.maxIntervalMs) this.schedule(Math.max(0, at - now));
    }
    if (this.pending) this.tryRun();
  }

  private schedule(ms: number): void {
    this.clearTimer();
    if (this.stopped) return;
    const at = this.opts.clock.now() + ms;
    const handle = this.opts.clock.setTimeout(() => {
      this.timer = undefined;
      this.tryRun();
    }, ms);
    this.timer = { handle, at };
  }

  private clearTimer(): void {
    if (this.timer !== undefined) this.opts.clock.clearTimeout(this.timer.handle);
    this.timer = undefined;
  }
}
