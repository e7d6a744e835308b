/**
 * Which events a watcher gets, and their wire form made once and shared by every watcher that
 * gets them (watch.ts).
 */
import { compareBytes } from "../mvcc/bytes.js";
import type * as m from "../mvcc/types.js";
import { encodeEventField } from "./watch-encode.js";
import type { Watcher } from "./watch-stream.js";

/**
 * Byte order. Buffer.compare is a call into C++ (about 40 ns here); a JavaScript loop over a short
 * key and prefix takes about 5, and every watcher compares every event's key.
 */
function compare(a: Uint8Array, b: Uint8Array): number {
  return a.length <= 64 || b.length <= 64 ? compareBytes(a, b) : Buffer.compare(a, b);
}

export function matches(w: Watcher, key: Uint8Array): boolean {
  if (w.rangeEnd === undefined || w.rangeEnd.length === 0) return compare(key, w.key) === 0;
  // range_end "\0" means every key >= key (from-key).
  if (w.rangeEnd.length === 1 && w.rangeEnd[0] === 0) return compare(key, w.key) >= 0;
  return compare(key, w.key) >= 0 && compare(key, w.rangeEnd) < 0;
}

/** The wire form of one revision's events, made once per form and shared by every watcher. */
export class EventCache {
  private readonly plain: (Uint8Array | undefined)[] = [];
  private readonly withPrev: (Uint8Array | undefined)[] = [];

  constructor(private readonly events: readonly m.Event[]) {}

  /** The encoded `events` field of event i, with or without prev_kv. */
  get(i: number, prev: boolean): Uint8Array {
    const slot = prev ? this.withPrev : this.plain;
    let e = slot[i];
    if (e === undefined) {
      e = encodeEventField(this.events[i] as m.Event, prev);
      slot[i] = e;
    }
    return e;
  }
}

/**
 * Encoded events for one catch-up step, keyed by revision and key (unique: a txn writes a key at
 * most once), so the watchers catching up over the same history share the bytes.
 */
export class EncodedEvents {
  private readonly plain = new Map<string, Uint8Array>();
  private readonly withPrev = new Map<string, Uint8Array>();

  get(e: m.Event, prev: boolean): Uint8Array {
    const cache = prev ? this.withPrev : this.plain;
    const id = `${e.kv.mod_revision}\u0000${Buffer.from(e.kv.key.buffer, e.kv.key.byteOffset, e.kv.key.length).toString("latin1")}`;
    let b = cache.get(id);
    if (b === undefined) {
      b = encodeEventField(e, prev);
      cache.set(id, b);
    }
    return b;
  }
}
