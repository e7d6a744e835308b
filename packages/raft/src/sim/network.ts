/**
 * The simulated network: every message gets a delay drawn from the seed, and may be dropped,
 * duplicated or held back (so later messages overtake it). Links can be cut one way (asymmetric
 * partitions) or both ways; cuts are counted, so overlapping partitions heal independently. A
 * message is checked against the cuts when it arrives, as a packet would be.
 */
import type { Message, NodeId, SeededRand } from "../index.js";
import { fmtMessage } from "./format.js";
import type { NetworkOptions } from "./options.js";
import type { Scheduler } from "./scheduler.js";
import type { Trace } from "./trace.js";

export interface NetworkStats {
  sent: number;
  delivered: number;
  dropped: number;
  duplicated: number;
}

/** What the network needs from the cluster. */
export interface NetworkHost {
  /** Hands an arrived message to its node (which may be down, paused or gone). */
  arrive(m: Message): void;
  /** Tells the sender's transport that m was lost; `unreachable` when a connection broke (cut link, peer down). */
  lost(m: Message, unreachable: boolean): void;
}

/** A temporary degradation window (the "lossy" fault). */
interface Lossy {
  readonly until: number;
  readonly dropRate: number;
  readonly dupRate: number;
}

const linkKey = (from: NodeId, to: NodeId) => from * 1024 + to;

export class SimNetwork {
  readonly stats: NetworkStats = { sent: 0, delivered: 0, dropped: 0, duplicated: 0 };
  private readonly cuts = new Map<number, number>();
  private lossy: Lossy[] = [];
  /** After the heal: no random drops, duplicates or hold-backs (delays stay). */
  healed = false;

  constructor(
    private readonly opts: NetworkOptions,
    private readonly rand: SeededRand,
    private readonly sched: Scheduler,
    private readonly trace: Trace,
    private readonly host: NetworkHost,
  ) {}

  cut(from: NodeId, to: NodeId): void {
    const k = linkKey(from, to);
    this.cuts.set(k, (this.cuts.get(k) ?? 0) + 1);
  }

  uncut(from: NodeId, to: NodeId): void {
    const k = linkKey(from, to);
    const n = (this.cuts.get(k) ?? 0) - 1;
    if (n <= 0) this.cuts.delete(k);
    else this.cuts.set(k, n);
  }

  isCut(from: NodeId, to: NodeId): boolean {
    return this.cuts.has(linkKey(from, to));
  }

  addLossy(durationMs: number, dropRate: number, dupRate: number): void {
    this.lossy.push({ until: this.sched.now + durationMs, dropRate, dupRate });
  }

  /** Removes every cut and degradation: the heal at the end of the fault phase. */
  healAll(): void {
    this.cuts.clear();
    this.lossy = [];
    this.healed = true;
  }

  private rates(): { drop: number; dup: number; reorder: number } {
    if (this.healed) return { drop: 0, dup: 0, reorder: 0 };
    const now = this.sched.now;
    this.lossy = this.lossy.filter((l) => l.until > now);
    let drop = this.opts.dropRate;
    let dup = this.opts.dupRate;
    for (const l of this.lossy) {
      drop = Math.max(drop, l.dropRate);
      dup = Math.max(dup, l.dupRate);
    }
    return { drop, dup, reorder: this.opts.reorderRate };
  }

  send(m: Message): void {
    this.stats.sent++;
    const r = this.rates();
    if (r.drop > 0 && this.rand.float() < r.drop) {
      this.stats.dropped++;
      if (this.trace.on) this.trace.add(`n${m.from} send ${fmtMessage(m)} ->n${m.to} DROPPED(random)`);
      this.host.lost(m, false);
      return;
    }
    // A wire copy: the receiver must not share arrays with the sender's log (as after encoding).
    const wire: Message = { ...m, entries: m.entries.slice() };
    const delay = this.delay(r.reorder);
    if (this.trace.on) this.trace.add(`n${m.from} send ${fmtMessage(m)} ->n${m.to} delay=${delay}`);
    this.sched.after(delay, () => this.arrive(wire));
    if (r.dup > 0 && this.rand.float() < r.dup) {
      this.stats.duplicated++;
      const again = this.delay(r.reorder);
      if (this.trace.on) this.trace.add(`n${m.from} dup ${fmtMessage(m)} ->n${m.to} delay=${again}`);
      this.sched.after(again, () => this.arrive({ ...wire }));
    }
  }

  private delay(reorderRate: number): number {
    const o = this.opts;
    let d = o.minDelayMs + this.rand.intn(o.maxDelayMs - o.minDelayMs + 1);
    if (reorderRate > 0 && this.rand.float() < reorderRate) d += 1 + this.rand.intn(o.reorderDelayMs);
    return d;
  }

  private arrive(m: Message): void {
    if (this.isCut(m.from, m.to)) {
      this.stats.dropped++;
      if (this.trace.on) this.trace.add(`n${m.to} lost ${fmtMessage(m)} <-n${m.from} (partition)`);
      this.host.lost(m, true);
      return;
    }
    this.stats.delivered++;
    this.host.arrive(m);
  }
}
