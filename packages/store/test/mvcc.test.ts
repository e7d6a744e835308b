import t from "tap";
import { MvccError, MvccStore, prefixEnd } from "../src/mvcc/index.js";
import { b, kvPlain, str } from "./mvcc-helpers.js";

const keys = (kvs: { key: Uint8Array }[]) => kvs.map((kv) => str(kv.key));

t.test("revisions: put a, put b, put a gives 2, 3, 4 as etcd", async (t) => {
  const s = new MvccStore();
  t.equal(s.revision, 1, "a fresh store is at revision 1");
  t.equal(s.put({ key: b("a"), value: b("1") }).header.revision, 2);
  t.equal(s.put({ key: b("b"), value: b("1") }).header.revision, 3);
  const r = s.put({ key: b("a"), value: b("2"), prev_kv: true });
  t.equal(r.header.revision, 4);
  t.same(kvPlain(r.prev_kv), {
    key: "a",
    create_revision: 2,
    mod_revision: 2,
    version: 1,
    value: "1",
    lease: 0,
  });
  const got = s.range({ key: b("a") });
  t.same(got.kvs.map(kvPlain), [
    { key: "a", create_revision: 2, mod_revision: 4, version: 2, value: "2", lease: 0 },
  ]);
  t.equal(got.header.revision, 4);
});

t.test("delete: count, no bump on nothing, re-create starts a new generation", async (t) => {
  const s = new MvccStore();
  s.put({ key: b("a"), value: b("1") });
  s.put({ key: b("a"), value: b("2") });
  const d = s.deleteRange({ key: b("a"), prev_kv: true });
  t.same([d.deleted, d.header.revision, d.prev_kvs.map((kv) => str(kv.value))], [1, 4, ["2"]]);
  const none = s.deleteRange({ key: b("a") });
  t.same([none.deleted, none.header.revision, s.revision], [0, 4, 4], "deleting nothing does not bump");
  s.put({ key: b("a"), value: b("3") });
  t.same(kvPlain(s.range({ key: b("a") }).kvs[0]), {
    key: "a",
    create_revision: 5,
    mod_revision: 5,
    version: 1,
    value: "3",
    lease: 0,
  });
  t.equal(s.range({ key: b("a"), revision: 4 }).kvs.length, 0, "deleted at 4");
  t.equal(str(s.range({ key: b("a"), revision: 3 }).kvs[0]?.value), "2", "history before the delete");
  for (const k of ["k1", "k2", "k3"]) s.put({ key: b(k), value: b("v") });
  const dr = s.deleteRange({ key: b("k"), range_end: prefixEnd(b("k")) });
  t.same([dr.deleted, dr.header.revision], [3, 9], "a range delete is one revision");
});

t.test("range: single, range, from-key, prefix, limit, keys_only, count_only", async (t) => {
  const s = new MvccStore();
  for (const k of ["a", "b", "ba", "bb", "c", "d"]) s.put({ key: b(k), value: b(`v${k}`) });
  t.same(keys(s.range({ key: b("b") }).kvs), ["b"]);
  t.same(keys(s.range({ key: b("b"), range_end: b("c") }).kvs), ["b", "ba", "bb"]);
  t.same(keys(s.range({ key: b("b"), range_end: new Uint8Array([0]) }).kvs), ["b", "ba", "bb", "c", "d"]);
  t.same(keys(s.range({ key: new Uint8Array([0]), range_end: new Uint8Array([0]) }).kvs).length, 6);
  t.same(keys(s.range({ key: b("b"), range_end: prefixEnd(b("b")) }).kvs), ["b", "ba", "bb"]);
  t.same(keys(s.range({ key: b("c"), range_end: b("b") }).kvs), [], "an empty interval");
  const lim = s.range({ key: b("a"), range_end: b("z"), limit: 2 });
  t.same([keys(lim.kvs), lim.more, lim.count], [["a", "b"], true, 6]);
  const exact = s.range({ key: b("a"), range_end: b("z"), limit: 6 });
  t.same([exact.more, exact.count], [false, 6]);
  const ko = s.range({ key: b("a"), keys_only: true });
  t.same([str(ko.kvs[0]?.value), ko.kvs[0]?.version], ["", 1]);
  t.equal(str(s.range({ key: b("a") }).kvs[0]?.value), "va", "keys_only did not strip the stored value");
  const co = s.range({ key: b("a"), range_end: b("z"), count_only: true, limit: 1 });
  t.same([co.kvs.length, co.count, co.more], [0, 6, false]);
  t.same(prefixEnd(new Uint8Array([0x61, 0xff])), new Uint8Array([0x62]));
  t.same(prefixEnd(new Uint8Array([0xff])), new Uint8Array([0]));
});

