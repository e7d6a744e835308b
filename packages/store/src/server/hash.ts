/**
 * The Maintenance service's Hash and HashKV (etcd 3.4 v3rpc/maintenance.go) on this member's
 * own state, answered locally without Raft as etcd does: members that applied the same entries
 * give the same numbers, which is what corruption checks between members compare.
 */
import { crc32c } from "../mvcc/crc32c.js";
import { MvccError } from "../mvcc/errors.js";
import { encodeKeyValue, hashByRev, revisionKey } from "../mvcc/hash.js";
import type { MvccStore } from "../mvcc/store.js";
import type { StoreStateMachine } from "./statemachine.js";

export interface HashKVResult {
  hash: number;
  /** The store's current revision (the response header's). */
  revision: number;
  compactRevision: number;
}

/**
 * etcd's HashByRev: `revision` 0 hashes up to the current revision; one at or below the compact
 * revision is compacted, one above the current revision is a future revision.
 */
export function hashKV(mvcc: MvccStore, revision: number): HashKVResult {
  const current = mvcc.revision;
  const compactRevision = mvcc.compacted;
  if (revision > 0 && revision <= compactRevision) throw new MvccError("compacted");
  if (revision > 0 && revision > current) throw new MvccError("futureRev");
  const rev = revision === 0 ? current : revision;
  // Gathered once for both passes: the in-memory history sorts its records to yield them.
  const records = [...mvcc.revisions()];
  return {
    hash: hashByRev(() => records, rev, compactRevision),
    revision: current,
    compactRevision,
  };
}

/**
 * The whole replicated state's CRC-32C (etcd's Hash covers its whole bbolt file, which no other
 * store can reproduce byte for byte): every kept MVCC record as HashKV encodes it, then the
 * revisions, leases, alarms and published member attributes in a fixed order.
 */
export function storeHash(sm: StoreStateMachine): number {
  let crc = 0;
  for (const r of sm.mvcc.revisions()) {
    crc = crc32c(revisionKey(r.main, r.sub, r.tombstone), crc);
    crc = crc32c(encodeKeyValue(r.kv), crc);
  }
  const meta = {
    revision: sm.mvcc.revision,
    compacted: sm.mvcc.compacted,
    leases: [...sm.leases].map(([id, l]) => [id.toString(), l.ttl]).sort(),
    alarms: [...sm.alarms.keys()].sort(),
    attributes: [...sm.attributes].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  };
  return crc32c(new TextEncoder().encode(JSON.stringify(meta)), crc);
}
