import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ServiceError } from "@grpc/grpc-js";
import { closeEtcdClients, type EtcdClients, etcdClients, unaryCall } from "@skiff/etcd-client";
import { freePort, waitFor } from "@skiff/testkit";
import fc from "fast-check";
import t from "tap";
import { parseStoreFlags } from "../src/server/flags.js";
import { Store } from "../src/server/store.js";
import { opArbitraries } from "./mvcc-arbitraries.js";
import { type MOp, Model } from "./mvcc-model.js";

/*
 * Property (whole store, over gRPC): random sequences of KV and txn operations applied to the
 * per-revision-copy model and to a real single-member `skiff store` give identical responses,
 * errors and revisions. One store serves every fast-check run: each run first deletes every key
 * (so the store's current state is empty, as the model's is) and then maps model revision r to
 * store revision r + offset, offset = (store revision at the start of the run) - 1; revision 0
 * keeps meaning "none"/"now". Leases and compaction are left out (leases need granting, and
 * compaction is global across runs).
 */

// biome-ignore lint/suspicious/noExplicitAny: decoded protobuf responses, compared as data.
type Any = Record<string, any>;

/** Each call's deadline: far above a call's time, so that a loaded machine is not a model mismatch. */
const callMs = 30_000;

const { putOp, delOp, rangeOp, txnOp } = opArbitraries(fc.constant(0));
const anyOp: fc.Arbitrary<MOp> = fc.oneof(
  { weight: 5, arbitrary: putOp },
  { weight: 2, arbitrary: delOp },
  { weight: 3, arbitrary: rangeOp },
  { weight: 3, arbitrary: txnOp },
);

/** Revisions are drawn small; fold them into [0, rev+1] so most are valid and some are future. */
function resolve(o: MOp, cur: number): MOp {
  if (o.op === "range") return { ...o, revision: o.revision % (cur + 2) };
  if (o.op === "txn") {
    return {
      ...o,
      success: o.success.map((x) => resolve(x, cur)),
      failure: o.failure.map((x) => resolve(x, cur)),
    };
  }
  return o;
}

const SORT_ORDER = { NONE: 0, ASCEND: 1, DESCEND: 2 } as const;
const SORT_TARGET = { KEY: 0, VERSION: 1, CREATE: 2, MOD: 3, VALUE: 4 } as const;
const CMP_RESULT: Record<string, number> = { EQUAL: 0, GREATER: 1, LESS: 2, NOT_EQUAL: 3 };
const CMP_TARGET = { VERSION: 0, CREATE: 1, MOD: 2, VALUE: 3 } as const;

/** Translates revisions between the model (starts at 1) and the store (starts at offset + 1). */
class Revs {
  constructor(readonly offset: number) {}
  toStore(r: number): number {
    return r === 0 ? 0 : r + this.offset;
  }
  toModel(r: string | number): number {
    const n = Number(r);
    return n === 0 ? 0 : n - this.offset;
  }
}

const buf = (s: string) => Buffer.from(s);
const endBuf = (e: string | undefined) => (e === undefined ? Buffer.alloc(0) : buf(e));