t.test("range: historical revisions and their errors", async (t) => {
  const s = new MvccStore();
  s.put({ key: b("a"), value: b("1") });
  s.put({ key: b("a"), value: b("2") });
  s.put({ key: b("a"), value: b("3") });
  t.equal(str(s.range({ key: b("a"), revision: 2 }).kvs[0]?.value), "1");
  t.equal(s.range({ key: b("a"), revision: 2 }).header.revision, 4, "the header is the current revision");
  t.equal(s.range({ key: b("a"), revision: 1 }).kvs.length, 0);
  t.throws(() => s.range({ key: b("a"), revision: 5 }), {
    message: "mvcc: required revision is a future revision",
    code: "futureRev",
  });
  s.compact(3);
  t.throws(() => s.range({ key: b("a"), revision: 2 }), {
    message: "mvcc: required revision has been compacted",
  });
  t.equal(
    str(s.range({ key: b("a"), revision: 3 }).kvs[0]?.value),
    "2",
    "the compact revision stays readable",
  );
  t.throws(() => s.range({ key: new Uint8Array(0) }), { message: "etcdserver: key is not provided" });
});

t.test("range: sort order and target as etcd's apply.go", async (t) => {
  const s = new MvccStore();
  s.put({ key: b("a"), value: b("z") }); // 2
  s.put({ key: b("b"), value: b("y") }); // 3
  s.put({ key: b("c"), value: b("x") }); // 4
  s.put({ key: b("a"), value: b("w") }); // 5: a version 2, mod 5
  s.put({ key: b("c"), value: b("x") }); // 6: c version 2, mod 6
  const q = { key: b("a"), range_end: b("z") };
  t.same(keys(s.range({ ...q, sort_order: "DESCEND" }).kvs), ["c", "b", "a"]);
  t.same(keys(s.range({ ...q, sort_target: "VERSION" }).kvs), ["b", "a", "c"], "NONE + VERSION ascends");
  t.same(keys(s.range({ ...q, sort_order: "DESCEND", sort_target: "VERSION" }).kvs), ["a", "c", "b"]);
  t.same(keys(s.range({ ...q, sort_order: "ASCEND", sort_target: "MOD" }).kvs), ["b", "a", "c"]);
  t.same(keys(s.range({ ...q, sort_order: "DESCEND", sort_target: "CREATE" }).kvs), ["c", "b", "a"]);
  t.same(keys(s.range({ ...q, sort_order: "ASCEND", sort_target: "VALUE" }).kvs), ["a", "c", "b"]);
  const top = s.range({ ...q, sort_order: "DESCEND", sort_target: "MOD", limit: 1 });
  t.same([keys(top.kvs), top.more, top.count], [["c"], true, 3], "limit applies after sorting");
});

t.test("range: min/max revision filters apply before limit, count ignores them", async (t) => {
  const s = new MvccStore();
  for (const k of ["a", "b", "c", "d"]) s.put({ key: b(k), value: b("1") }); // 2..5
  s.put({ key: b("a"), value: b("2") }); // 6
  const q = { key: b("a"), range_end: b("z") };
  t.same(keys(s.range({ ...q, min_mod_revision: 4 }).kvs), ["a", "c", "d"]);
  t.same(keys(s.range({ ...q, max_mod_revision: 4 }).kvs), ["b", "c"]);
  t.same(keys(s.range({ ...q, min_create_revision: 3, max_create_revision: 4 }).kvs), ["b", "c"]);
  const r = s.range({ ...q, min_mod_revision: 4, limit: 2 });
  t.same([keys(r.kvs), r.more, r.count], [["a", "c"], true, 4]);
  const r2 = s.range({ ...q, min_mod_revision: 5, limit: 2 });
  t.same([keys(r2.kvs), r2.more, r2.count], [["a", "d"], false, 4], "more counts only filtered kvs");
});

t.test("put: ignore_value, ignore_lease and their errors", async (t) => {
  const live = new Set([7n]);
  const s = new MvccStore({ leaseExists: (id) => live.has(id) });
  const err = (code: string, message: string) => ({ code, message, constructor: MvccError });
  t.throws(() => s.put({ key: b("a"), ignore_value: true }), err("keyNotFound", "etcdserver: key not found"));
  t.throws(() => s.put({ key: b("a"), ignore_lease: true }), err("keyNotFound", "etcdserver: key not found"));
  t.throws(
    () => s.put({ key: b("a"), lease: 8n }),
    err("leaseNotFound", "etcdserver: requested lease not found"),
  );
  t.throws(() => s.put({ key: new Uint8Array(0) }), err("emptyKey", "etcdserver: key is not provided"));
  t.equal(s.revision, 1, "failed puts wrote nothing");
  s.put({ key: b("a"), value: b("v"), lease: 7n });
  t.throws(
    () => s.put({ key: b("a"), value: b("x"), ignore_value: true }),
    err("valueProvided", "etcdserver: value is provided"),
  );
  t.throws(
    () => s.put({ key: b("a"), lease: 7n, ignore_lease: true }),
    err("leaseProvided", "etcdserver: lease is provided"),
  );
  s.put({ key: b("a"), ignore_value: true });
  t.same(kvPlain(s.range({ key: b("a") }).kvs[0]), {
    key: "a",
    create_revision: 2,
    mod_revision: 3,
    version: 2,
    value: "v",
    lease: 0,
  });
  s.put({ key: b("a"), value: b("w"), ignore_lease: true });
  t.same(kvPlain(s.range({ key: b("a") }).kvs[0])?.value, "w");
  t.same(s.keysWithLease(7n), [], "a put without the lease detached the key");
});

