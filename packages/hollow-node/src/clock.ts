/**
 * Time as the hollow nodes see it: the wall clock for timestamps, timers for the scheduler tick and
 * retries. Injected (as client-go's clock.Clock) so the wheel, the limiter and the work queue can
 * be driven step by step in tests.
 */

export interface Clock {
  /** Milliseconds since the epoch: for the timestamps written to the API. */
  now(): number;
  /** Milliseconds from an arbitrary start that never goes back: for periods and rates. */
  monotonic(): number;
  setTimeout(f: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  setTimeout: (f, ms) => setTimeout(f, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** metav1.MicroTime as the API writes it (RFC 3339 with microseconds): Lease renewTime. */
export { microTime } from "@skiff/client";
