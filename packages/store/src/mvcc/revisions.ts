/**
 * The History's records in revision order, as mvcc/hash.ts reads them (etcd iterates its key
 * bucket, which bbolt keeps in revision order). Values are read as the hash goes (from disk once
 * they are there).
 */
import { fromBin } from "./bytes.js";
import type { RevisionRecord } from "./hash.js";
import type { History } from "./history.js";

const noValue = new Uint8Array(0);

export function* historyRevisions(h: History): Generator<RevisionRecord> {
  for (const [k, r] of h.revisions()) {
    if (r.live) yield { main: r.main, sub: r.sub, tombstone: false, kv: h.kv(k, r) };
    else {
      const kv = {
        key: fromBin(k),
        create_revision: 0,
        mod_revision: 0,
        version: 0,
        value: noValue,
        lease: 0n,
      };
      yield { main: r.main, sub: r.sub, tombstone: true, kv };
    }
  }
}
