import { fromBin, inRange, type KeyRange } from "./bytes.js";
import type { Event, KeyValue } from "./types.js";

/**
 * One change of one key: etcd's revision {main, sub} plus what it wrote, without the key (the
 * history's map holds it once per key). `live` false is a tombstone (etcd's keyIndex ends a
 * generation with one). The value stays here until a disk backend holds it; then `value` is
 * undefined and reads go through the history's ValueSource, so memory holds the index only
 * (etcd's treeIndex), not the data.
 */
export interface Rec {
  main: number;
  sub: number;
  live: boolean;
  create: number;
  version: number;
  lease: bigint;
  /** The value's length, known without reading it. */
  size: number;
  value: Uint8Array | undefined;
}

/** Where values live once they left memory (the LevelDB backend). */
export interface ValueSource {
  read(main: number, sub: number): Uint8Array;
}

/** Rough per-record cost beyond key and value bytes (etcd stores a 17-byte revision key plus proto framing). */
const REC_OVERHEAD = 32;

function recSize(keyLen: number, r: Rec): number {
  return keyLen + r.size + REC_OVERHEAD;
}

/** Index of the last record with main <= rev, or -1 (records are in revision order). */
function lastAtOrBelow(recs: Rec[], rev: number): number {
  let lo = 0;
  let hi = recs.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if ((recs[mid] as Rec).main <= rev) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/**
 * Events already made, by record: watchers catching up over the same revisions in one step share
 * them instead of each reading the values again (the caller drops it after the step).
 */
export type EventCache = Map<object, Event>;

/** How much of a watch's catch-up one step reads. */
export interface EventsPage {
  limit?: number;
  maxBytes?: number;
  cache?: EventCache;
}

/** A key and its live record, as ranges find them (values are read only for what is returned). */
export interface Found {
  k: string;
  rec: Rec;
}

/**
 * The multi-version history: etcd's treeIndex (key -> revisions, here with each revision's
 * metadata) plus, while they are in memory, the values. Keys are binary strings (see bytes.ts);
 * `sorted` keeps them in byte order for range scans, and `revRecs`/`revKeys` keep every record in
 * revision order, so a watch catching up reads O(events), not O(keys in its range).
 */
export class History {
  private readonly byKey = new Map<string, Rec[]>();
  private sorted: string[] = [];
  private revRecs: Rec[] = [];
  private revKeys: string[] = [];
  private bytes = 0;
  private bulk = false;
  values: ValueSource | undefined;

  get sizeBytes(): number {
    return this.bytes;
  }

  get keyCount(): number {
    return this.byKey.size;
  }

  /** The live record of `k` as of revision `rev`, or undefined (absent or deleted). */
  getRec(k: string, rev: number): Rec | undefined {
    const recs = this.byKey.get(k);
    if (!recs) return undefined;
    const i = lastAtOrBelow(recs, rev);
    if (i < 0) return undefined;
    const rec = recs[i] as Rec;
    return rec.live ? rec : undefined;
  }

  /** The live KeyValue of `k` as of revision `rev`, or undefined (absent or deleted). */
  get(k: string, rev: number): KeyValue | undefined {
    const rec = this.getRec(k, rev);
    return rec ? this.kv(k, rec) : undefined;
  }

  /** A record's value, from memory or the backend. */
  value(rec: Rec): Uint8Array {
    if (rec.value !== undefined) return rec.value;
    if (this.values === undefined) throw new Error(`mvcc: value of ${rec.main}.${rec.sub} is gone`);
    return this.values.read(rec.main, rec.sub);
  }

  /** A fresh KeyValue for a live record (callers may keep it; the history does not). */
  kv(k: string, rec: Rec, withValue = true): KeyValue {
    return {
      key: fromBin(k),
      create_revision: rec.create,
      mod_revision: rec.main,
      version: rec.version,
      value: withValue ? this.value(rec) : new Uint8Array(0),
      lease: rec.lease,
    };
  }

  /** Keys (live or not) in the range, in byte order. */
  *keys(r: KeyRange): Generator<string> {
    if (r.end === undefined) {
      if (this.byKey.has(r.start)) yield r.start;
      return;
    }
    for (let i = this.lowerBound(r.start); i < this.sorted.length; i++) {
      const k = this.sorted[i] as string;
      if (r.end !== "" && k >= r.end) return;
      yield k;
    }
  }

  /** The live records in the range as of `rev`, in key order, values not read. */
  rangeRecs(r: KeyRange, rev: number): Found[] {
    const out: Found[] = [];
    for (const k of this.keys(r)) {
      const rec = this.getRec(k, rev);
      if (rec) out.push({ k, rec });
    }
    return out;
  }

  /** The live KeyValues in the range as of `rev`, in key order. */
  range(r: KeyRange, rev: number): KeyValue[] {
    return this.rangeRecs(r, rev).map((f) => this.kv(f.k, f.rec));
  }

  append(k: string, rec: Rec): void {
    const recs = this.byKey.get(k);
    if (!recs) {
      // A literal of one: a push onto [] reserves 17 slots, ~150 bytes a key that is written once.
      this.byKey.set(k, [rec]);
      if (!this.bulk) this.sorted.splice(this.lowerBound(k), 0, k);
    } else {
      const last = recs[recs.length - 1];
      // Assertion: history only grows forward; a violation would corrupt every later read.
      if (last && (last.main > rec.main || (last.main === rec.main && last.sub >= rec.sub))) {
        throw new Error(
          `mvcc: history of key out of order: ${last.main}.${last.sub} then ${rec.main}.${rec.sub}`,
        );
      }
      recs.push(rec);
    }
    const lastRev = this.revRecs[this.revRecs.length - 1];
    if (lastRev && (lastRev.main > rec.main || (lastRev.main === rec.main && lastRev.sub >= rec.sub))) {
      throw new Error(
        `mvcc: history out of order: ${lastRev.main}.${lastRev.sub} then ${rec.main}.${rec.sub}`,
      );
    }
    this.revRecs.push(rec);
    this.revKeys.push(k);
    this.bytes += recSize(k.length, rec);
  }

  /**
   * Loading many records in revision order (a restart): new keys are not inserted into the sorted
   * key list one by one (quadratic for keys in random order) but sorted once by endBulk().
   */
  beginBulk(): void {
    this.bulk = true;
  }

  endBulk(): void {
    this.bulk = false;
    this.sorted = [...this.byKey.keys()].sort();
  }

  /** Undoes append(k, rec) (a write txn that failed half-way rolls back; etcd's txn is atomic). */
  pop(k: string, rec: Rec): void {
    const recs = this.byKey.get(k);
    if (!recs || recs[recs.length - 1] !== rec || this.revRecs[this.revRecs.length - 1] !== rec) {
      throw new Error("mvcc: rollback out of order");
    }
    recs.pop();
    this.revRecs.pop();
    this.revKeys.pop();
    this.bytes -= recSize(k.length, rec);
    if (recs.length === 0) {
      this.byKey.delete(k);
      this.sorted.splice(this.lowerBound(k), 1);
    }
  }

  /**
   * Drops history that no read at a revision >= rev can see: of the records below rev only a key's
   * last one survives, and not even that if it is a tombstone (etcd keyIndex.compact). Records at
   * rev itself are all kept (etcd also drops a tombstone at exactly rev; keeping it lets a watch
   * started at the compact revision see that delete). Returns the dropped records.
   */
  compact(rev: number): Rec[] {
    const dropped: Rec[] = [];
    let emptied = false;
    for (const [k, recs] of this.byKey) {
      let i = -1;
      while (i + 1 < recs.length && (recs[i + 1] as Rec).main < rev) i++;
      if (i < 0) continue;
      const keepFrom = (recs[i] as Rec).live ? i : i + 1;
      for (let j = 0; j < keepFrom; j++) {
        this.bytes -= recSize(k.length, recs[j] as Rec);
        dropped.push(recs[j] as Rec);
      }
      recs.splice(0, keepFrom);
      if (recs.length === 0) {
        this.byKey.delete(k);
        emptied = true;
      }
    }
    if (emptied) this.sorted = this.sorted.filter((k) => this.byKey.has(k));
    if (dropped.length > 0) {
      const gone = new Set(dropped);
      const recs: Rec[] = [];
      const keys: string[] = [];
      for (let i = 0; i < this.revRecs.length; i++) {
        const rec = this.revRecs[i] as Rec;
        if (gone.has(rec)) continue;
        recs.push(rec);
        keys.push(this.revKeys[i] as string);
      }
      this.revRecs = recs;
      this.revKeys = keys;
    }
    return dropped;
  }

  /** Every change with main >= rev in the range, in revision order, with prev_kv where one existed. */
  eventsSince(rev: number, r: KeyRange): Event[] {
    return this.eventsPage(rev, r, {}).events;
  }

  /**
   * The changes with main >= rev in the range, in revision order, with prev_kv where one existed,
   * in whole revisions until at least `limit` events or `maxBytes` of keys and values (a watch
   * catches up in steps); `more` says some were left.
   */
  eventsPage(rev: number, r: KeyRange, page: EventsPage): { events: Event[]; more: boolean } {
    const limit = page.limit ?? Number.POSITIVE_INFINITY;
    const maxBytes = page.maxBytes ?? Number.POSITIVE_INFINITY;
    const cache = page.cache;
    const out: Event[] = [];
    let bytes = 0;
    let last = -1;
    const add = (k: string, rec: Rec, prev: () => Rec | undefined): boolean => {
      if ((out.length >= limit || bytes >= maxBytes) && rec.main !== last) return false;
      let e = cache?.get(rec);
      if (e === undefined) {
        const p = prev();
        e = this.event(k, rec, p);
        cache?.set(rec, e);
      }
      bytes += 2 * k.length + rec.size + (e.prev_kv?.value.length ?? 0);
      out.push(e);
      last = rec.main;
      return true;
    };
    if (r.end === undefined) {
      // One key: its own list is the shortest way.
      const recs = this.byKey.get(r.start) ?? [];
      for (let i = 0; i < recs.length; i++) {
        const rec = recs[i] as Rec;
        if (rec.main >= rev && !add(r.start, rec, () => recs[i - 1])) return { events: out, more: true };
      }
      return { events: out, more: false };
    }
    for (let i = this.revLowerBound(rev); i < this.revRecs.length; i++) {
      const k = this.revKeys[i] as string;
      if (!inRange(k, r)) continue;
      const rec = this.revRecs[i] as Rec;
      if (!add(k, rec, () => this.before(k, rec))) return { events: out, more: true };
    }
    return { events: out, more: false };
  }

  /** A change as a watch event, with the key's previous record as prev_kv when it was live. */
  event(k: string, rec: Rec, prev: Rec | undefined): Event {
    const ev: Event = rec.live
      ? { type: "PUT", kv: this.kv(k, rec) }
      : { type: "DELETE", kv: tombstoneKv(fromBin(k), rec.main) };
    if (prev?.live) ev.prev_kv = this.kv(k, prev);
    return ev;
  }

  /** The record of `k` just before `rec`, if the history still has it. */
  private before(k: string, rec: Rec): Rec | undefined {
    const recs = this.byKey.get(k) as Rec[];
    let i = lastAtOrBelow(recs, rec.main);
    while (i >= 0 && recs[i] !== rec) i--;
    return i > 0 ? recs[i - 1] : undefined;
  }

  /** Every key with its records, in key order (for snapshots). */
  *entries(): Generator<[string, readonly Rec[]]> {
    for (const k of this.sorted) yield [k, this.byKey.get(k) as Rec[]];
  }

  /** Every record in revision order with its key (for hashes and streamed snapshots). */
  *revisions(): Generator<[string, Rec]> {
    for (let i = 0; i < this.revRecs.length; i++) yield [this.revKeys[i] as string, this.revRecs[i] as Rec];
  }

  /** First position in revision order with main >= rev. */
  private revLowerBound(rev: number): number {
    let lo = 0;
    let hi = this.revRecs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.revRecs[mid] as Rec).main < rev) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private lowerBound(k: string): number {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.sorted[mid] as string) < k) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** A DELETE event's kv carries only the key and the deleting revision, as etcd's watch sends it. */
export function tombstoneKv(key: Uint8Array, main: number): KeyValue {
  return { key, create_revision: 0, mod_revision: main, version: 0, value: new Uint8Array(0), lease: 0n };
}