function putReq(o: Extract<MOp, { op: "put" }>): object {
  return {
    key: buf(o.key),
    value: o.ignore_value ? Buffer.alloc(0) : buf(o.value),
    lease: "0",
    prev_kv: o.prev_kv,
    ignore_value: o.ignore_value,
  };
}
function delReq(o: Extract<MOp, { op: "del" }>): object {
  return { key: buf(o.key), range_end: endBuf(o.end), prev_kv: o.prev_kv };
}
function rangeReq(o: Extract<MOp, { op: "range" }>, rv: Revs): object {
  return {
    key: buf(o.key),
    range_end: endBuf(o.end),
    limit: String(o.limit),
    revision: String(rv.toStore(o.revision)),
    sort_order: SORT_ORDER[o.sort_order],
    sort_target: SORT_TARGET[o.sort_target],
    keys_only: o.keys_only,
    count_only: o.count_only,
    min_mod_revision: String(rv.toStore(o.min_mod_revision)),
    max_create_revision: String(rv.toStore(o.max_create_revision)),
  };
}
function requestOp(o: MOp, rv: Revs): object {
  if (o.op === "put") return { request_put: putReq(o) };
  if (o.op === "del") return { request_delete_range: delReq(o) };
  if (o.op === "range") return { request_range: rangeReq(o, rv) };
  throw new Error(`not a request op: ${o.op}`);
}
function txnReq(o: Extract<MOp, { op: "txn" }>, rv: Revs): object {
  const c = o.compare;
  const operand =
    c.target === "VALUE"
      ? { value: buf(String(c.n)) }
      : c.target === "VERSION"
        ? { version: String(c.n) }
        : c.target === "CREATE"
          ? { create_revision: String(rv.toStore(c.n)) }
          : { mod_revision: String(rv.toStore(c.n)) };
  return {
    compare: [
      {
        key: buf(c.key),
        range_end: endBuf(c.end),
        target: CMP_TARGET[c.target],
        result: CMP_RESULT[c.result],
        ...operand,
      },
    ],
    success: o.success.map((x) => requestOp(x, rv)),
    failure: o.failure.map((x) => requestOp(x, rv)),
  };
}

/* gRPC responses -> the model's plain shapes. */
function kvOf(kv: Any, rv: Revs) {
  return {
    key: Buffer.from(kv.key).toString("utf8"),
    create_revision: rv.toModel(kv.create_revision),
    mod_revision: rv.toModel(kv.mod_revision),
    version: Number(kv.version),
    value: Buffer.from(kv.value).toString("utf8"),
    lease: Number(kv.lease),
  };
}
const headerOf = (r: Any, rv: Revs) => ({ revision: rv.toModel(r.header.revision) });
function putRes(r: Any, rv: Revs) {
  return { header: headerOf(r, rv), ...(r.prev_kv ? { prev_kv: kvOf(r.prev_kv, rv) } : {}) };
}
function delRes(r: Any, rv: Revs) {
  return {
    header: headerOf(r, rv),
    deleted: Number(r.deleted),
    prev_kvs: (r.prev_kvs ?? []).map((kv: Any) => kvOf(kv, rv)),
  };
}
function rangeRes(r: Any, rv: Revs) {
  return {
    header: headerOf(r, rv),
    kvs: (r.kvs ?? []).map((kv: Any) => kvOf(kv, rv)),
    more: Boolean(r.more),
    count: Number(r.count),
  };
}
function txnRes(r: Any, rv: Revs) {
  const responses = (r.responses ?? []).map((x: Any) => {
    if (x.response === "response_put") return { response_put: putRes(x.response_put, rv) };
    if (x.response === "response_delete_range")
      return { response_delete_range: delRes(x.response_delete_range, rv) };
    if (x.response === "response_range") return { response_range: rangeRes(x.response_range, rv) };
    return { unexpected: x.response };
  });
  return { header: headerOf(r, rv), succeeded: Boolean(r.succeeded), responses };
}

async function onStore(kv: EtcdClients["KV"], o: MOp, rv: Revs): Promise<unknown> {
  try {
    switch (o.op) {
      case "put":
        return putRes(await unaryCall<Any>(kv, "Put", putReq(o), callMs), rv);
      case "del":
        return delRes(await unaryCall<Any>(kv, "DeleteRange", delReq(o), callMs), rv);
      case "range":
        return rangeRes(await unaryCall<Any>(kv, "Range", rangeReq(o, rv), callMs), rv);
      case "txn":
        return txnRes(await unaryCall<Any>(kv, "Txn", txnReq(o, rv), callMs), rv);
      default:
        throw new Error(`op ${o.op} is not generated here`);
    }
  } catch (e) {
    const se = e as ServiceError;
    return { error: se.details ?? se.message };
  }
}

/** The model answers top-level put/del unwrapped, as the store does; its mvcc errors carry etcdserver's prefix on the wire. */
function onModel(m: Model, o: MOp): unknown {
  const r = m.apply(o) as Record<string, unknown>;
  if (r && typeof r.error === "string")
    return { error: r.error.startsWith("mvcc:") ? `etcdserver: ${r.error}` : r.error };
  if (o.op === "put" && r && "response_put" in r) return JSON.parse(JSON.stringify(r.response_put));
  if (o.op === "del" && r && "response_delete_range" in r)
    return JSON.parse(JSON.stringify(r.response_delete_range));
  return JSON.parse(JSON.stringify(r));
}

