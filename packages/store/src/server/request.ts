/**
 * What goes through Raft for `skiff store`, and its encoding: the requests the state machine
 * (statemachine.ts) applies and the results it gives back.
 */
import { Packr } from "msgpackr";
import type * as m from "../mvcc/types.js";

/** What goes through Raft. Lease ids are bigint (etcd's int64). */
export type StoreRequest =
  | { op: "put"; req: m.PutRequest }
  | { op: "deleteRange"; req: m.DeleteRangeRequest }
  | { op: "txn"; req: m.TxnRequest }
  | { op: "compact"; revision: number }
  | { op: "leaseGrant"; id: bigint; ttl: number }
  | { op: "leaseRevoke"; id: bigint }
  | { op: "alarm"; action: "activate" | "deactivate"; memberId: string; alarm: number }
  | { op: "publish"; memberId: string; name: string; clientURLs: string[] };

export type StoreResult = { ok: unknown; revision: number } | { err: string; code: string };

const packr = new Packr({ useRecords: false, moreTypes: true });

/**
 * Puts, most of what goes through Raft, have a binary form of their own: msgpack's map of the
 * request cost a key string per field to write on the proposing member and to read on every
 * member. [0x00, flags, lease (int64 BE), key length (uint32 BE), key, value]. Every other request
 * is msgpack, which never starts with 0x00 (a request is a map), so both decode side by side.
 */
const putTag = 0x00;
const putHeader = 14;
const flag = { prevKv: 1, ignoreValue: 2, ignoreLease: 4 } as const;

function encodePut(r: m.PutRequest): Uint8Array {
  const value = r.value ?? new Uint8Array(0);
  const out = new Uint8Array(putHeader + r.key.length + value.length);
  const view = new DataView(out.buffer);
  out[0] = putTag;
  out[1] =
    (r.prev_kv ? flag.prevKv : 0) |
    (r.ignore_value ? flag.ignoreValue : 0) |
    (r.ignore_lease ? flag.ignoreLease : 0);
  view.setBigInt64(2, r.lease ?? 0n);
  view.setUint32(10, r.key.length);
  out.set(r.key, putHeader);
  out.set(value, putHeader + r.key.length);
  return out;
}

function decodePut(data: Uint8Array): StoreRequest {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const flags = data[1] as number;
  const keyEnd = putHeader + view.getUint32(10);
  if (keyEnd > data.length) throw new Error("put request: key runs past the entry");
  return {
    op: "put",
    req: {
      key: data.subarray(putHeader, keyEnd),
      value: data.subarray(keyEnd),
      lease: view.getBigInt64(2),
      prev_kv: (flags & flag.prevKv) !== 0,
      ignore_value: (flags & flag.ignoreValue) !== 0,
      ignore_lease: (flags & flag.ignoreLease) !== 0,
    },
  };
}

export function encodeRequest(r: StoreRequest): Uint8Array {
  return r.op === "put" ? encodePut(r.req) : packr.pack(r);
}

export function decodeRequest(data: Uint8Array): StoreRequest {
  return data[0] === putTag ? decodePut(data) : (packr.unpack(data) as StoreRequest);
}
