/**
 * The scheduling queue's clock (the role of k8s.io/utils/clock in kube's PriorityQueue): time in
 * milliseconds and one-shot timers, so that backoff and the periodic flushes run on a fake clock
 * in tests. Structurally the same shape as client-go's workqueue clock (`now()` in ms).
 */
export interface Clock {
  /** Milliseconds since the epoch (or any fixed origin: only differences matter). */
  now(): number;
  /** Calls f once after ms; returns a handle for clearTimeout. */
  setTimeout(f: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The wall clock and Node's timers. */
export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (f, ms) => setTimeout(f, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};