t.test("leases: keysWithLease and revoke in one revision", async (t) => {
  const s = new MvccStore();
  s.put({ key: b("x"), value: b("1"), lease: 5n });
  s.put({ key: b("y"), value: b("1"), lease: 5n });
  s.put({ key: b("z"), value: b("1"), lease: 6n });
  t.same(s.keysWithLease(5n).map(str), ["x", "y"]);
  const seen: [number, string[]][] = [];
  const w = new MvccStore({
    onEvents: (rev, evs) => seen.push([rev, evs.map((e) => `${e.type}:${str(e.kv.key)}`)]),
  });
  w.restore(s.snapshot());
  t.same(w.keysWithLease(5n).map(str), ["x", "y"], "restore rebuilds the lease index");
  t.same(w.revokeLease(5n), { revision: 5, deleted: 2 });
  t.same(seen, [[5, ["DELETE:x", "DELETE:y"]]]);
  t.same(w.revokeLease(5n), { revision: 5, deleted: 0 }, "revoking an empty lease does not bump");
  t.same(w.keysWithLease(5n), []);
  w.deleteRange({ key: b("z") });
  t.same(w.keysWithLease(6n), [], "a delete detaches");
});

t.test("events: hook and eventsSince in revision order with prev_kv", async (t) => {
  const got: unknown[] = [];
  const s = new MvccStore({ onEvents: (rev, evs) => got.push([rev, evs.map((e) => e.kv.mod_revision)]) });
  s.put({ key: b("a"), value: b("1") }); // 2
  s.txn({
    success: [
      { request_put: { key: b("b"), value: b("1") } },
      { request_delete_range: { key: b("a") } },
      { request_put: { key: b("c"), value: b("1") } },
    ],
  }); // 3
  s.deleteRange({ key: b("nothing") });
  t.same(got, [
    [2, [2]],
    [3, [3, 3, 3]],
  ]);
  const evs = s.eventsSince(2, new Uint8Array([0]), new Uint8Array([0]));
  t.same(
    evs.map((e) => [e.type, str(e.kv.key), e.kv.mod_revision, str(e.prev_kv?.value)]),
    [
      ["PUT", "a", 2, undefined],
      ["PUT", "b", 3, undefined],
      ["DELETE", "a", 3, "1"],
      ["PUT", "c", 3, undefined],
    ],
  );
  t.same(kvPlain(evs[2]?.kv), {
    key: "a",
    create_revision: 0,
    mod_revision: 3,
    version: 0,
    value: "",
    lease: 0,
  });
  t.same(s.eventsSince(3, b("a")).length, 1);
  s.put({ key: b("b"), value: b("2") }); // 4
  s.compact(3);
  t.throws(() => s.eventsSince(2, b("a")), { message: "mvcc: required revision has been compacted" });
  t.same(
    s.eventsSince(3, b("a"), b("z")).map((e) => `${e.type}:${str(e.kv.key)}@${e.kv.mod_revision}`),
    ["PUT:b@3", "DELETE:a@3", "PUT:c@3", "PUT:b@4"],
    "events at the compact revision itself are kept",
  );
});

t.test("compact: errors and what survives", async (t) => {
  const s = new MvccStore();
  t.throws(() => s.compact(2), { message: "mvcc: required revision is a future revision" });
  s.put({ key: b("a"), value: b("1") }); // 2
  s.put({ key: b("b"), value: b("1") }); // 3
  s.deleteRange({ key: b("b") }); // 4
  s.put({ key: b("a"), value: b("2") }); // 5
  const before = s.sizeBytes;
  t.same(s.compact(5), { header: { revision: 5 } });
  t.ok(s.sizeBytes < before, "compaction frees history");
  t.throws(() => s.compact(5), { message: "mvcc: required revision has been compacted" });
  t.throws(() => s.compact(4), { message: "mvcc: required revision has been compacted" });
  t.same(keys(s.range({ key: b("a"), range_end: b("z"), revision: 5 }).kvs), ["a"]);
  t.equal(s.revision, 5, "compaction takes no revision");
  t.equal(s.compacted, 5);
});
