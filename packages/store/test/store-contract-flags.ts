/**
 * Contract cases for etcd behaviours that depend on server flags (--max-txn-ops, a tiny
 * --quota-backend-bytes), run on targets started with those flags, plus the raw headers of
 * responses nested in a Txn (which the transcript normalization would otherwise hide).
 */
import { AlarmAction, AlarmType } from "@skiff/etcd-client";
import { freePort } from "@skiff/testkit";
import { type Any, b, type ContractCase } from "./store-contract.js";

/**
 * Which server-identity fields a header carries (set or zero), with its revision: named apart from
 * the fields themselves, which the transcript drops as differing between any two clusters.
 */
function rawHeader(h: Any | undefined): Any {
  const set = (v: unknown) => (v === undefined || String(v) === "0" ? "0" : "<set>");
  return {
    "cluster id": set(h?.cluster_id),
    "member id": set(h?.member_id),
    "raft term": set(h?.raft_term),
    revision: h?.revision,
  };
}

function nestedHeaders(res: Any): Any[] {
  return ((res.responses ?? []) as Any[]).map((op) => {
    const inner = op.response_range ?? op.response_put ?? op.response_delete_range ?? op.response_txn;
    const own = { kind: op.response, header: rawHeader(inner?.header) };
    return op.response_txn === undefined ? own : { ...own, nested: nestedHeaders(op.response_txn) };
  });
}

/** Runs in the main suite: nested responses carry only a revision (etcd's header.fill is top-level). */
export const contractNestedHeaderCase: ContractCase = {
  name: "txn: headers of nested responses",
  async run(ctx) {
    const k = ctx.key("k");
    await ctx.call("KV", "Put", { key: k, value: b("1") }, "put k");
    const res = await ctx.call(
      "KV",
      "Txn",
      {
        success: [
          { request_put: { key: ctx.key("p"), value: b("v") } },
          { request_range: { key: k } },
          { request_delete_range: { key: ctx.key("none") } },
          { request_txn: { success: [{ request_range: { key: k } }] } },
        ],
      },
      "txn of put, range, delete, nested txn",
    );
    ctx.record("top-level header", rawHeader(res.header));
    ctx.record("nested headers", nestedHeaders(res));
    const ro = await ctx.call(
      "KV",
      "Txn",
      {
        success: [
          { request_range: { key: k } },
          { request_txn: { success: [{ request_range: { key: k } }] } },
        ],
      },
      "read-only txn",
    );
    ctx.record("read-only: top-level header", rawHeader(ro.header));
    ctx.record("read-only: nested headers", nestedHeaders(ro));
  },
};

/**
 * Runs in the main suite: a learner that never started has replicated nothing, so etcd's
 * isLearnerReady refuses to promote it; a removed member's id is gone for good.
 */
export const contractLearnerCase: ContractCase = {
  name: "cluster: promote a learner that is not in sync, remove it twice",
  async run(ctx) {
    // A peer URL nobody listens on: the learner never catches up.
    const url = `http://127.0.0.1:${await freePort()}`;
    const added = await ctx.call("Cluster", "MemberAdd", { peerURLs: [url], isLearner: true }, null);
    ctx.record("add a learner", added.error ?? { isLearner: added.member?.isLearner });
    const id = added.member?.ID;
    await ctx.call("Cluster", "MemberPromote", { ID: id }, "promote the learner");
    const removed = await ctx.call("Cluster", "MemberRemove", { ID: id }, null);
    ctx.record("remove it", removed.error ?? "removed");
    await ctx.call("Cluster", "MemberRemove", { ID: id }, "remove it again");
    await ctx.call("Cluster", "MemberPromote", { ID: id }, "promote the removed member");
  },
};

const maxTxnOpsCase: ContractCase = {
  name: "txn: --max-txn-ops 1000",
  async run(ctx) {
    const put = (i: number) => ({ request_put: { key: ctx.key(`op${i}`), value: b("v") } });
    const range = (i: number) => ({ request_range: { key: ctx.key(`op${i}`) } });
    const ops = <T>(n: number, f: (i: number) => T) => Array.from({ length: n }, (_, i) => f(i));
    const summary = (res: Any) =>
      res.error ?? {
        revision: res.header?.revision,
        succeeded: res.succeeded,
        responses: res.responses?.length,
      };
    const txn = async (step: string, req: object) =>
      ctx.record(step, summary(await ctx.call("KV", "Txn", req, null)));
    await txn("200 puts", { success: ops(200, put) });
    await txn("1000 ranges", { success: ops(1000, range) });
    await txn("1000 failure puts, compare true", {
      compare: [],
      success: [],
      failure: ops(1000, put),
    });
    await txn("1001 ranges", { success: ops(1001, range) });
    await txn("1001 puts", { success: ops(1001, put) });
    await txn("1001 compares", {
      compare: ops(1001, (i) => ({ key: ctx.key(`op${i}`), target: 0, result: 0, version: 1 })),
    });
    await ctx.call("KV", "Range", { key: ctx.key(""), range_end: ctx.prefixEnd, count_only: true }, "count");
  },
};

