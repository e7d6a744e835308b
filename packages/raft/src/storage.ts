import { assert, CompactedError, SnapOutOfDateError, UnavailableError } from "./errors.js";
import type { ConfState, Entry, HardState, Snapshot } from "./types.js";
import { EntryType } from "./types.js";
import { confStateEqual } from "./util.js";

/**
 * The stable storage the core reads from (etcd's raft.Storage). The application writes to it
 * while handling a Ready; the core only reads. Indexes below firstIndex() are compacted.
 */
export interface Storage {
  initialState(): { hardState: HardState; confState: ConfState };
  /** Entries in [lo, hi), at most maxSize bytes of data but always at least one entry. */
  entries(lo: number, hi: number, maxSize: number): Entry[];
  /** Term of the entry at i; i may be firstIndex()-1 (the snapshot's term). */
  term(i: number): number;
  lastIndex(): number;
  firstIndex(): number;
  snapshot(): Snapshot;
}

export const emptyHardState: HardState = { term: 0, vote: 0, commit: 0 };
export const emptyConfState: ConfState = { voters: [], learners: [] };
export const emptySnapshot: Snapshot = {
  metadata: { index: 0, term: 0, confState: emptyConfState },
  data: new Uint8Array(0),
};

/** Bytes of an entry, for size limits on messages and batches. */
export function entrySize(e: Entry): number {
  return e.data.length + 24;
}

/** Cuts ents to at most maxSize bytes, keeping at least one entry. */
export function limitSize(ents: Entry[], maxSize: number): Entry[] {
  if (ents.length === 0) return ents;
  let size = entrySize(ents[0] as Entry);
  let n = 1;
  for (; n < ents.length; n++) {
    size += entrySize(ents[n] as Entry);
    if (size > maxSize) break;
  }
  return n === ents.length ? ents : ents.slice(0, n);
}

/**
 * An in-memory Storage (etcd's MemoryStorage). ents[0] is a dummy entry holding the index and
 * term of the last compacted entry (the snapshot's).
 */
export class MemoryStorage implements Storage {
  hardState: HardState = emptyHardState;
  snap: Snapshot = emptySnapshot;
  private ents: Entry[] = [{ term: 0, index: 0, type: EntryType.Normal, data: new Uint8Array(0) }];

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: this.hardState, confState: this.snap.metadata.confState };
  }

  setHardState(hs: HardState): void {
    this.hardState = hs;
  }

  private offset(): number {
    return (this.ents[0] as Entry).index;
  }

  entries(lo: number, hi: number, maxSize: number): Entry[] {
    const offset = this.offset();
    if (lo <= offset) throw new CompactedError();
    if (hi > this.lastIndex() + 1) throw new UnavailableError();
    return limitSize(this.ents.slice(lo - offset, hi - offset), maxSize);
  }

  term(i: number): number {
    const offset = this.offset();
    if (i < offset) throw new CompactedError();
    if (i - offset >= this.ents.length) throw new UnavailableError();
    return (this.ents[i - offset] as Entry).term;
  }

  lastIndex(): number {
    return this.offset() + this.ents.length - 1;
  }

  firstIndex(): number {
    return this.offset() + 1;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /** Replaces the contents with a snapshot (a follower installing the leader's). */
  applySnapshot(snap: Snapshot): void {
    if (this.snap.metadata.index >= snap.metadata.index) throw new SnapOutOfDateError();
    this.snap = snap;
    this.ents = [
      {
        term: snap.metadata.term,
        index: snap.metadata.index,
        type: EntryType.Normal,
        data: new Uint8Array(0),
      },
    ];
  }

  /** Records a snapshot of the application's state at index i (i <= last applied). */
  createSnapshot(i: number, confState: ConfState, data: Uint8Array): Snapshot {
    if (i <= this.snap.metadata.index) throw new SnapOutOfDateError();
    assert(i <= this.lastIndex(), `snapshot ${i} is out of bound lastindex(${this.lastIndex()})`);
    this.snap = { metadata: { index: i, term: this.term(i), confState }, data };
    return this.snap;
  }

  /** Discards entries before compactIndex; the entry at compactIndex becomes the dummy. */
  compact(compactIndex: number): void {
    const offset = this.offset();
    if (compactIndex <= offset) throw new CompactedError();
    assert(
      compactIndex <= this.lastIndex(),
      `compact ${compactIndex} is out of bound lastindex(${this.lastIndex()})`,
    );
    const i = compactIndex - offset;
    const head = this.ents[i] as Entry;
    this.ents = [
      { term: head.term, index: head.index, type: EntryType.Normal, data: new Uint8Array(0) },
      ...this.ents.slice(i + 1),
    ];
  }

  /** Appends entries, truncating any existing suffix they conflict with. */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    const last = (entries[0] as Entry).index + entries.length - 1;
    if (last < first) return; // all compacted already
    let ents = entries;
    if (first > (ents[0] as Entry).index) ents = ents.slice(first - (ents[0] as Entry).index);
    const offset = (ents[0] as Entry).index - this.offset();
    assert(
      offset <= this.ents.length,
      `missing log entry [last: ${this.lastIndex()}, append at: ${(ents[0] as Entry).index}]`,
    );
    if (offset < this.ents.length) this.ents.length = offset;
    for (const e of ents) this.ents.push(e);
  }

  /** Whether the snapshot's configuration matches (for tests and sanity checks). */
  confStateIs(cs: ConfState): boolean {
    return confStateEqual(this.snap.metadata.confState, cs);
  }
}
