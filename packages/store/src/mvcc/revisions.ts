/**
 * The in-memory History's records in revision order, as mvcc/hash.ts reads them (etcd iterates
 * its key bucket, which bbolt keeps in revision order). The History is ordered by key, so this
 * gathers every record and sorts them: fine for the rare HashKV.
 */
import { fromBin } from "./bytes.js";
import type { RevisionRecord } from "./hash.js";
import type { History } from "./history.js";

const noValue = new Uint8Array(0);

export function* historyRevisions(h: History): Generator<RevisionRecord> {
  const all: RevisionRecord[] = [];
  for (const [k, recs] of h.entries()) {
    let key: Uint8Array | undefined;
    for (const r of recs) {
      if (r.kv !== null) all.push({ main: r.main, sub: r.sub, tombstone: false, kv: r.kv });
      else {
        key ??= fromBin(k);
        const kv = { key, create_revision: 0, mod_revision: 0, version: 0, value: noValue, lease: 0n };
        all.push({ main: r.main, sub: r.sub, tombstone: true, kv });
      }
    }
  }
  all.sort((a, b) => a.main - b.main || a.sub - b.sub);
  yield* all;
}
