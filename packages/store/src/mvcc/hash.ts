/**
 * etcd 3.4's HashKV (mvcc kvstore.go HashByRev) as a pure function over a store's revision
 * records, independent of how the MVCC keeps them: a CRC-32C over the key bucket's name and then,
 * in revision order, each record's bucket key (the 17-byte revision, plus 't' for a tombstone)
 * and its value (the marshaled mvccpb.KeyValue). For the same history it gives etcd's number, so
 * members of either kind can be checked against each other (etcd's corruption check compares
 * HashKV between members).
 *
 * Which records count (HashByRev): every record with compactRevision < main <= revision, and of
 * those at or below the compact revision only what etcd's compaction kept on disk (a key's last
 * record at or below it, unless a tombstone) that is also in the index's Keep(revision) set (the
 * key's last record at or below `revision`, unless a tombstone). When that Keep set is empty etcd
 * filters nothing, so every kept record counts.
 */
import { crc32c } from "./crc32c.js";
import type { KeyValue } from "./types.js";

/**
 * One change of one key at revision {main, sub}, as a store keeps it. A tombstone's kv needs only
 * its key: etcd stores a deletion as a KeyValue holding just the key, and so it is hashed.
 */
export interface RevisionRecord {
  main: number;
  sub: number;
  tombstone: boolean;
  kv: KeyValue;
}

/** etcd's keyBucketName: the hash starts with it. */
const keyBucketName = new TextEncoder().encode("key");

/** etcd's revision bucket key: main and sub as 8-byte big-endian, joined by '_', 't' if a tombstone. */
export function revisionKey(main: number, sub: number, tombstone: boolean): Uint8Array {
  const out = new Uint8Array(tombstone ? 18 : 17);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(main));
  out[8] = 0x5f; // '_'
  view.setBigUint64(9, BigInt(sub));
  if (tombstone) out[17] = 0x74; // 't'
  return out;
}

function varintLength(v: bigint): number {
  let n = 1;
  for (let x = v >> 7n; x > 0n; x >>= 7n) n++;
  return n;
}

/**
 * mvccpb.KeyValue in protobuf wire format as gogoproto marshals it: fields in number order
 * (key 1, create_revision 2, mod_revision 3, version 4, value 5, lease 6), zero values omitted,
 * int64s as varints of their two's complement.
 */
export function encodeKeyValue(kv: KeyValue): Uint8Array {
  const ints: [number, bigint][] = [
    [0x10, BigInt(kv.create_revision)],
    [0x18, BigInt(kv.mod_revision)],
    [0x20, BigInt(kv.version)],
  ];
  const lease = BigInt.asUintN(64, kv.lease);
  let size = 0;
  const bytesField = (b: Uint8Array) => (b.length > 0 ? 1 + varintLength(BigInt(b.length)) + b.length : 0);
  size += bytesField(kv.key) + bytesField(kv.value);
  for (const [, v] of ints) if (v !== 0n) size += 1 + varintLength(BigInt.asUintN(64, v));
  if (lease !== 0n) size += 1 + varintLength(lease);
  const out = new Uint8Array(size);
  let at = 0;
  const varint = (v: bigint) => {
    let x = BigInt.asUintN(64, v);
    while (x >= 0x80n) {
      out[at++] = Number(x & 0x7fn) | 0x80;
      x >>= 7n;
    }
    out[at++] = Number(x);
  };
  const bytes = (tag: number, b: Uint8Array) => {
    if (b.length === 0) return;
    out[at++] = tag;
    varint(BigInt(b.length));
    out.set(b, at);
    at += b.length;
  };
  bytes(0x0a, kv.key);
  for (const [tag, v] of ints) {
    if (v === 0n) continue;
    out[at++] = tag;
    varint(v);
  }
  bytes(0x2a, kv.value);
  if (lease !== 0n) {
    out[at++] = 0x30;
    varint(lease);
  }
  return out;
}

const emptyKv = { create_revision: 0, mod_revision: 0, version: 0, value: new Uint8Array(0), lease: 0n };

/** The bytes etcd stores for a record: a tombstone keeps only its key. */
function storedValue(r: RevisionRecord): Uint8Array {
  return encodeKeyValue(r.tombstone ? { ...emptyKv, key: r.kv.key } : r.kv);
}

/** A key's last records at or below the compact revision and at or below the hashed revision. */
interface KeyState {
  kept: RevisionRecord | undefined;
  last: RevisionRecord;
}

/**
 * HashByRev in two passes over the same records in revision order: scan() every record first
 * (it reads keys, revisions and tombstone marks only), then add() every record, then sum(). Two
 * passes because whether an old record counts depends on later records of its key, while the
 * hash needs the records in revision order. Drive it with sync or async iteration alike;
 * hashByRev below is the synchronous loop.
 */
export class KVHasher {
  private readonly keys = new Map<string, KeyState>();
  /** "main_sub" of the records at or below the compact revision that count (after scan). */
  private counted: Set<string> | undefined;
  private crc = crc32c(keyBucketName);

  /**
   * `revision`: the revision hashed up to (etcd's rev, already resolved from 0 to the current
   * revision); `compactRevision`: the store's compact revision (-1 if never compacted).
   */
  constructor(
    readonly revision: number,
    readonly compactRevision: number,
  ) {}

  /** First pass: one record, in revision order. */
  scan(r: RevisionRecord): void {
    if (r.main > this.revision) return;
    const k = Buffer.from(r.kv.key.buffer, r.kv.key.byteOffset, r.kv.key.byteLength).toString("latin1");
    const s = this.keys.get(k);
    const kept = r.main <= this.compactRevision ? (r.tombstone ? undefined : r) : s?.kept;
    if (s === undefined) this.keys.set(k, { kept, last: r });
    else {
      s.kept = kept;
      s.last = r;
    }
  }

  /** Second pass: one record, in revision order (the same sequence scan saw). */
  add(r: RevisionRecord): void {
    if (r.main > this.revision) return;
    if (r.main <= this.compactRevision && !this.countedOld().has(identity(r))) return;
    this.crc = crc32c(revisionKey(r.main, r.sub, r.tombstone), this.crc);
    this.crc = crc32c(storedValue(r), this.crc);
  }

  sum(): number {
    return this.crc;
  }

  /** The old records that count, decided once between the passes. */
  private countedOld(): Set<string> {
    if (this.counted !== undefined) return this.counted;
    let keepEmpty = true;
    for (const s of this.keys.values()) if (!s.last.tombstone) keepEmpty = false;
    const counted = new Set<string>();
    for (const s of this.keys.values()) {
      if (s.kept !== undefined && (keepEmpty || s.last === s.kept)) counted.add(identity(s.kept));
    }
    this.counted = counted;
    return counted;
  }
}

function identity(r: RevisionRecord): string {
  return `${r.main}_${r.sub}`;
}

/** HashByRev over records a source yields in revision order; the source is read twice. */
export function hashByRev(
  source: () => Iterable<RevisionRecord>,
  revision: number,
  compactRevision: number,
): number {
  const h = new KVHasher(revision, compactRevision);
  for (const r of source()) h.scan(r);
  for (const r of source()) h.add(r);
  return h.sum();
}
