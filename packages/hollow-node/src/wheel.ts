/**
 * A timer wheel: members spread evenly over a period, one slot per tick, so that one timer visits
 * 5,000 nodes as 50 every 100 ms instead of 5,000 intervals firing (or, started together, firing
 * at once). Each member's place is fixed by its position in [0, 1); a member is visited once per
 * period. A late tick visits every slot it missed, each at most once.
 */

export class Wheel<T> {
  private readonly slots: T[][];
  private readonly slotMs: number;
  /** Slots visited since t0. Invariant: only grows. */
  private visited = 0;

  constructor(
    readonly periodMs: number,
    tickMs: number,
    private readonly t0: number,
  ) {
    const n = Math.max(1, Math.round(periodMs / tickMs));
    this.slots = Array.from({ length: n }, () => []);
    this.slotMs = periodMs / n;
  }

  get slotCount(): number {
    return this.slots.length;
  }

  /** Places a member at `position` in [0, 1) of the period. */
  add(item: T, position: number): void {
    const n = this.slots.length;
    const slot = Math.min(n - 1, Math.max(0, Math.floor(position * n)));
    (this.slots[slot] as T[]).push(item);
  }

  /** Calls visit for every member whose slot came since the last call (t0 counts as visited). */
  advance(now: number, visit: (item: T) => void): void {
    const n = this.slots.length;
    const target = Math.floor((now - this.t0) / this.slotMs);
    if (target <= this.visited) return;
    const from = Math.max(this.visited + 1, target - n + 1);
    this.visited = target;
    for (let s = from; s <= target; s++) for (const item of this.slots[s % n] as T[]) visit(item);
  }
}
