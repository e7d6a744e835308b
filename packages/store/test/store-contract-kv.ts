/**
 * KV cases of the etcd v3 contract suite: Put, Range, DeleteRange, Compact and their errors
 * (etcd v3.4 etcdserver/apply.go, etcdserver/api/v3rpc/key.go).
 */
import { type Any, b, type CaseContext, type ContractCase } from "./store-contract.js";

async function putAll(ctx: CaseContext, kvs: [string, string][]): Promise<Any[]> {
  const out: Any[] = [];
  for (const [k, v] of kvs)
    out.push(await ctx.call("KV", "Put", { key: ctx.key(k), value: b(v) }, `put ${k}=${v}`));
  return out;
}

const rangeAll = (ctx: CaseContext, extra: object = {}) => ({
  key: ctx.key(""),
  range_end: ctx.prefixEnd,
  ...extra,
});

export const contractKvCases: readonly ContractCase[] = [
  {
    name: "kv: put, get, overwrite, versions and revisions, prev_kv, ignore_value/ignore_lease",
    async run(ctx) {
      const a = ctx.key("a");
      const first = await ctx.call(
        "KV",
        "Put",
        { key: a, value: b("1"), prev_kv: true },
        "put a=1 prev_kv (new)",
      );
      await ctx.call("KV", "Range", { key: a }, "get a");
      await ctx.call("KV", "Put", { key: a, value: b("2"), prev_kv: true }, "put a=2 prev_kv");
      await ctx.call("KV", "Put", { key: a, value: b("3") }, "put a=3");
      await ctx.call("KV", "Range", { key: a }, "get a (version 3)");
      await ctx.call("KV", "Range", { key: a, revision: first.header.revision }, "get a at first revision");
      await ctx.call("KV", "Range", { key: ctx.key("missing") }, "get missing");
      await ctx.call("KV", "Put", { key: a, ignore_value: true, prev_kv: true }, "put a ignore_value");
      await ctx.call("KV", "Range", { key: a }, "get a after ignore_value");
      await ctx.call("KV", "Put", { key: a, value: b("x"), ignore_value: true }, "ignore_value with value");
      await ctx.call(
        "KV",
        "Put",
        { key: ctx.key("nokey"), ignore_value: true },
        "ignore_value on missing key",
      );
      await ctx.call("KV", "Put", { key: a, value: b("4"), ignore_lease: true }, "put a ignore_lease");
      await ctx.call("KV", "Put", { key: a, lease: "7", ignore_lease: true }, "ignore_lease with lease");
      await ctx.call(
        "KV",
        "Put",
        { key: ctx.key("nol"), value: b("v"), ignore_lease: true },
        "ignore_lease missing",
      );
      await ctx.call("KV", "Range", { key: a }, "get a final");
    },
  },
  {
    name: "kv: range with limit, more, count, keys_only, count_only, from-key",
    async run(ctx) {
      await putAll(ctx, [
        ["a", "1"],
        ["b", "2"],
        ["c", "3"],
        ["d", "4"],
        ["e", "5"],
      ]);
      for (const limit of [0, 1, 2, 5, 10])
        await ctx.call("KV", "Range", rangeAll(ctx, { limit }), `limit ${limit}`);
      await ctx.call("KV", "Range", rangeAll(ctx, { keys_only: true, limit: 2 }), "keys_only limit 2");
      await ctx.call("KV", "Range", rangeAll(ctx, { count_only: true }), "count_only");
      await ctx.call("KV", "Range", rangeAll(ctx, { count_only: true, limit: 2 }), "count_only limit 2");
      await ctx.call("KV", "Range", { key: ctx.key("c"), range_end: Buffer.from([0]) }, "from-key c");
      await ctx.call("KV", "Range", { key: ctx.key("b"), range_end: ctx.key("d") }, "range [b, d)");
      await ctx.call("KV", "Range", { key: ctx.key("d"), range_end: ctx.key("b") }, "range_end before key");
    },
  },
  {
    name: "kv: sort targets and orders",
    async run(ctx) {
      // Distinct versions, values, create and mod revisions: no ties, so the order is defined.
      await putAll(ctx, [
        ["a", "m"],
        ["b", "z"],
        ["c", "a"],
        ["d", "q"],
        ["b", "y"],
        ["d", "p"],
        ["d", "r"],
        ["c", "b"],
        ["b", "x"],
      ]);
      for (const sort_target of [0, 1, 2, 3, 4]) {
        for (const sort_order of [0, 1, 2]) {
          const res = await ctx.call(
            "KV",
            "Range",
            rangeAll(ctx, { sort_target, sort_order }),
            `sort ${sort_target}/${sort_order}`,
          );
          ctx.record(
            `sort ${sort_target}/${sort_order} keys`,
            (res.kvs ?? []).map((kv: Any) => kv.key),
          );
        }
      }
      await ctx.call(
        "KV",
        "Range",
        rangeAll(ctx, { sort_target: 3, sort_order: 2, limit: 2 }),
        "mod DESCEND limit 2",
      );
      await ctx.call(
        "KV",
        "Range",
        rangeAll(ctx, { sort_target: 4, sort_order: 1, limit: 3 }),
        "value ASCEND limit 3",
      );
    },
  },
  {
    name: "kv: min/max mod/create revision filters",
    async run(ctx) {
      const puts = await putAll(ctx, [
        ["a", "1"],
        ["b", "1"],
        ["c", "1"],
        ["a", "2"],
        ["d", "1"],
      ]);
      const rev = (i: number) => Number(puts[i]?.header.revision);
      const filters: [string, object][] = [
        ["min_mod", { min_mod_revision: rev(2) }],
        ["max_mod", { max_mod_revision: rev(2) }],
        ["min_create", { min_create_revision: rev(1) }],
        ["max_create", { max_create_revision: rev(1) }],
        ["min_mod+max_create", { min_mod_revision: rev(3), max_create_revision: rev(0) }],
        ["min_create limit 1", { min_create_revision: rev(1), limit: 1 }],
      ];
      for (const [name, f] of filters) await ctx.call("KV", "Range", rangeAll(ctx, f), name);
    },
  },
  {
    name: "kv: historical revision reads and future revision",
    async run(ctx) {
      const k = ctx.key("h");
      const p1 = await ctx.call("KV", "Put", { key: k, value: b("v1") }, "put v1");
      const p2 = await ctx.call("KV", "Put", { key: k, value: b("v2") }, "put v2");
      const del = await ctx.call("KV", "DeleteRange", { key: k }, "delete");
      await ctx.call("KV", "Put", { key: k, value: b("v3") }, "put v3");
      for (const [name, r] of [
        ["before p1", Number(p1.header.revision) - 1],
        ["at p1", p1.header.revision],
        ["at p2", p2.header.revision],
        ["at delete", del.header.revision],
      ] as const) {
        await ctx.call("KV", "Range", { key: k, revision: r }, `get at ${name}`);
        await ctx.call("KV", "Range", rangeAll(ctx, { revision: r, count_only: true }), `count at ${name}`);
      }
      const now = await ctx.call("KV", "Range", { key: k }, "get now");
      const head = Number(now.header.revision);
      await ctx.call("KV", "Range", { key: k, revision: head }, "get at head");
      await ctx.call("KV", "Range", { key: k, revision: head + 1 }, "get at head+1 (future)");
      await ctx.call("KV", "Range", { key: k, revision: head + 1000 }, "get at head+1000 (future)");
    },
  },
  {
    name: "kv: delete range with prev_kv",
    async run(ctx) {
      await putAll(ctx, [
        ["a", "1"],
        ["b", "2"],
        ["c", "3"],
        ["d", "4"],
        ["e", "5"],
      ]);
      await ctx.call("KV", "DeleteRange", { key: ctx.key("a"), prev_kv: true }, "delete a prev_kv");
      await ctx.call("KV", "DeleteRange", { key: ctx.key("a"), prev_kv: true }, "delete a again");
      await ctx.call("KV", "DeleteRange", { key: ctx.key("b"), range_end: ctx.key("d") }, "delete [b, d)");
      await ctx.call("KV", "DeleteRange", rangeAll(ctx, { prev_kv: true }), "delete prefix prev_kv");
      await ctx.call("KV", "Range", rangeAll(ctx), "range after");
      await ctx.call("KV", "DeleteRange", rangeAll(ctx), "delete empty prefix");
    },
  },
  {
    name: "errors: empty key, request too large",
    async run(ctx) {
      await ctx.call("KV", "Put", { key: b(""), value: b("v") }, "put empty key");
      await ctx.call("KV", "Range", { key: b("") }, "range empty key");
      await ctx.call("KV", "DeleteRange", { key: b("") }, "delete empty key");
      await ctx.call(
        "KV",
        "Txn",
        { success: [{ request_put: { key: b(""), value: b("v") } }] },
        "txn put empty key",
      );
      const big = Buffer.alloc(1.6 * 1024 * 1024, 0x61);
      await ctx.call("KV", "Put", { key: ctx.key("big"), value: big }, "put 1.6 MiB value");
      // Over --max-request-bytes + 512 KiB the gRPC library itself refuses the message: the code is
      // the contract, the text is grpc-go's or grpc-js's own ("received message larger than max").
      const huge = Buffer.alloc(2 * 1024 * 1024, 0x61);
      const tooBig = await ctx.call("KV", "Put", { key: ctx.key("huge"), value: huge }, null);
      ctx.record("put 2 MiB value", {
        code: tooBig.error?.code,
        refused: /received message larger than max/i.test(String(tooBig.error?.details)),
      });
      await ctx.call("KV", "Range", rangeAll(ctx, { count_only: true }), "nothing was written");
    },
  },
];

