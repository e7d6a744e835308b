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
        if (!r.kv) return [r.main, r.sub];
        return [r.main, r.sub, r.kv.create_revision, r.kv.version, r.kv.value, r.kv.lease.toString()];
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
  const history = new History();
  for (const [rawKey, tuples] of keys) {
    const key = new Uint8Array(rawKey);
    const k = toBin(key);
    for (const t of tuples) {
      const rec: Rec =
        t.length === 2
          ? { main: t[0], sub: t[1], kv: null }
          : {
              main: t[0],
              sub: t[1],
              kv: {
                key,
                create_revision: t[2],
                mod_revision: t[0],
                version: t[3],
                value: new Uint8Array(t[4]),
                lease: BigInt(t[5]),
              },
            };
      history.append(k, rec);
    }
  }
  return { revision, compactRevision, history };
}
