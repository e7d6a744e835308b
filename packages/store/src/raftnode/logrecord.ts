/**
 * The on-disk format of the Raft log, shared by the LevelDB store and the simulator's disk so both
 * write the same bytes and detect the same damage (docs/storage.md describes it in prose).
 *
 * Keys (byte strings, so LevelDB's order is this order):
 *   "H"                      hard state
 *   "S"                      snapshot (metadata and data in one record)
 *   "e" + 8-byte big-endian  the entries one save wrote, under the index of the first of them:
 *                            iteration yields them in index order
 * "H" < "S" < "e", so one ordered scan sees the hard state and the snapshot before any entry.
 * A record of entries holds the entries from its key's index up to the index before the next
 * record's key (a later save that truncated the log supersedes the rest), the last one all of its own.
 *
 * Record (every value):
 *   [0..4)  CRC-32 (big-endian) of bytes [4..end)
 *   [4]     format version (1)
 *   [5]     record type (1 hard state, 2 snapshot, 3 one entry, 4 entries): a record under the
 *           wrong kind of key is caught
 *   [6..)   msgpack body: entries [firstIndex, [[term, type, data], ...]] (its first index, so a
 *           record found under another index's key is caught), hard state [term, vote, commit],
 *           snapshot [index, term, voters, learners, data]; one entry [index, term, type, data]
 *           is what versions before the entries record wrote, one record per entry (still read)
 */
import {
  assert,
  type Entry,
  EntryType,
  emptyHardState,
  emptySnapshot,
  type HardState,
  type Snapshot,
} from "@skiff/raft";
import { Packr } from "msgpackr";
import { crc32 } from "./crc32.js";
import { CorruptionError, type LogUpdate, type PersistedState } from "./logstore.js";

export const FORMAT_VERSION = 1;
export enum RecordType {
  HardState = 1,
  Snapshot = 2,
  /** One entry per record: written by earlier versions, still read. */
  Entry = 3,
  /** The entries of one save. */
  Entries = 4,
}
const HEADER = 6;

/** One write of a batch; the same shape as abstract-level's batch operations. */
export type LogOp =
  | { readonly type: "put"; readonly key: Uint8Array; readonly value: Uint8Array }
  | { readonly type: "del"; readonly key: Uint8Array };

export const HARD_STATE_KEY: Uint8Array = Uint8Array.of(0x48); // "H"
export const SNAPSHOT_KEY: Uint8Array = Uint8Array.of(0x53); // "S"
const ENTRY_PREFIX = 0x65; // "e"
const ENTRY_KEY_LENGTH = 9;

export function entryKey(index: number): Uint8Array {
  const key = new Uint8Array(ENTRY_KEY_LENGTH);
  key[0] = ENTRY_PREFIX;
  const view = new DataView(key.buffer);
  // Two 32-bit halves: indexes are safe integers (< 2^53), and big-endian keeps byte order = index order.
  view.setUint32(1, Math.floor(index / 0x1_0000_0000));
  view.setUint32(5, index >>> 0);
  return key;
}

/** The bounds of every possible entry key, for range scans. */
export const ENTRY_KEY_MIN: Uint8Array = entryKey(0);
export const ENTRY_KEY_MAX: Uint8Array = new Uint8Array(ENTRY_KEY_LENGTH).fill(0xff);
ENTRY_KEY_MAX[0] = ENTRY_PREFIX;

export type ParsedKey =
  | { readonly kind: "hardState" }
  | { readonly kind: "snapshot" }
  | { readonly kind: "entry"; readonly index: number };

/** What a stored key names, or undefined for a key this format never writes. */
export function parseKey(key: Uint8Array): ParsedKey | undefined {
  if (key.length === 1 && key[0] === HARD_STATE_KEY[0]) return { kind: "hardState" };
  if (key.length === 1 && key[0] === SNAPSHOT_KEY[0]) return { kind: "snapshot" };
  if (key.length !== ENTRY_KEY_LENGTH || key[0] !== ENTRY_PREFIX) return undefined;
  const view = new DataView(key.buffer, key.byteOffset, key.byteLength);
  const index = view.getUint32(1) * 0x1_0000_0000 + view.getUint32(5);
  return Number.isSafeInteger(index) ? { kind: "entry", index } : undefined;
}

/** Printable form of a key, for messages. */
export function describeKey(key: Uint8Array): string {
  const parsed = parseKey(key);
  if (parsed === undefined) return `unknown key 0x${Buffer.from(key).toString("hex")}`;
  return parsed.kind === "entry" ? `entry key ${parsed.index}` : `${parsed.kind} key`;
}

