/**
 * The replicated state of `skiff store`: the MVCC key space, the leases (id -> granted TTL),
 * alarms and the members' published attributes. Every member applies the same requests in the
 * same order and gets the same results; errors are results too (an apply never throws for a bad
 * request, or the member would stop).
 */
import type { Entry } from "@skiff/raft";
import { Packr } from "msgpackr";
import { MvccError } from "../mvcc/errors.js";
import { MvccStore } from "../mvcc/store.js";
import type * as m from "../mvcc/types.js";
import type { StateMachine } from "../raftnode/statemachine.js";

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

export interface MemberAttributes {
  name: string;
  clientURLs: string[];
}

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

/** etcd's lease limits (lease/lessor.go): MaxLeaseTTL is 9,000,000,000 s. */
export const maxLeaseTTL = 9_000_000_000;

export class StoreStateMachine implements StateMachine {
  mvcc: MvccStore;
  readonly leases = new Map<bigint, { ttl: number }>();
  readonly alarms = new Map<string, { memberId: string; alarm: number }>();
  readonly attributes = new Map<string, MemberAttributes>();
  /** Watch and lease hooks, called after each applied write (on every member). */
  onEvents: ((revision: number, events: m.Event[]) => void) | undefined;
  onLeaseGranted: ((id: bigint, ttl: number) => void) | undefined;
  onLeaseRevoked: ((id: bigint) => void) | undefined;
  /** After restore() replaced the state (a snapshot from the leader): watchers must catch up. */
  onRestored: ((revision: number) => void) | undefined;

  constructor() {
    this.mvcc = this.newMvcc();
  }

  private newMvcc(): MvccStore {
    return new MvccStore({
      onEvents: (rev, events) => this.onEvents?.(rev, events),
      leaseExists: (id) => this.leases.has(id),
    });
  }

  apply(entry: Entry): StoreResult {
    const r = decodeRequest(entry.data);
    try {
      return { ok: this.execute(r), revision: this.mvcc.revision };
    } catch (e) {
      if (e instanceof MvccError) return { err: e.message, code: e.code };
      if (e instanceof StoreError) return { err: e.message, code: e.code };
      throw e;
    }
  }

  private execute(r: StoreRequest): unknown {
    switch (r.op) {
      case "put":
        return this.mvcc.put(r.req);
      case "deleteRange":
        return this.mvcc.deleteRange(r.req);
      case "txn":
        return this.mvcc.txn(r.req);
      case "compact":
        return this.mvcc.compact(r.revision);
      case "leaseGrant": {
        if (this.leases.has(r.id)) throw new StoreError("LeaseExist", "etcdserver: lease already exists");
        this.leases.set(r.id, { ttl: r.ttl });
        this.onLeaseGranted?.(r.id, r.ttl);
        return { id: r.id, ttl: r.ttl };
      }
      case "leaseRevoke": {
        if (!this.leases.has(r.id)) throw new MvccError("leaseNotFound");
        // The attached keys go in one revision, then the lease (etcd lessor.Revoke).
        const res = this.mvcc.revokeLease(r.id);
        this.leases.delete(r.id);
        this.onLeaseRevoked?.(r.id);
        return res;
      }
      case "alarm": {
        const key = `${r.memberId}/${r.alarm}`;
        if (r.action === "activate") this.alarms.set(key, { memberId: r.memberId, alarm: r.alarm });
        else this.alarms.delete(key);
        return [...this.alarms.values()];
      }
      case "publish":
        this.attributes.set(r.memberId, { name: r.name, clientURLs: r.clientURLs });
        return null;
    }
  }

  snapshot(): Uint8Array {
    return packr.pack({
      mvcc: this.mvcc.snapshot(),
      leases: [...this.leases].map(([id, l]) => [id, l.ttl]),
      alarms: [...this.alarms.values()],
      attributes: [...this.attributes],
    });
  }

  restore(data: Uint8Array): void {
    this.leases.clear();
    this.alarms.clear();
    this.attributes.clear();
    if (data.length === 0) {
      this.mvcc = this.newMvcc();
      return;
    }
    const s = packr.unpack(data) as {
      mvcc: Uint8Array;
      leases: [bigint, number][];
      alarms: { memberId: string; alarm: number }[];
      attributes: [string, MemberAttributes][];
    };
    for (const [id, ttl] of s.leases) this.leases.set(id, { ttl });
    this.mvcc = this.newMvcc();
    this.mvcc.restore(s.mvcc);
    for (const a of s.alarms) this.alarms.set(`${a.memberId}/${a.alarm}`, a);
    for (const [id, a] of s.attributes) this.attributes.set(id, a);
    this.onRestored?.(this.mvcc.revision);
  }
}

/** A store-level error that is a result of applying a request (not a member failure). */
export class StoreError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "StoreError";
  }
}
