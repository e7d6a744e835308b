/**
 * The request ids applied in the last `window` log entries. A member re-proposes its unapplied
 * proposals when the leader changes (a forwarded proposal may have been dropped by a leader that
 * was handing over), so an entry can appear twice in the log; the second is skipped. Every member
 * applies the same log, and this state travels in snapshots, so all skip the same entries.
 */
export class AppliedRequests {
  private readonly ids = new Map<bigint, number>();
  /** Ids in apply order, for pruning from the front. */
  private order: bigint[] = [];
  private head = 0;

  constructor(readonly window = 50_000) {}

  has(id: bigint): boolean {
    return this.ids.has(id);
  }

  add(id: bigint, index: number): void {
    this.ids.set(id, index);
    this.order.push(id);
    // Forget ids applied more than `window` entries ago.
    while (this.head < this.order.length) {
      const old = this.order[this.head] as bigint;
      const at = this.ids.get(old);
      if (at !== undefined && at > index - this.window) break;
      this.ids.delete(old);
      this.head++;
    }
    if (this.head > 4096 && this.head * 2 > this.order.length) {
      this.order = this.order.slice(this.head);
      this.head = 0;
    }
  }

  entries(): [bigint, number][] {
    return this.order.slice(this.head).map((id) => [id, this.ids.get(id) as number]);
  }

  restore(entries: readonly [bigint, number][]): void {
    this.ids.clear();
    this.order = [];
    this.head = 0;
    for (const [id, index] of entries) {
      this.ids.set(id, index);
      this.order.push(id);
    }
  }
}