// useRecords: false keeps the bodies plain msgpack arrays, readable by any msgpack tool.
const packr = new Packr({ useRecords: false });

function encodeRecord(type: RecordType, body: unknown): Uint8Array {
  const packed = packr.pack(body);
  // A fresh buffer: msgpackr's output may be a view into a buffer it reuses.
  const record = new Uint8Array(HEADER + packed.length);
  record[4] = FORMAT_VERSION;
  record[5] = type;
  record.set(packed, HEADER);
  new DataView(record.buffer).setUint32(0, crc32(record.subarray(4)));
  return record;
}

/** One record for the entries of one save (one LevelDB operation, however many entries). */
export function encodeEntries(entries: readonly Entry[]): Uint8Array {
  const first = entries[0];
  assert(first !== undefined, "encodeEntries: no entries");
  return encodeRecord(RecordType.Entries, [first.index, entries.map((e) => [e.term, e.type, e.data])]);
}

/** The single-entry record of earlier versions (tests write it to check it is still read). */
export const encodeEntry = (e: Entry): Uint8Array =>
  encodeRecord(RecordType.Entry, [e.index, e.term, e.type, e.data]);

export const encodeHardState = (hs: HardState): Uint8Array =>
  encodeRecord(RecordType.HardState, [hs.term, hs.vote, hs.commit]);

export function encodeSnapshot(s: Snapshot): Uint8Array {
  const m = s.metadata;
  return encodeRecord(RecordType.Snapshot, [
    m.index,
    m.term,
    m.confState.voters,
    m.confState.learners,
    s.data,
  ]);
}

/** A record failed verification; the caller turns it into a CorruptionError naming file and index. */
export class RecordError extends Error {}

/** Checks the CRC, version and type, and returns the decoded msgpack body. */
function decodeRecord(record: Uint8Array, want: RecordType): unknown {
  if (record.length < HEADER + 1) throw new RecordError(`record is ${record.length} bytes: too short`);
  const view = new DataView(record.buffer, record.byteOffset, record.byteLength);
  const stored = view.getUint32(0);
  const actual = crc32(record.subarray(4));
  if (stored !== actual) {
    throw new RecordError(`checksum mismatch: stored crc32 ${hex(stored)}, computed ${hex(actual)}`);
  }
  if (record[4] !== FORMAT_VERSION) throw new RecordError(`unknown format version ${record[4]}`);
  if (record[5] !== want) {
    throw new RecordError(
      `record of type ${RecordType[record[5] as number] ?? record[5]} where ${RecordType[want]} belongs`,
    );
  }
  try {
    return packr.unpack(record.subarray(HEADER));
  } catch (err) {
    throw new RecordError(`undecodable body: ${err instanceof Error ? err.message : String(err)}`);
  }
}

const hex = (n: number) => `0x${n.toString(16).padStart(8, "0")}`;

function isIndex(n: unknown): n is number {
  return typeof n === "number" && Number.isSafeInteger(n) && n >= 0;
}

function isIdList(a: unknown): a is number[] {
  return Array.isArray(a) && a.every(isIndex);
}

/** A copy as a plain Uint8Array: msgpackr hands back Buffers that share the record's memory. */
function bytes(b: unknown): Uint8Array {
  if (!(b instanceof Uint8Array)) throw new RecordError("data is not a byte string");
  return new Uint8Array(b);
}

function toEntry(index: unknown, term: unknown, type: unknown, data: unknown): Entry {
  if (!isIndex(index) || !isIndex(term)) throw new RecordError("entry index or term is not a number");
  if (typeof type !== "number" || EntryType[type] === undefined)
    throw new RecordError(`unknown entry type ${type}`);
  return { index, term, type: type as EntryType, data: bytes(data) };
}

/** The entries of a record stored under an entry key, in index order (never empty). */
export function decodeEntries(record: Uint8Array): Entry[] {
  if (record[5] === RecordType.Entry) {
    const body = decodeRecord(record, RecordType.Entry);
    if (!Array.isArray(body) || body.length !== 4)
      throw new RecordError("entry body is not [index, term, type, data]");
    const [index, term, type, data] = body as unknown[];
    return [toEntry(index, term, type, data)];
  }
  const body = decodeRecord(record, RecordType.Entries);
  if (!Array.isArray(body) || body.length !== 2 || !Array.isArray(body[1]) || body[1].length === 0)
    throw new RecordError("entries body is not [firstIndex, [[term, type, data], ...]]");
  const [first, list] = body as [unknown, unknown[]];
  if (!isIndex(first)) throw new RecordError("first entry index is not a number");
  return list.map((e, i) => {
    if (!Array.isArray(e) || e.length !== 3) throw new RecordError("entry is not [term, type, data]");
    return toEntry(first + i, e[0], e[1], e[2]);
  });
}

