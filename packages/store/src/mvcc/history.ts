import { fromBin, type KeyRange } from "./bytes.js";
import type { Event, KeyValue } from "./types.js";

/**
 * One change of one key: etcd's revision {main, sub} plus what it wrote. `kv` null is a tombstone
 * (etcd's keyIndex ends a generation with one).
 */
export interface Rec {
  main: number;
  sub: number;
  kv: KeyValue | null;
}

/** Rough per-record cost beyond key and value bytes (etcd stores a 17-byte revision key plus proto framing). */
const REC_OVERHEAD = 32;

function recSize(keyLen: number, r: Rec): number {
  return keyLen + (r.kv ? r.kv.value.length : 0) + REC_OVERHEAD;
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
 * The whole multi-version history: etcd's treeIndex (key -> revisions) and its backend
 * (revision -> KeyValue) folded into one structure, since everything lives in memory. Keys are binary
 * strings (see bytes.ts); `sorted` keeps them in byte order for range scans.
 */
export class History {
  private readonly byKey = new Map<string, Rec[]>();
  private sorted: string[] = [];
  private bytes = 0;

  get sizeBytes(): number {
    return this.bytes;
  }

  /** The live KeyValue of `k` as of revision `rev`, or undefined (absent or deleted). */
  get(k: string, rev: number): KeyValue | undefined {
    const recs = this.byKey.get(k);
    if (!recs) return undefined;
    const i = lastAtOrBelow(recs, rev);
    return i < 0 ? undefined : ((recs[i] as Rec).kv ?? undefined);
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

  /** The live KeyValues in the range as of `rev`, in key order (what mvcc's Range fetches). */
  range(r: KeyRange, rev: number): KeyValue[] {
    const out: KeyValue[] = [];
    for (const k of this.keys(r)) {
      const kv = this.get(k, rev);
      if (kv) out.push(kv);
    }
    return out;
  }

  append(k: string, rec: Rec): void {
    const recs = this.byKey.get(k);
    if (!recs) {
      // A literal of one: a push onto [] reserves 17 slots, ~150 bytes a key that is written once.
      this.byKey.set(k, [rec]);
      this.sorted.splice(this.lowerBound(k), 0, k);
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
    this.bytes += recSize(k.length, rec);
  }

  /** Undoes append(k, rec) (a write txn that failed half-way rolls back; etcd's txn is atomic). */
  pop(k: string, rec: Rec): void {
    const recs = this.byKey.get(k);
    if (!recs || recs[recs.length - 1] !== rec) throw new Error("mvcc: rollback out of order");
    recs.pop();
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
   * started at the compact revision see that delete).
   */
  compact(rev: number): void {
    let emptied = false;
    for (const [k, recs] of this.byKey) {
      let i = -1;
      while (i + 1 < recs.length && (recs[i + 1] as Rec).main < rev) i++;
      if (i < 0) continue;
      const keepFrom = (recs[i] as Rec).kv === null ? i + 1 : i;
      for (let j = 0; j < keepFrom; j++) this.bytes -= recSize(k.length, recs[j] as Rec);
      recs.splice(0, keepFrom);
      if (recs.length === 0) {
        this.byKey.delete(k);
        emptied = true;
      }
    }
    if (emptied) this.sorted = this.sorted.filter((k) => this.byKey.has(k));
  }

  /** Every change with main >= rev in the range, in revision order, with prev_kv where one existed. */
  eventsSince(rev: number, r: KeyRange): Event[] {
    const out: { main: number; sub: number; ev: Event }[] = [];
    for (const k of this.keys(r)) {
      const recs = this.byKey.get(k) as Rec[];
      for (let i = 0; i < recs.length; i++) {
        const rec = recs[i] as Rec;
        if (rec.main < rev) continue;
        const prev = i > 0 ? (recs[i - 1] as Rec).kv : null;
        out.push({ main: rec.main, sub: rec.sub, ev: toEvent(k, rec, prev) });
      }
    }
    out.sort((a, b) => a.main - b.main || a.sub - b.sub);
    return out.map((e) => e.ev);
  }

  /** Every key with its records, in key order (for snapshots). */
  *entries(): Generator<[string, readonly Rec[]]> {
    for (const k of this.sorted) yield [k, this.byKey.get(k) as Rec[]];
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

export function toEvent(k: string, rec: Rec, prev: KeyValue | null | undefined): Event {
  const ev: Event = rec.kv
    ? { type: "PUT", kv: rec.kv }
    : { type: "DELETE", kv: tombstoneKv(fromBin(k), rec.main) };
  if (prev) ev.prev_kv = prev;
  return ev;
}
