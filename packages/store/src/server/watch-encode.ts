/**
 * Protobuf encoding of WatchResponse event batches by hand, so that one revision's events are
 * encoded once and shared by every watcher that gets them (a watcher's response differs only
 * in its watch_id). Field numbers are etcd's (rpc.proto WatchResponse, mvccpb Event/KeyValue).
 */
import type * as m from "../mvcc/types.js";

/**
 * A protobuf writer over one buffer sized up front (callers pass a good estimate): small buffers
 * come from Node's pool, and finish() returns a view, so encoding an event makes no garbage
 * beyond its own bytes (large transient buffers linger in RSS until a full GC).
 */
class Writer {
  private buf: Buffer;
  private n = 0;

  constructor(capacity = 64) {
    this.buf = Buffer.allocUnsafe(capacity);
  }

  private ensure(more: number): void {
    if (this.n + more <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.n + more) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.n);
    this.buf = next;
  }

  varint(v: number | bigint): void {
    let x = BigInt.asUintN(64, BigInt(v));
    this.ensure(10);
    while (x >= 0x80n) {
      this.buf[this.n++] = Number(x & 0x7fn) | 0x80;
      x >>= 7n;
    }
    this.buf[this.n++] = Number(x);
  }

  /** A non-negative safe integer, the common case, without BigInt. */
  uint(v: number): void {
    if (v > 0xffffffff) {
      this.varint(v);
      return;
    }
    this.ensure(5);
    let x = v >>> 0;
    while (x >= 0x80) {
      this.buf[this.n++] = (x & 0x7f) | 0x80;
      x >>>= 7;
    }
    this.buf[this.n++] = x;
  }

  tag(field: number, wire: number): void {
    this.uint((field << 3) | wire);
  }

  bytes(field: number, b: Uint8Array): void {
    if (b.length === 0) return;
    this.tag(field, 2);
    this.uint(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.n);
    this.n += b.length;
  }

  int(field: number, v: number | bigint): void {
    if (v === 0 || v === 0n) return; // proto3 omits zero values
    this.tag(field, 0);
    if (typeof v === "number" && v >= 0) this.uint(v);
    else this.varint(v);
  }

  message(field: number, body: Uint8Array): void {
    this.tag(field, 2);
    this.uint(body.length);
    this.ensure(body.length);
    this.buf.set(body, this.n);
    this.n += body.length;
  }

  finish(): Uint8Array {
    return this.buf.subarray(0, this.n);
  }
}

function varintLen(v: number | bigint): number {
  if (typeof v === "number" && v >= 0 && v <= 0xffffffff) {
    let n = 1;
    for (let x = v >>> 7; x > 0; x >>>= 7) n++;
    return n;
  }
  let x = BigInt.asUintN(64, BigInt(v));
  let n = 1;
  while (x >= 0x80n) {
    x >>= 7n;
    n++;
  }
  return n;
}

/** Size of a non-zero int field (proto3 omits zeros), of a bytes field, of a nested message. */
const intLen = (tag: number, v: number | bigint) => (v === 0 || v === 0n ? 0 : varintLen(tag) + varintLen(v));
const bytesLen = (b: Uint8Array) => (b.length === 0 ? 0 : 1 + varintLen(b.length) + b.length);
const messageLen = (bodyLen: number) => 1 + varintLen(bodyLen) + bodyLen;

function keyValueLen(kv: m.KeyValue): number {
  return (
    bytesLen(kv.key) +
    intLen(2 << 3, kv.create_revision) +
    intLen(3 << 3, kv.mod_revision) +
    intLen(4 << 3, kv.version) +
    bytesLen(kv.value) +
    intLen(6 << 3, kv.lease)
  );
}

function writeKeyValue(w: Writer, field: number, kv: m.KeyValue, len: number): void {
  w.tag(field, 2);
  w.uint(len);
  w.bytes(1, kv.key);
  w.int(2, kv.create_revision);
  w.int(3, kv.mod_revision);
  w.int(4, kv.version);
  w.bytes(5, kv.value);
  w.int(6, kv.lease);
}