export function decodeHardState(record: Uint8Array): HardState {
  const body = decodeRecord(record, RecordType.HardState);
  if (!Array.isArray(body) || body.length !== 3 || !body.every(isIndex)) {
    throw new RecordError("hard state body is not [term, vote, commit]");
  }
  const [term, vote, commit] = body as number[];
  return { term: term as number, vote: vote as number, commit: commit as number };
}

export function decodeSnapshot(record: Uint8Array): Snapshot {
  const body = decodeRecord(record, RecordType.Snapshot);
  if (!Array.isArray(body) || body.length !== 5) throw new RecordError("snapshot body has the wrong shape");
  const [index, term, voters, learners, data] = body as unknown[];
  if (!isIndex(index) || !isIndex(term) || !isIdList(voters) || !isIdList(learners)) {
    throw new RecordError("snapshot metadata has the wrong types");
  }
  return { metadata: { index, term, confState: { voters, learners } }, data: bytes(data) };
}

/**
 * Which entries are stored: exactly the indexes [first, last] (none when last < first), in the
 * records whose keys are `runs`, plus the snapshot's index. Kept in memory so a save deletes
 * exactly the stale records without a read. Entries in [first, snapshotIndex] may remain after a
 * compaction (kept for slow followers, and in records that also hold newer entries).
 */
export interface LogBounds {
  readonly snapshotIndex: number;
  readonly first: number;
  readonly last: number;
  /**
   * The key index of every stored entry record, ascending (runs[0] === first when any). Owned by
   * the store: a plan's commit() updates it in place (no copy per save of a long list).
   */
  readonly runs: number[];
}

/** A batch to write, and commit(): the bounds once it is written (call it once, after the write). */
export interface WritePlan {
  readonly ops: LogOp[];
  commit(): LogBounds;
}

/** The last index held by record k of `runs` (the index before the next record's key). */
function runEnd(b: LogBounds, k: number): number {
  const next = b.runs[k + 1];
  return next === undefined ? b.last : next - 1;
}

const del = (index: number): LogOp => ({ type: "del", key: entryKey(index) });

/**
 * The one batch a LogUpdate (one Ready) writes: a leader's snapshot deletes the whole log, new
 * entries go in one record under their first index and supersede any stored suffix from there
 * (Raft §5.3: a conflicting entry and all that follow it go; records starting after it are
 * deleted, and a record holding both older and superseded entries ends where the new one
 * begins), and the hard state is rewritten.
 */
export function planSave(b: LogBounds, u: LogUpdate): WritePlan {
  const ops: LogOp[] = [];
  let { snapshotIndex, first, last } = b;
  /** Records b.runs[0..keep) stay. */
  let keep = b.runs.length;
  if (u.snapshot !== undefined) {
    const si = u.snapshot.metadata.index;
    assert(si >= snapshotIndex, `snapshot ${si} is older than the stored snapshot ${snapshotIndex}`);
    // etcd's raftLog.restore: a snapshot is only sent when the log does not match at its index,
    // so nothing of the old log survives it.
    for (const r of b.runs) ops.push(del(r));
    keep = 0;
    ops.push({ type: "put", key: SNAPSHOT_KEY, value: encodeSnapshot(u.snapshot) });
    snapshotIndex = si;
    first = si + 1;
    last = si;
  }
  let start: number | undefined;
  if (u.entries.length > 0) {
    const lo = (u.entries[0] as Entry).index;
    assert(lo > snapshotIndex, `entries from ${lo} rewrite the snapshot at ${snapshotIndex}`);
    assert(
      lo >= first && lo <= last + 1,
      `entries from ${lo} do not join the stored log [${first}, ${last}]`,
    );
    u.entries.forEach((e, i) => {
      assert(e.index === lo + i, `entries are not contiguous at ${lo + i} (got ${e.index})`);
    });
    ops.push({ type: "put", key: entryKey(lo), value: encodeEntries(u.entries) });
    let k = keep;
    while (k > 0 && (b.runs[k - 1] as number) >= lo) k--;
    // The record under lo's key was just replaced; those after it hold only superseded entries.
    for (let i = k; i < keep; i++) if (b.runs[i] !== lo) ops.push(del(b.runs[i] as number));
    keep = k;
    if (keep === 0) first = lo;
    start = lo;
    last = lo + u.entries.length - 1;
  }
  if (u.hardState !== undefined) {
    ops.push({ type: "put", key: HARD_STATE_KEY, value: encodeHardState(u.hardState) });
  }
  const runs = b.runs;
  return {
    ops,
    commit: () => {
      runs.length = keep;
      if (start !== undefined) runs.push(start);
      return { snapshotIndex, first, last, runs };
    },
  };
}

