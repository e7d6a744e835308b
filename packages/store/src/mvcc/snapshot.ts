import { Packr } from "msgpackr";
import { fromBin, toBin } from "./bytes.js";
import { History, type Rec } from "./history.js";

/**
 * Snapshot format (msgpack, version 1):
 *   [1, revision, compactRevision, [[key, [[main, sub] | [main, sub, create, version, value, lease]...]]...]]
 * Arrays only, keys in byte order, leases as decimal strings (int64 does not fit a JS number): the
 * same state always encodes to the same bytes, which Raft snapshots of equal state rely on.
 */
const packr = new Packr({ useRecords: false, moreTypes: false });
const FORMAT = 1;

type RecTuple = [number, number] | [number, number, number, number, Uint8Array, string];

export interface SnapshotState {
  revision: number;
  compactRevision: number;
  history: History;
}

export function encodeSnapshot(s: SnapshotState): Uint8Array {
  const keys: [Uint8Array, RecTuple[]][] = [];
  for (const [k, recs] of s.history.entries()) {
    keys.push([
      fromBin(k),
      recs.map((r): RecTuple => {
        if (!r.live) return [r.main, r.sub];
        return [r.main, r.sub, r.create, r.version, s.history.value(r), r.lease.toString()];
      }),
    ]);
  }
  return packr.pack([FORMAT, s.revision, s.compactRevision, keys]);
}

export function decodeSnapshot(data: Uint8Array): SnapshotState {
  const [format, revision, compactRevision, keys] = packr.unpack(data) as [
    number,
    number,
    number,
    [Uint8Array, RecTuple[]][],
  ];
  if (format !== FORMAT) throw new Error(`mvcc: unknown snapshot format ${format}`);
  // Records arrive in key order; the history wants them in revision order.
  const all: { k: string; rec: Rec }[] = [];
  for (const [rawKey, tuples] of keys) {
    const k = toBin(new Uint8Array(rawKey));
    for (const t of tuples) {
      const rec: Rec =
        t.length === 2
          ? {
              main: t[0],
              sub: t[1],
              live: false,
              create: 0,
              version: 0,
              lease: 0n,
              size: 0,
              value: undefined,
            }
          : {
              main: t[0],
              sub: t[1],
              live: true,
              create: t[2],
              version: t[3],
              lease: t[5] === "0" ? 0n : BigInt(t[5]),
              size: t[4].length,
              value: new Uint8Array(t[4]),
            };
      all.push({ k, rec });
    }
  }
  all.sort((a, b) => a.rec.main - b.rec.main || a.rec.sub - b.rec.sub);
  const history = new History();
  history.beginBulk();
  for (const { k, rec } of all) history.append(k, rec);
  history.endBulk();
  return { revision, compactRevision, history };
}
