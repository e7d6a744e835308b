import t from "tap";
import {
  type DeleteRangeResponse,
  MvccStore,
  type PutResponse,
  type RangeResponse,
  type RequestOp,
  type ResponseOp,
  type TxnRequest,
  type TxnResponse,
} from "../src/mvcc/index.js";
import { b, kvPlain, str } from "./mvcc-helpers.js";

const put = (k: string, v: string): RequestOp => ({ request_put: { key: b(k), value: b(v) } });
const get = (k: string, end?: string): RequestOp => ({
  request_range: end === undefined ? { key: b(k) } : { key: b(k), range_end: b(end) },
});
const del = (k: string, end?: string): RequestOp => ({
  request_delete_range: end === undefined ? { key: b(k) } : { key: b(k), range_end: b(end) },
});

/** Narrows a ResponseOp to the kind a test expects (a wrong kind fails the test). */
function pick<K extends "response_range" | "response_put" | "response_delete_range" | "response_txn">(
  r: ResponseOp | undefined,
  kind: K,
): {
  response_range: RangeResponse;
  response_put: PutResponse;
  response_delete_range: DeleteRangeResponse;
  response_txn: TxnResponse;
}[K] {
  if (!r || !(kind in r)) throw new Error(`expected ${kind}`);
  return (r as unknown as Record<K, never>)[kind];
}

function seeded(): MvccStore {
  const s = new MvccStore();
  s.put({ key: b("a"), value: b("1"), lease: 9n }); // 2
  s.put({ key: b("b"), value: b("2") }); // 3
  s.put({ key: b("a"), value: b("3"), lease: 9n }); // 4: a create 2, mod 4, version 2
  return s;
}

t.test("txn: compares on every target and result", async (t) => {
  const s = seeded();
  const ok = (c: TxnRequest["compare"]) => s.txn({ compare: c }).succeeded;
  const a = b("a");
  t.ok(ok([{ key: a, target: "VALUE", result: "EQUAL", value: b("3") }]));
  t.ok(ok([{ key: a, target: "VALUE", result: "GREATER", value: b("2") }]));
  t.ok(ok([{ key: a, target: "VERSION", result: "EQUAL", version: 2 }]));
  t.ok(ok([{ key: a, target: "CREATE", result: "LESS", create_revision: 3 }]));
  t.ok(ok([{ key: a, target: "MOD", result: "NOT_EQUAL", mod_revision: 2 }]));
  t.ok(ok([{ key: a, target: "LEASE", result: "EQUAL", lease: 9n }]));
  t.notOk(ok([{ key: a, target: "MOD", result: "GREATER", mod_revision: 4 }]));
  t.notOk(
    ok([
      { key: a, target: "VERSION", result: "EQUAL", version: 2 },
      { key: a, target: "LEASE", result: "EQUAL", lease: 0n },
    ]),
    "all compares must hold",
  );
  t.ok(ok([{ key: b("zz"), target: "CREATE", result: "EQUAL", create_revision: 0 }]), "absent key: zeros");
  t.ok(ok([{ key: b("zz"), target: "VERSION", result: "EQUAL" }]), "a missing operand is zero");
  t.notOk(
    ok([{ key: b("zz"), target: "VALUE", result: "EQUAL", value: b("") }]),
    "value on absent key fails",
  );
  const range = { key: b("a"), range_end: b("c") };
  t.ok(ok([{ ...range, target: "MOD", result: "GREATER", mod_revision: 2 }]), "every key in range holds");
  t.notOk(ok([{ ...range, target: "VERSION", result: "EQUAL", version: 2 }]), "b has version 1");
  t.equal(s.revision, 4, "read-only txns take no revision");
  t.equal(s.txn({}).header.revision, 4);
});

