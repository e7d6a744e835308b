/**
 * The MVCC's LevelDB layout (etcd keeps the same data in bbolt's "key" and "meta" buckets):
 *   'i' main(u64 BE) sub(u32 BE) -> a revision's metadata and its key (no value), read at start
 *   'v' main(u64 BE) sub(u32 BE) -> the revision's value (absent for a tombstone)
 *   'm' name                     -> consistent index, revision, compact revision, the state
 *                                   machine's own state (leases, alarms, member attributes)
 * Revision keys sort in revision order, so a watch catching up or a snapshot reads them in order.
 * Index records are small (no value), so a restart reads metadata only, not the data.
 */
import type { Rec } from "../mvcc/history.js";

export const INDEX = 0x69; // 'i'
export const VALUE = 0x76; // 'v'
export const META = 0x6d; // 'm'

const REV_KEY = 13;
const HEADER = 29;

export function revKey(prefix: number, main: number, sub: number): Uint8Array {
  const out = new Uint8Array(REV_KEY);
  const view = new DataView(out.buffer);
  out[0] = prefix;
  view.setUint32(1, Math.floor(main / 2 ** 32));
  view.setUint32(5, main >>> 0);
  view.setUint32(9, sub);
  return out;
}

export function parseRevKey(key: Uint8Array): { main: number; sub: number } {
  if (key.length !== REV_KEY) throw new Error(`mvcc disk: bad revision key of ${key.length} bytes`);
  const view = new DataView(key.buffer, key.byteOffset, key.byteLength);
  return { main: view.getUint32(1) * 2 ** 32 + view.getUint32(5), sub: view.getUint32(9) };
}

export function metaKey(name: string): Uint8Array {
  const out = new Uint8Array(1 + name.length);
  out[0] = META;
  for (let i = 0; i < name.length; i++) out[i + 1] = name.charCodeAt(i);
  return out;
}

/** The first key after every key with this one-byte prefix (an iterator's `lt`). */
export function prefixEnd(prefix: number): Uint8Array {
  return new Uint8Array([prefix + 1]);
}

/** [live u8][create f64][version f64][lease i64][size u32][key bytes]. */
export function encodeIndexRecord(k: string, rec: Rec): Uint8Array {
  const out = new Uint8Array(HEADER + k.length);
  const view = new DataView(out.buffer);
  out[0] = rec.live ? 1 : 0;
  view.setFloat64(1, rec.create);
  view.setFloat64(9, rec.version);
  view.setBigInt64(17, rec.lease);
  view.setUint32(25, rec.size);
  for (let i = 0; i < k.length; i++) out[HEADER + i] = k.charCodeAt(i);
  return out;
}

export function decodeIndexRecord(main: number, sub: number, data: Uint8Array): { k: string; rec: Rec } {
  if (data.length < HEADER) throw new Error(`mvcc disk: index record ${main}.${sub} is truncated`);
  // A Buffer over the same bytes: its readers and latin1 decoding (one char per byte, the
  // binary-string form of keys) cost less than a DataView and a char-by-char string per record.
  const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const lease = b.readBigInt64BE(17);
  return {
    k: b.toString("latin1", HEADER),
    rec: {
      main,
      sub,
      live: b[0] === 1,
      create: b.readDoubleBE(1),
      version: b.readDoubleBE(9),
      lease: lease === 0n ? 0n : lease,
      size: b.readUInt32BE(25),
      value: undefined,
    },
  };
}

export function encodeNumber(n: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setFloat64(0, n);
  return out;
}

export function decodeNumber(data: Uint8Array | undefined): number | undefined {
  if (data === undefined) return undefined;
  if (data.length !== 8) throw new Error("mvcc disk: bad number in meta");
  return new DataView(data.buffer, data.byteOffset, 8).getFloat64(0);
}