/**
 * The quota is 1 MiB: a value above it cannot fit, whatever either store's size, so both raise
 * NOSPACE on the same request.
 */
const quotaBytes = 1024 * 1024;

const noSpaceCase: ContractCase = {
  name: "quota: NOSPACE refuses what adds data, deletes and reads go on",
  async run(ctx) {
    await ctx.call("KV", "Put", { key: ctx.key("a"), value: b("1") }, "put a");
    await ctx.call("KV", "Put", { key: ctx.key("b"), value: b("2") }, "put b");
    await ctx.call("KV", "Put", { key: ctx.key("c"), value: b("3") }, "put c");
    const big = Buffer.alloc(quotaBytes + 64 * 1024, "x");
    await ctx.call("KV", "Put", { key: ctx.key("big"), value: big }, "put a value over the quota");
    const list = async (step: string) => {
      const res = await ctx.call("Maintenance", "Alarm", { action: AlarmAction.GET }, null);
      ctx.record(step, res.error ?? (res.alarms as Any[]).map((a) => a.alarm));
      return (res.alarms ?? []) as Any[];
    };
    await list("alarms after the refused put");
    await ctx.call("KV", "Put", { key: ctx.key("d"), value: b("4") }, "small put under the alarm");
    await ctx.call(
      "KV",
      "Txn",
      { success: [{ request_delete_range: { key: ctx.key("a"), prev_kv: true } }] },
      "delete-only txn under the alarm",
    );
    await ctx.call(
      "KV",
      "Txn",
      {
        compare: [{ key: ctx.key("b"), target: 0, result: 0, version: 1 }],
        success: [{ request_delete_range: { key: ctx.key("b") } }, { request_range: { key: ctx.key("c") } }],
        failure: [],
      },
      "compare, delete and range txn under the alarm",
    );
    await ctx.call(
      "KV",
      "Txn",
      {
        success: [
          { request_delete_range: { key: ctx.key("c") } },
          { request_put: { key: ctx.key("e"), value: b("5") } },
        ],
      },
      "txn with a put under the alarm",
    );
    await ctx.call(
      "KV",
      "Txn",
      { compare: [], success: [], failure: [{ request_put: { key: ctx.key("e"), value: b("5") } }] },
      "txn with a put in the branch not taken",
    );
    await ctx.call("KV", "DeleteRange", { key: ctx.key("c") }, "delete c under the alarm");
    await ctx.call("KV", "Range", { key: ctx.key(""), range_end: ctx.prefixEnd }, "range under the alarm");
    await ctx.call(
      "KV",
      "Txn",
      { success: [{ request_range: { key: ctx.key(""), range_end: ctx.prefixEnd } }] },
      "read-only txn under the alarm",
    );
    await ctx.call("Lease", "LeaseGrant", { ID: "77", TTL: 60 }, "lease grant under the alarm");
    // etcdctl alarm disarm: deactivate each alarm the list shows.
    for (const a of await list("alarms before disarm")) {
      const res = await ctx.call(
        "Maintenance",
        "Alarm",
        { action: AlarmAction.DEACTIVATE, memberID: a.memberID, alarm: AlarmType.NOSPACE },
        null,
      );
      ctx.record("disarm", res.error ?? (res.alarms as Any[]).map((x) => x.alarm));
    }
    await list("alarms after disarm");
    await ctx.call("KV", "Put", { key: ctx.key("d"), value: b("4") }, "small put after disarm");
  },
};

export interface ContractSuite {
  /** Given to both targets, in `--flag=value` form (etcd and skiff store both take it). */
  readonly flags: readonly string[];
  readonly cases: readonly ContractCase[];
}

export const contractFlaggedSuites: readonly ContractSuite[] = [
  {
    flags: ["--max-txn-ops=1000", `--quota-backend-bytes=${quotaBytes}`],
    cases: [maxTxnOpsCase, noSpaceCase],
  },
];