/**
 * The batch that records the application's snapshot and compacts the log: every record whose
 * entries all lie at or below compactIndex is deleted (one that also holds later entries stays whole).
 */
export function planSnapshot(
  b: LogBounds,
  snapshot: Snapshot,
  compactIndex: number,
  hardState: HardState,
): WritePlan {
  const si = snapshot.metadata.index;
  assert(si >= b.snapshotIndex, `snapshot ${si} is older than the stored snapshot ${b.snapshotIndex}`);
  assert(si <= b.last, `snapshot ${si} is beyond the last entry ${b.last}`);
  assert(compactIndex <= si, `compact index ${compactIndex} is beyond the snapshot ${si}`);
  assert(hardState.commit >= si, `commit ${hardState.commit} is below the snapshot ${si}`);
  const ops: LogOp[] = [
    { type: "put", key: SNAPSHOT_KEY, value: encodeSnapshot(snapshot) },
    { type: "put", key: HARD_STATE_KEY, value: encodeHardState(hardState) },
  ];
  let k = 0;
  while (k < b.runs.length && runEnd(b, k) <= compactIndex) ops.push(del(b.runs[k++] as number));
  const runs = b.runs;
  return {
    ops,
    commit: () => {
      runs.splice(0, k);
      return { snapshotIndex: si, first: runs[0] ?? b.last + 1, last: b.last, runs };
    },
  };
}

/**
 * The bounds of a store just opened: from its snapshot record, the keys of its entry records (in
 * key order) and the last of those records (for its last index).
 */
export function boundsAtOpen(
  file: string,
  snapshotRecord: Uint8Array | undefined,
  entryKeys: readonly Uint8Array[],
  lastRecord: Uint8Array | undefined,
): LogBounds {
  const snapshotIndex =
    snapshotRecord === undefined
      ? 0
      : decodeOrThrow(file, undefined, decodeSnapshot, snapshotRecord).metadata.index;
  const runs: number[] = [];
  for (const key of entryKeys) {
    const p = parseKey(key);
    if (p?.kind === "entry") runs.push(p.index);
  }
  const lastRun = runs.at(-1);
  if (lastRun === undefined || lastRecord === undefined)
    return { snapshotIndex, first: snapshotIndex + 1, last: snapshotIndex, runs: [] };
  const held = decodeOrThrow(file, lastRun, decodeEntries, lastRecord).length;
  return { snapshotIndex, first: runs[0] as number, last: lastRun + held - 1, runs };
}

function decodeOrThrow<T>(
  file: string,
  index: number | undefined,
  decode: (r: Uint8Array) => T,
  record: Uint8Array,
): T {
  try {
    return decode(record);
  } catch (err) {
    if (err instanceof RecordError) throw new CorruptionError(file, index, err.message);
    throw err;
  }
}

export type LogRecords =
  | Iterable<readonly [Uint8Array, Uint8Array]>
  | AsyncIterable<readonly [Uint8Array, Uint8Array]>;

export interface VerifiedLog {
  readonly state: PersistedState;
  readonly bounds: LogBounds;
}

/**
 * Reads a whole log (its records in key order) and verifies it, throwing CorruptionError naming
 * `file` and the index at the first problem: a member never starts from a damaged log.
 */
export async function verifyLog(file: string, records: LogRecords): Promise<VerifiedLog> {
  const v = new LogVerifier(file);
  for await (const [key, value] of records) v.record(key, value);
  return v.finish();
}

class LogVerifier {
  private hardState: HardState = emptyHardState;
  private snapshot: Snapshot = emptySnapshot;
  /** The key index of every entry record, in key order. */
  private readonly runs: number[] = [];
  /**
   * The entries of the last record read: checked once the next record's key says how many of
   * them are still the log's (a later record supersedes the tail of the one before it).
   */
  private pending: Entry[] | undefined;
  /** The last stored entry seen (index and term only: its data is not needed again). */
  private prev: { index: number; term: number } | undefined;
  /** Only the entries after the snapshot are kept: those below it are checked and dropped. */
  private readonly entries: Entry[] = [];