t.test("txn: one revision, sub order, reads see earlier writes", async (t) => {
  const s = seeded();
  const r = s.txn({
    compare: [{ key: b("a"), target: "VERSION", result: "EQUAL", version: 2 }],
    success: [get("a"), put("c", "x"), get("c"), del("b"), get("a", "z"), put("d", "y")],
    failure: [put("never", "x")],
  });
  t.ok(r.succeeded);
  t.equal(r.header.revision, 5);
  const [r0, p1, r2, d3, r4, p5] = r.responses;
  t.equal(pick(r0, "response_range").header.revision, 4, "a read before any write sees the old revision");
  t.equal(pick(p1, "response_put").header.revision, 5);
  t.same(pick(r2, "response_range").kvs.map(kvPlain), [
    { key: "c", create_revision: 5, mod_revision: 5, version: 1, value: "x", lease: 0 },
  ]);
  const d = pick(d3, "response_delete_range");
  t.same([d.deleted, d.header.revision], [1, 5]);
  t.same(
    pick(r4, "response_range").kvs.map((kv) => str(kv.key)),
    ["a", "c"],
    "b is gone, c is there",
  );
  t.equal(pick(p5, "response_put").header.revision, 5);
  t.same(
    s.eventsSince(5, new Uint8Array([0]), new Uint8Array([0])).map((e) => `${e.type}:${str(e.kv.key)}`),
    ["PUT:c", "DELETE:b", "PUT:d"],
  );
  const f = s.txn({
    compare: [{ key: b("a"), target: "VALUE", result: "EQUAL", value: b("nope") }],
    success: [put("x", "1")],
    failure: [del("nothing")],
  });
  t.same([f.succeeded, f.header.revision, s.revision], [false, 5, 5], "a failure branch that writes nothing");
});

t.test("txn: nested txns and their compares see the state before the txn", async (t) => {
  const s = seeded();
  const r = s.txn({
    success: [
      put("n", "1"),
      {
        request_txn: {
          // n does not exist before the txn, so this compare fails even though n was just put.
          compare: [{ key: b("n"), target: "VERSION", result: "GREATER", version: 0 }],
          success: [put("yes", "1")],
          failure: [put("no", "1"), get("n")],
        },
      },
    ],
  });
  t.equal(r.header.revision, 5);
  const nested = pick(r.responses[1], "response_txn");
  t.equal(nested.succeeded, false);
  t.equal(nested.header.revision, 0, "a nested txn's header is empty, as etcd's");
  t.equal(
    str(pick(nested.responses[1], "response_range").kvs[0]?.value),
    "1",
    "but its reads see the writes",
  );
  t.same(
    s.range({ key: b("n"), range_end: b("z") }).kvs.map((kv) => str(kv.key)),
    ["n", "no"],
  );
});

t.test("txn: etcd's request checks and their exact errors", async (t) => {
  const s = seeded();
  const dup = { message: "etcdserver: duplicate key given in txn request", code: "duplicateKey" };
  t.throws(() => s.txn({ success: [put("x", "1"), put("x", "2")] }), dup);
  t.throws(() => s.txn({ success: [put("b", "1"), del("a", "c")] }), dup, "put inside a deleted range");
  t.throws(() => s.txn({ success: [del("x"), { request_txn: { success: [put("x", "1")] } }] }), dup);
  t.throws(() => s.txn({ success: [put("x", "1"), { request_txn: { failure: [del("x")] } }] }), dup);
  t.throws(
    () =>
      s.txn({
        success: [put("x", "1"), { request_txn: { success: [put("y", "1")], failure: [put("x", "1")] } }],
      }),
    dup,
  );
  t.doesNotThrow(
    () => s.txn({ success: [{ request_txn: { success: [put("x", "1")], failure: [put("x", "2")] } }] }),
    "both branches of one nested txn may put a key",
  );
  t.doesNotThrow(() => s.txn({ success: [del("a", "c"), del("b")] }), "deletes may overlap");
  t.doesNotThrow(() => s.txn({ success: [put("x", "1")], failure: [put("x", "2")] }));
  const rev = s.revision;
  t.throws(
    () => s.txn({ success: [put("q", "1"), { request_put: { key: b("nope"), ignore_value: true } }] }),
    {
      message: "etcdserver: key not found",
    },
  );
  t.throws(() => s.txn({ success: [put("q", "1"), { request_range: { key: b("a"), revision: rev + 1 } }] }), {
    message: "mvcc: required revision is a future revision",
  });
  t.throws(() => s.txn({ compare: [{ key: new Uint8Array(0), target: "VERSION", result: "EQUAL" }] }), {
    message: "etcdserver: key is not provided",
  });
  const many = Array.from({ length: 129 }, (_, i) => put(`k${i}`, "v"));
  t.throws(() => s.txn({ success: many }), { message: "etcdserver: too many operations in txn request" });
  t.doesNotThrow(() => s.txn({ success: many.slice(0, 128) }));
  t.throws(() => s.txn({ success: [{} as RequestOp] }), { message: "etcdserver: key not found" });
  const leased = new MvccStore({ leaseExists: () => false });
  t.throws(() => leased.txn({ success: [{ request_put: { key: b("a"), lease: 3n } }] }), {
    message: "etcdserver: requested lease not found",
  });
  t.equal(s.range({ key: b("q") }).kvs.length, 0, "failed txns wrote nothing");
});
