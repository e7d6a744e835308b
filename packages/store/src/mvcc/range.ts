import { compareBytes, keyRange } from "./bytes.js";
import { MvccError } from "./errors.js";
import type { History } from "./history.js";
import type { KeyValue, RangeRequest, RangeResponse, SortTarget } from "./types.js";

/**
 * etcd's applierV3backend.Range (etcdserver/apply.go, v3.4) over a read view at `curRev` (the
 * store's revision, or inside a write txn the txn's own revision once it has written), with
 * `compacted` the compact revision.
 */
export function rangeAt(h: History, req: RangeRequest, curRev: number, compacted: number): RangeResponse {
  // mvcc rangeKeys: a future revision is an error, 0 (or negative) means "now".
  let rev = req.revision ?? 0;
  if (rev > curRev) throw new MvccError("futureRev");
  if (rev <= 0) rev = curRev;
  if (rev < compacted) throw new MvccError("compacted");

  const all = h.range(keyRange(req.key, req.range_end), rev);
  // count is the number of keys in the range at rev, before the min/max filters and limit (etcd
  // returns mvcc's total; the filters prune only the fetched kvs).
  const count = all.length;
  let kvs = req.count_only ? [] : all;

  const { min_mod_revision: minMod, max_mod_revision: maxMod } = req;
  const { min_create_revision: minCreate, max_create_revision: maxCreate } = req;
  if (maxMod) kvs = kvs.filter((kv) => kv.mod_revision <= maxMod);
  if (minMod) kvs = kvs.filter((kv) => kv.mod_revision >= minMod);
  if (maxCreate) kvs = kvs.filter((kv) => kv.create_revision <= maxCreate);
  if (minCreate) kvs = kvs.filter((kv) => kv.create_revision >= minCreate);

  // etcd: a non-KEY target with order NONE sorts ASCEND; KEY with NONE keeps mvcc's key order.
  const target = req.sort_target ?? "KEY";
  let order = req.sort_order ?? "NONE";
  if (target !== "KEY" && order === "NONE") order = "ASCEND";
  if (order !== "NONE") {
    const cmp = sortComparator(target);
    // Stable sort over the key-ordered fetch: ties stay in key order for both directions, as Go's
    // insertion sort leaves them for small results (for large ones etcd's order of ties is unspecified).
    kvs = [...kvs].sort(order === "ASCEND" ? cmp : (a, b) => cmp(b, a));
  }

  // The limit applies after filtering and sorting; `more` says the filtered result was cut.
  let more = false;
  const limit = req.limit ?? 0;
  if (limit > 0 && kvs.length > limit) {
    kvs = kvs.slice(0, limit);
    more = true;
  }
  if (req.keys_only) kvs = kvs.map((kv) => ({ ...kv, value: new Uint8Array(0) }));
  return { header: { revision: curRev }, kvs, more, count };
}

function sortComparator(target: SortTarget): (a: KeyValue, b: KeyValue) => number {
  switch (target) {
    case "KEY":
      return (a, b) => compareBytes(a.key, b.key);
    case "VERSION":
      return (a, b) => a.version - b.version;
    case "CREATE":
      return (a, b) => a.create_revision - b.create_revision;
    case "MOD":
      return (a, b) => a.mod_revision - b.mod_revision;
    case "VALUE":
      return (a, b) => compareBytes(a.value, b.value);
  }
}