  constructor(private readonly file: string) {}

  private corrupt(index: number | undefined, detail: string): CorruptionError {
    return new CorruptionError(this.file, index, detail);
  }

  record(key: Uint8Array, value: Uint8Array): void {
    const parsed = parseKey(key);
    if (parsed === undefined)
      throw this.corrupt(undefined, `${describeKey(key)} is not part of the log format`);
    if (parsed.kind === "entry") {
      this.entryRecord(parsed.index, value);
      return;
    }
    // Sorted keys put "H" and "S" first: anything else means the store is not sorted as we think.
    if (this.runs.length > 0) throw this.corrupt(undefined, `${parsed.kind} record after the entries`);
    if (parsed.kind === "hardState")
      this.hardState = decodeOrThrow(this.file, undefined, decodeHardState, value);
    else this.snapshot = decodeOrThrow(this.file, undefined, decodeSnapshot, value);
  }

  private entryRecord(key: number, value: Uint8Array): void {
    const es = decodeOrThrow(this.file, key, decodeEntries, value);
    const start = (es[0] as Entry).index;
    if (start !== key)
      throw this.corrupt(key, `record of entry ${start} stored under the key of entry ${key}`);
    this.runs.push(key);
    // Keys ascend, so the pending record began before this one: its entries from here on are superseded.
    for (const e of this.pending ?? []) if (e.index < key) this.entry(e.index, e);
    this.pending = es;
  }

  private entry(index: number, e: Entry): void {
    const prev = this.prev;
    if (prev !== undefined && index !== prev.index + 1) {
      throw this.corrupt(prev.index + 1, `entries ${prev.index + 1}..${index - 1} are missing`);
    }
    // Raft §5.3 Log Matching: terms in a log never decrease.
    if (prev !== undefined && e.term < prev.term) {
      throw this.corrupt(index, `term ${e.term} after term ${prev.term}: terms never decrease in a log`);
    }
    this.prev = { index, term: e.term };
    const snap = this.snapshot.metadata;
    if (index < snap.index) {
      if (e.term > snap.term)
        throw this.corrupt(index, `term ${e.term} is newer than the snapshot's term ${snap.term}`);
      return;
    }
    if (index === snap.index) {
      if (e.term !== snap.term)
        throw this.corrupt(index, `term ${e.term} differs from the snapshot's term ${snap.term}`);
      return;
    }
    if (this.entries.length === 0) {
      if (index !== snap.index + 1) {
        throw this.corrupt(
          snap.index + 1,
          `the entry after the snapshot at ${snap.index} is missing (log starts at ${index})`,
        );
      }
      if (e.term < snap.term)
        throw this.corrupt(index, `term ${e.term} is older than the snapshot's term ${snap.term}`);
    }
    this.entries.push(e);
  }

  finish(): VerifiedLog {
    for (const e of this.pending ?? []) this.entry(e.index, e);
    this.pending = undefined;
    const snap = this.snapshot.metadata;
    const hs = this.hardState;
    if (this.prev !== undefined && this.prev.index < snap.index) {
      throw this.corrupt(
        this.prev.index,
        `the log ends at ${this.prev.index}, before the snapshot at ${snap.index}`,
      );
    }
    const lastEntry = this.entries.at(-1);
    const lastIndex = lastEntry?.index ?? snap.index;
    const lastTerm = lastEntry?.term ?? snap.term;
    // etcd's raft refuses to start the same way (newRaft: "state.commit is out of range").
    if (hs.commit > lastIndex)
      throw this.corrupt(hs.commit, `hard state commit ${hs.commit} is beyond the last index ${lastIndex}`);
    if (hs.commit < snap.index) {
      throw this.corrupt(hs.commit, `hard state commit ${hs.commit} is below the snapshot at ${snap.index}`);
    }
    // A member's term is at least the term of every entry it holds, and both are written in the
    // same batch (the term change of a Ready goes with its entries): a newer entry means a lost hard state.
    if (lastTerm > hs.term) {
      throw this.corrupt(
        lastIndex,
        `term ${lastTerm} of the last entry is newer than the hard state's term ${hs.term}`,
      );
    }
    const bounds: LogBounds =
      this.prev === undefined
        ? { snapshotIndex: snap.index, first: snap.index + 1, last: snap.index, runs: [] }
        : {
            snapshotIndex: snap.index,
            first: this.runs[0] as number,
            last: this.prev.index,
            runs: this.runs,
          };
    return { state: { hardState: hs, snapshot: this.snapshot, entries: this.entries }, bounds };
  }
}
