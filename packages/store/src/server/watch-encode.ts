/**
 * Protobuf encoding of WatchResponse event batches by hand, so that one revision's events are
 * encoded once and shared by every watcher that gets them (a watcher's response differs only
 * in its watch_id). Field numbers are etcd's (rpc.proto WatchResponse, mvccpb Event/KeyValue).
 */
import type * as m from "../mvcc/types.js";

class Writer {
  private buf = new Uint8Array(256);
  private n = 0;

  private ensure(more: number): void {
    if (this.n + more <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.n + more) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.n));
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
    return this.buf.slice(0, this.n);
  }
}

function keyValue(kv: m.KeyValue): Uint8Array {
  const w = new Writer();
  w.bytes(1, kv.key);
  w.int(2, kv.create_revision);
  w.int(3, kv.mod_revision);
  w.int(4, kv.version);
  w.bytes(5, kv.value);
  w.int(6, kv.lease);
  return w.finish();
}

/** One Event as the `events` field (11) of a WatchResponse: tag, length and message. */
export function encodeEventField(e: m.Event, withPrev: boolean): Uint8Array {
  const ev = new Writer();
  ev.int(1, e.type === "PUT" ? 0 : 1);
  ev.message(2, keyValue(e.kv));
  if (withPrev && e.prev_kv !== undefined) ev.message(3, keyValue(e.prev_kv));
  const w = new Writer();
  w.message(11, ev.finish());
  return w.finish();
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
