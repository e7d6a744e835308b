/**
 * The clock every timing decision of the client machinery goes through (work queue delays, rate
 * limiters, leader election, event correlation), as client-go's k8s.io/utils/clock: a real one
 * for production and a FakeClock that tests step by hand, so timing logic is tested without
 * sleeping.
 */

/** An opaque timer handle, only meaningful to the clock that made it. */
export type TimerHandle = object;

export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** The wall clock and Node's timers. */
export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, Math.max(0, ms)),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

interface FakeTimer {
  readonly at: number;
  /** Creation order: timers due at the same time fire in the order they were set. */
  readonly seq: number;
  readonly fn: () => void;
}

/**
 * A clock that moves only when told to (client-go's testing clock.FakeClock): `step(ms)` fires
 * every timer that falls due, in due-time order, with `now()` set to each one's due time as it
 * fires, including timers set by the callbacks themselves.
 */
export class FakeClock implements Clock {
  private time: number;
  private seq = 0;
  private readonly timers = new Set<FakeTimer>();

  constructor(startMs = 0) {
    this.time = startMs;
  }

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const t: FakeTimer = { at: this.time + Math.max(0, ms), seq: this.seq++, fn };
    this.timers.add(t);
    return t;
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers.delete(handle as FakeTimer);
  }

  /** Timers set and not yet fired or cleared. */
  get pendingTimers(): number {
    return this.timers.size;
  }

  /** When the earliest pending timer falls due, if any. */
  nextTimerAt(): number | undefined {
    return this.earliest()?.at;
  }

  /** Moves time forward by `ms`, firing what falls due on the way. */
  step(ms: number): void {
    if (ms < 0) throw new Error(`FakeClock.step: negative step ${ms}`);
    this.setTime(this.time + ms);
  }

  /** Moves time to `ms` (never backwards), firing what falls due on the way. */
  setTime(ms: number): void {
    if (ms < this.time) throw new Error(`FakeClock.setTime: ${ms} is before now (${this.time})`);
    for (let t = this.earliest(); t !== undefined && t.at <= ms; t = this.earliest()) {
      this.timers.delete(t);
      this.time = t.at;
      t.fn();
    }
    this.time = ms;
  }

  private earliest(): FakeTimer | undefined {
    let best: FakeTimer | undefined;
    for (const t of this.timers)
      if (best === undefined || t.at < best.at || (t.at === best.at && t.seq < best.seq)) best = t;
    return best;
  }
}

/**
 * Waits `ms` on `clock`; resolves true when the time has passed, false as soon as `signal`
 * aborts (the timer is cleared then).
 */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted === true) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      clock.clearTimeout(handle);
      resolve(false);
    };
    const handle = clock.setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