async function storeRevision(kv: EtcdClients["KV"]): Promise<number> {
  const r = await unaryCall<Any>(kv, "Range", { key: buf("\0"), count_only: true }, callMs);
  return Number(r.header.revision);
}

t.test("a real skiff store answers over gRPC as the model", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "skiff-store-model-"));
  const peerUrl = `http://127.0.0.1:${await freePort()}`;
  const clientPort = await freePort();
  const clientUrl = `http://127.0.0.1:${clientPort}`;
  let store: Store | undefined;
  let clients: EtcdClients | undefined;
  t.teardown(async () => {
    if (clients) closeEtcdClients(clients);
    if (store) await store.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  store = new Store(
    parseStoreFlags([
      "--name",
      "a",
      "--data-dir",
      join(dir, "a"),
      "--listen-peer-urls",
      peerUrl,
      "--initial-advertise-peer-urls",
      peerUrl,
      "--listen-client-urls",
      clientUrl,
      "--advertise-client-urls",
      clientUrl,
      "--initial-cluster",
      `a=${peerUrl}`,
      "--heartbeat-interval",
      "50",
      "--election-timeout",
      "500",
      "--log-level",
      "error",
    ]),
  );
  await store.start();
  clients = etcdClients(`127.0.0.1:${clientPort}`);
  const kv = clients.KV;
  await waitFor(() => unaryCall(kv, "Range", { key: buf("/ready") }, 2000).then(() => true), {
    what: "the store to serve",
    intervalMs: 100,
  });

  let runs = 0;
  let ops = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(anyOp, { minLength: 1, maxLength: 20 }), async (seq) => {
      runs++;
      // Every key is deleted: the store's current state is as empty as the model's.
      await unaryCall(kv, "DeleteRange", { key: buf("\0"), range_end: buf("\0") }, callMs);
      const rv = new Revs((await storeRevision(kv)) - 1);
      const m = new Model();
      for (const [i, raw] of seq.entries()) {
        ops++;
        const o = resolve(raw, m.rev);
        const want = onModel(m, o);
        const got = JSON.parse(JSON.stringify(await onStore(kv, o, rv)));
        if (JSON.stringify(got) !== JSON.stringify(want)) {
          throw new Error(
            `op ${i} ${JSON.stringify(o)}:\n store ${JSON.stringify(got)}\n model ${JSON.stringify(want)}`,
          );
        }
        const now = rv.toModel(await storeRevision(kv));
        if (now !== m.rev)
          throw new Error(`after op ${i}: store revision ${now} (relative) != model ${m.rev}`);
      }
    }),
    { numRuns: 25, seed: 20251128, endOnFailure: false },
  );
  t.equal(runs, 25);
  t.ok(ops > 0);
});

/*
 * Found by the property above with other seeds (e.g. seed 2, 400 runs): a txn branch that deletes
 * a from-key range and then puts (ignore_value) a key it just deleted fails with "key not found",
 * as it should, but leaves the tombstone in the key's history; the next write to that key fails
 * with "mvcc: history of key out of order", and a `skiff store` member stops taking writes.
 * (etcd 3.4 itself panics on this txn in its apply loop; Skiff rejects it and changes nothing.)
 */
t.test("a failed txn leaves no trace in a key's history (from-key delete + ignore_value put)", async (t) => {
  const { MvccStore } = await import("../src/mvcc/index.js");
  const s = new MvccStore();
  const enc = (x: string) => Buffer.from(x);
  s.put({ key: enc("c"), value: enc("2") });
  t.throws(
    () =>
      s.txn({
        compare: [],
        success: [
          { request_delete_range: { key: enc("a"), range_end: enc("\0") } },
          { request_put: { key: enc("c"), ignore_value: true } },
        ],
        failure: [],
      } as never),
    /key not found/,
  );
  t.equal(s.revision, 2);
  t.doesNotThrow(() => s.put({ key: enc("c"), value: enc("9") }));
});