/**
 * One Event as the `events` field (11) of a WatchResponse: tag, length and message, written in
 * one pass into one buffer of the exact size.
 */
export function encodeEventField(e: m.Event, withPrev: boolean): Uint8Array {
  const type = e.type === "PUT" ? 0 : 1;
  const kvLen = keyValueLen(e.kv);
  const prev = withPrev ? e.prev_kv : undefined;
  const prevLen = prev === undefined ? 0 : keyValueLen(prev);
  const evLen = intLen(1 << 3, type) + messageLen(kvLen) + (prev === undefined ? 0 : messageLen(prevLen));
  const size = messageLen(evLen);
  const w = new Writer(size);
  w.tag(11, 2);
  w.uint(evLen);
  w.int(1, type);
  writeKeyValue(w, 2, e.kv, kvLen);
  if (prev !== undefined) writeKeyValue(w, 3, prev, prevLen);
  const out = w.finish();
  if (out.length !== size) throw new Error(`watch event encoded to ${out.length} bytes, sized ${size}`);
  return out;
}

export interface HeaderValues {
  cluster_id: string | number;
  member_id: string | number;
  raft_term: string | number;
  revision: number;
}

/** The header field (1) of a WatchResponse. */
export function encodeHeaderField(h: HeaderValues): Uint8Array {
  const hw = new Writer();
  hw.int(1, BigInt(h.cluster_id));
  hw.int(2, BigInt(h.member_id));
  hw.int(3, h.revision);
  hw.int(4, BigInt(h.raft_term));
  const w = new Writer();
  w.message(1, hw.finish());
  return w.finish();
}

/** A whole WatchResponse from its pre-encoded header and event fields. */
export function encodeWatchResponse(
  header: Uint8Array,
  watchId: number,
  events: readonly Uint8Array[],
): Buffer {
  const id = new Writer();
  id.int(2, watchId);
  const idBytes = id.finish();
  let size = header.length + idBytes.length;
  for (const e of events) size += e.length;
  const out = Buffer.allocUnsafe(size);
  out.set(header, 0);
  out.set(idBytes, header.length);
  let at = header.length + idBytes.length;
  for (const e of events) {
    out.set(e, at);
    at += e.length;
  }
  return out;
}

/** Bytes of the watch_id field (2): omitted for 0, as proto3 does. */
function watchIdBytes(id: number): number {
  return id === 0 ? 0 : 1 + varintLen(id);
}

/**
 * Several WatchResponses sharing one pre-encoded header, each framed as a gRPC message (a 0 byte
 * and a 4-byte length before it), written into one buffer: one allocation and one copy of each
 * event per flush of a stream, instead of one buffer per response and another to frame them.
 */
export function frameWatchResponses(
  header: Uint8Array,
  ids: readonly number[],
  events: readonly (readonly Uint8Array[])[],
): Buffer {
  let size = 0;
  for (let i = 0; i < ids.length; i++) {
    size += 5 + header.length + watchIdBytes(ids[i] as number);
    for (const e of events[i] as readonly Uint8Array[]) size += e.length;
  }
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i] as number;
    const start = at;
    at += 5;
    out.set(header, at);
    at += header.length;
    if (id !== 0) {
      out[at++] = 0x10; // field 2, varint
      let x = id >>> 0;
      if (id > 0xffffffff) throw new Error(`watch id ${id} out of range`);
      while (x >= 0x80) {
        out[at++] = (x & 0x7f) | 0x80;
        x >>>= 7;
      }
      out[at++] = x;
    }
    for (const e of events[i] as readonly Uint8Array[]) {
      out.set(e, at);
      at += e.length;
    }
    out[start] = 0;
    out.writeUInt32BE(at - start - 5, start + 1);
  }
  if (at !== size) throw new Error(`watch responses framed to ${at} bytes, sized ${size}`);
  return out;
}