/** Runs after every other KV case: compaction makes their history unreadable. */
export const contractCompactCase: ContractCase = {
  name: "kv: compact then reads below",
  async run(ctx) {
    const k = ctx.key("k");
    const p1 = await ctx.call("KV", "Put", { key: k, value: b("1") }, "put 1");
    const p2 = await ctx.call("KV", "Put", { key: k, value: b("2") }, "put 2");
    await ctx.call("KV", "Put", { key: k, value: b("3") }, "put 3");
    await ctx.call("KV", "Compact", { revision: p2.header.revision, physical: true }, "compact at p2");
    await ctx.call("KV", "Range", { key: k, revision: p1.header.revision }, "get below compaction");
    await ctx.call("KV", "Range", { key: k, revision: p2.header.revision }, "get at compaction");
    await ctx.call("KV", "Range", { key: k }, "get now");
    await ctx.call("KV", "Compact", { revision: p1.header.revision }, "compact below compaction");
    await ctx.call("KV", "Compact", { revision: p2.header.revision }, "compact at same revision");
    await ctx.call(
      "KV",
      "Compact",
      { revision: Number(p2.header.revision) + 1000 },
      "compact future revision",
    );
    await ctx.call(
      "KV",
      "Txn",
      { success: [{ request_range: { key: k, revision: p1.header.revision } }] },
      "txn range below compaction",
    );
  },
};
