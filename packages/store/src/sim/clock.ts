import type { Scheduler } from "@skiff/raft/sim";
import type { Clock } from "../raftnode/clock.js";

/**
 * The node loop's clock in simulation: virtual milliseconds on the shared Scheduler. A clock
 * belongs to one member; `crash()` cancels all its timers, as a process death would.
 */
export class SimClock implements Clock {
  private generation = 0;

  constructor(private readonly sched: Scheduler) {}

  now(): number {
    return this.sched.now;
  }

  every(ms: number, fn: () => void): () => void {
    const gen = this.generation;
    let cancelled = false;
    const fire = () => {
      if (cancelled || gen !== this.generation) return;
      fn();
      this.sched.after(ms, fire);
    };
    this.sched.after(ms, fire);
    return () => {
      cancelled = true;
    };
  }

  after(ms: number, fn: () => void): () => void {
    const gen = this.generation;
    let cancelled = false;
    this.sched.after(ms, () => {
      if (!cancelled && gen === this.generation) fn();
    });
    return () => {
      cancelled = true;
    };
  }

  /** Cancels every timer of this clock (the member died). */
  crash(): void {
    this.generation++;
  }
}
