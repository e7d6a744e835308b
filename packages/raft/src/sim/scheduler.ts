/**
 * A discrete-event scheduler on simulated time (FoundationDB / TigerBeetle style). Events run in
 * (time, seq) order: two events at the same millisecond run in the order they were scheduled, so a
 * run is a pure function of the seed. There is no wall clock anywhere in the simulator.
 */

export type EventFn = () => void;

interface SimEvent {
  readonly time: number;
  readonly seq: number;
  readonly fn: EventFn;
}

/** Put a limit on everything: a runaway schedule is a simulator bug, not a slow test. */
const maxPendingEvents = 1_000_000;
/** Events in one run: far above what a run needs, so hitting it means a message storm. */
const maxEvents = 20_000_000;

export class Scheduler {
  /** Simulated milliseconds since the start of the run. */
  now = 0;
  /** Events run so far (a cheap measure of work). */
  executed = 0;
  private seq = 0;
  private readonly heap: SimEvent[] = [];

  get pending(): number {
    return this.heap.length;
  }

  /** Runs fn at simulated time `time` (never in the past). */
  at(time: number, fn: EventFn): void {
    if (!(time >= this.now) || !Number.isFinite(time))
      throw new Error(`scheduler: cannot schedule at ${time} (now ${this.now})`);
    if (this.heap.length >= maxPendingEvents) throw new Error("scheduler: too many pending events");
    this.push({ time, seq: this.seq++, fn });
  }

  after(delay: number, fn: EventFn): void {
    this.at(this.now + Math.max(0, delay), fn);
  }

  /** Runs every event due at or before `end`, calling afterEach after each one; then time is `end`. */
  runUntil(end: number, afterEach?: () => boolean | undefined): void {
    for (;;) {
      const top = this.heap[0];
      if (top === undefined || top.time > end) break;
      this.pop();
      this.now = top.time;
      if (++this.executed > maxEvents)
        throw new Error(`scheduler: more than ${maxEvents} events (a message storm?)`);
      top.fn();
      if (afterEach?.() === true) return;
    }
    if (end > this.now) this.now = end;
  }

  private less(a: SimEvent, b: SimEvent): boolean {
    return a.time < b.time || (a.time === b.time && a.seq < b.seq);
  }

  private push(ev: SimEvent): void {
    const h = this.heap;
    h.push(ev);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = h[parent] as SimEvent;
      if (!this.less(ev, p)) break;
      h[i] = p;
      i = parent;
    }
    h[i] = ev;
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop() as SimEvent;
    if (h.length === 0) return;
    let i = 0;
    const n = h.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && this.less(h[r] as SimEvent, h[l] as SimEvent) ? r : l;
      if (!this.less(h[c] as SimEvent, last)) break;
      h[i] = h[c] as SimEvent;
      i = c;
    }
    h[i] = last;
  }
}
