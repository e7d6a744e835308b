/** Time as the node loop sees it: real, or the simulator's virtual time. */
export interface Clock {
  /** Milliseconds, monotonic. */
  now(): number;
  /** Calls fn every `ms` until the returned function is called. */
  every(ms: number, fn: () => void): () => void;
  /** Calls fn once after `ms` unless the returned function is called first. */
  after(ms: number, fn: () => void): () => void;
}

export const realClock: Clock = {
  now: () => performance.now(),
  every(ms, fn) {
    const timer = setInterval(fn, ms);
    return () => clearInterval(timer);
  },
  after(ms, fn) {
    const timer = setTimeout(fn, ms);
    // A pending request timeout must not keep a stopping process alive.
    timer.unref();
    return () => clearTimeout(timer);
  },
};
