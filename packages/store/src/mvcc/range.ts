import { compareBytes, keyRange } from "./bytes.js";
import { MvccError } from "./errors.js";
import type { Found, History } from "./history.js";
import type { RangeRequest, RangeResponse, SortTarget } from "./types.js";

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

  const all = h.rangeRecs(keyRange(req.key, req.range_end), rev);
  // count is the number of keys in the range at rev, before the min/max filters and limit (etcd
  // returns mvcc's total; the filters prune only the fetched kvs).
  const count = all.length;
  let found = req.count_only ? [] : all;

  const { min_mod_revision: minMod, max_mod_revision: maxMod } = req;
  const { min_create_revision: minCreate, max_create_revision: maxCreate } = req;
  if (maxMod) found = found.filter((f) => f.rec.main <= maxMod);
  if (minMod) found = found.filter((f) => f.rec.main >= minMod);
  if (maxCreate) found = found.filter((f) => f.rec.create <= maxCreate);
  if (minCreate) found = found.filter((f) => f.rec.create >= minCreate);

  // etcd: a non-KEY target with order NONE sorts ASCEND; KEY with NONE keeps mvcc's key order.
  const target = req.sort_target ?? "KEY";
  let order = req.sort_order ?? "NONE";
  if (target !== "KEY" && order === "NONE") order = "ASCEND";
  if (order !== "NONE") {
    const cmp = sortComparator(h, target);
    // Stable sort over the key-ordered fetch: ties stay in key order for both directions, as Go's
    // insertion sort leaves them for small results (for large ones etcd's order of ties is unspecified).
    found = [...found].sort(order === "ASCEND" ? cmp : (a, b) => cmp(b, a));
  }

  // The limit applies after filtering and sorting; `more` says the filtered result was cut.
  // Values are read only for what is returned.
  let more = false;
  const limit = req.limit ?? 0;
  if (limit > 0 && found.length > limit) {
    found = found.slice(0, limit);
    more = true;
  }
  const kvs = found.map((f) => h.kv(f.k, f.rec, req.keys_only !== true));
  return { header: { revision: curRev }, kvs, more, count };
}

function sortComparator(h: History, target: SortTarget): (a: Found, b: Found) => number {
  switch (target) {
    case "KEY":
      return (a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0);
    case "VERSION":
      return (a, b) => a.rec.version - b.rec.version;
    case "CREATE":
      return (a, b) => a.rec.create - b.rec.create;
    case "MOD":
      return (a, b) => a.rec.main - b.rec.main;
    case "VALUE":
      return (a, b) => compareBytes(h.value(a.rec), h.value(b.rec));
  }
}
