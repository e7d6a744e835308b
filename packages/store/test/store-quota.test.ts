/**
 * The backend quota at apply (etcd's quotaApplierV3 and applierV3Capped, server/quota.ts), on the
 * state machine alone: a request that no longer fits is applied but answers NOSPACE; under the
 * NOSPACE alarm whatever adds data is refused and not applied, deletes still apply. And read-only
 * Txns on a one-member store: served with a ReadIndex, no Raft entry.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AlarmType } from "@skiff/etcd-client";
import { EntryType } from "@skiff/raft";
import { waitFor } from "@skiff/testkit";
import t from "tap";
import { parseStoreFlags, Store } from "../src/index.js";
import type * as m from "../src/mvcc/types.js";
import { costTxn, quotaAdmission } from "../src/server/quota.js";
import {
  encodeRequest,
  type StoreRequest,
  type StoreResult,
  StoreStateMachine,
} from "../src/server/statemachine.js";

const enc = (s: string) => new TextEncoder().encode(s);

function applier(sm: StoreStateMachine): (r: StoreRequest) => StoreResult {
  let index = 0;
  return (r) => sm.apply({ term: 1, index: ++index, type: EntryType.Normal, data: encodeRequest(r) });
}

const put = (key: string, value = "v"): StoreRequest => ({
  op: "put",
  req: { key: enc(key), value: enc(value) },
});
const get = (sm: StoreStateMachine, key: string) => sm.mvcc.range({ key: enc(key) }).kvs.length;

t.test("quota at apply: over quota applies and answers NOSPACE; the alarm caps", async (t) => {
  const sm = new StoreStateMachine();
  const apply = applier(sm);
  sm.admit = quotaAdmission(sm, 1024 * 1024);
  t.ok("ok" in apply(put("a")), "a put that fits applies");
  // No room for the next put: etcd's put cost is 256 bytes of overhead plus key and value, and
  // a request fits while size + cost stays below the quota.
  sm.admit = quotaAdmission(sm, sm.mvcc.sizeBytes + 256 + 2);
  const over = apply(put("b"));
  t.same(over, { err: "etcdserver: mvcc: database space exceeded", code: "NoSpace" }, "over quota: NOSPACE");
  t.equal(get(sm, "b"), 1, "yet applied, as etcd's quotaApplierV3 does");

  apply({ op: "alarm", action: "activate", memberId: "1", alarm: AlarmType.NOSPACE });
  const rev = sm.mvcc.revision;
  t.match(apply(put("c")), { code: "NoSpace" }, "a put under the alarm is refused");
  t.equal(get(sm, "c"), 0, "and not applied");
  t.match(apply({ op: "leaseGrant", id: 5n, ttl: 60 }), { code: "NoSpace" }, "a lease grant is refused");
  t.notOk(sm.leases.has(5n), "and not granted");
  const withPut: m.TxnRequest = {
    success: [{ request_delete_range: { key: enc("a") } }],
    failure: [{ request_put: { key: enc("z"), value: enc("1") } }],
  };
  t.match(
    apply({ op: "txn", req: withPut }),
    { code: "NoSpace" },
    "a txn with a put in any branch is refused",
  );
  t.equal(sm.mvcc.revision, rev, "nothing applied under the alarm so far");
  const deletes: m.TxnRequest = { success: [{ request_delete_range: { key: enc("a") } }] };
  t.equal(costTxn(deletes), 0);
  const del = apply({ op: "txn", req: deletes });
  t.ok("ok" in del, "a delete-only txn applies under the alarm");
  t.equal(get(sm, "a"), 0, "a is gone");
  t.ok("ok" in apply({ op: "deleteRange", req: { key: enc("b") } }), "a delete applies");

  apply({ op: "alarm", action: "deactivate", memberId: "1", alarm: AlarmType.NOSPACE });
  t.ok("ok" in apply({ op: "compact", revision: sm.mvcc.revision }), "compaction");
  apply(put("d"));
  t.equal(get(sm, "d"), 1, "after disarm a put applies again (with NOSPACE if it does not fit)");
});

const rangeReq = (key: string) => ({
  key: Buffer.from(key),
  range_end: Buffer.alloc(0),
  ...{ limit: "0", revision: "0", sort_order: 0, sort_target: 0 },
  ...{ serializable: false, keys_only: false, count_only: false },
  ...{ min_mod_revision: "0", max_mod_revision: "0", min_create_revision: "0", max_create_revision: "0" },
});
const putReq = (key: string, value: string) => ({
  ...{ key: Buffer.from(key), value: Buffer.from(value), lease: "0" },
  ...{ prev_kv: false, ignore_value: false, ignore_lease: false },
});
const op = (o: Record<string, unknown>) => ({
  request_range: undefined,
  request_put: undefined,
  request_delete_range: undefined,
  request_txn: undefined,
  ...o,
  request: Object.keys(o)[0],
});

t.test("a linearizable read-only txn is served by ReadIndex, with no Raft entry", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "skiff-store-rotxn-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const store = new Store(
    parseStoreFlags([
      ...["--name", "e", "--data-dir", join(dir, "e"), "--log-level", "error"],
      ...["--listen-client-urls", "", "--advertise-client-urls", "", "--listen-peer-urls", ""],
      ...["--initial-advertise-peer-urls", "http://127.0.0.1:0"],
      ...["--heartbeat-interval", "50", "--election-timeout", "250"],
    ]),
  );
  t.teardown(() => store.stop());
  await store.start();
  await store.ready;
  const api = store.etcd;
  await api.put(putReq("k", "v"));
  const indexes = async () => {
    const s = await api.status({});
    return { raftIndex: Number(s.raftIndex), applied: Number(s.raftAppliedIndex) };
  };
  // The member publishes its attributes through Raft once at start: wait until that landed.
  await waitFor(async () => (await api.memberList({})).members[0]?.name === "e", {
    what: "the member to publish its name",
  });
  const before = await indexes();
  t.equal(before.applied, before.raftIndex, "all applied");
  const txn = {
    compare: [
      { key: Buffer.from("k"), target: 3, result: 0, value: Buffer.from("v"), range_end: Buffer.alloc(0) },
    ],
    success: [
      op({ request_range: rangeReq("k") }),
      op({ request_txn: { compare: [], success: [op({ request_range: rangeReq("k") })], failure: [] } }),
    ],
    failure: [],
  };
  const res = await api.txn(txn as never);
  t.equal(res.succeeded, true);
  t.equal(res.responses[0]?.response_range?.kvs?.[0]?.value?.toString(), "v", "the read answers");
  t.same(await indexes(), before, "no Raft entry for a read-only txn (nested included)");
  const write = await api.txn({ ...txn, success: [op({ request_put: putReq("k2", "w") })] } as never);
  t.equal(write.succeeded, true);
  t.equal((await indexes()).raftIndex, before.raftIndex + 1, "a txn that writes takes one entry");
});
