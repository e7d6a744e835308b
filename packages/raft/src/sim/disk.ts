/**
 * The simulated disk: a node's MemoryStorage IS its disk. A write (one Ready) takes simulated time;
 * only a completed write is on the disk, so a crash loses the write in flight (or, with torn
 * writes, keeps a prefix of its entries but never its hard state, as a WAL with a torn tail whose
 * last record fails its checksum).
 */
import { type Entry, type HardState, MemoryStorage, type SeededRand, type Snapshot } from "../index.js";
import type { DiskOptions } from "./options.js";

/** Whether storage holds entry (index, term) durably, or a snapshot that covers it. */
export function persistedHas(s: MemoryStorage, index: number, term: number): boolean {
  if (s.snapshot().metadata.index >= index) return true;
  if (index < s.firstIndex() || index > s.lastIndex()) return false;
  return s.term(index) === term;
}

/** A copy of a storage, for the broken disk that forgets completed writes. */
export function cloneStorage(s: MemoryStorage): MemoryStorage {
  const c = new MemoryStorage();
  const snap = s.snapshot();
  if (snap.metadata.index > 0) c.applySnapshot(snap);
  else c.snap = snap; // the bootstrap snapshot (index 0) carries the initial membership
  const lo = Math.max(s.firstIndex(), snap.metadata.index + 1);
  const hi = s.lastIndex() + 1;
  if (hi > lo) c.append(s.entries(lo, hi, Number.MAX_SAFE_INTEGER));
  c.setHardState(s.hardState);
  return c;
}

/** What one Ready asks to write. */
export interface DiskWrite {
  readonly snapshot?: Snapshot;
  readonly entries: readonly Entry[];
  readonly hardState?: HardState;
}

export class SimDisk {
  /** Until this time, writes take slowLatencyMs (the "slowDisk" fault). */
  slowUntil = 0;
  slowLatencyMs = 0;

  constructor(
    private readonly opts: DiskOptions,
    private readonly rand: SeededRand,
  ) {}

  /** Simulated milliseconds the next write takes. */
  latency(now: number): number {
    const o = this.opts;
    const base = o.minLatencyMs + this.rand.intn(o.maxLatencyMs - o.minLatencyMs + 1);
    return now < this.slowUntil ? base + this.slowLatencyMs : base;
  }

  /**
   * How many entries of an interrupted write reach the disk: none, or with torn writes a random
   * prefix (a snapshot write is all or nothing: it is installed by a rename).
   */
  tornPrefix(w: DiskWrite): number {
    if (!this.opts.tornWrites || w.snapshot !== undefined || w.entries.length === 0) return 0;
    return this.rand.intn(w.entries.length + 1);
  }
}
