/**
 * Txn cases of the etcd v3 contract suite: compares (etcd v3.4 etcdserver/apply.go applyCompare),
 * both branches, nested txns and the request checks of etcdserver/api/v3rpc/key.go
 * (checkTxnRequest, checkIntervals).
 */
import { type Any, b, type ContractCase } from "./store-contract.js";

const targets = { VERSION: 0, CREATE: 1, MOD: 2, VALUE: 3, LEASE: 4 } as const;
const results = { EQUAL: 0, GREATER: 1, LESS: 2, NOT_EQUAL: 3 } as const;

export const contractTxnCases: readonly ContractCase[] = [
  {
    name: "txn: compares on value/version/create/mod/lease with all four results",
    async run(ctx) {
      const k = ctx.key("k");
      const lease = await ctx.call("Lease", "LeaseGrant", { ID: "4242", TTL: 300 }, "grant lease 4242");
      await ctx.call("KV", "Put", { key: k, value: b("m") }, "put k=m");
      const p = await ctx.call("KV", "Put", { key: k, value: b("m"), lease: lease.ID }, "put k=m with lease");
      const rev = Number(p.header.revision);
      const operands: [keyof typeof targets, object][] = [
        ["VALUE", { value: b("m") }],
        ["VERSION", { version: 2 }],
        ["CREATE", { create_revision: rev - 1 }],
        ["MOD", { mod_revision: rev }],
        ["LEASE", { lease: "4242" }],
      ];
      for (const key of [k, ctx.key("missing")]) {
        for (const [target, operand] of operands) {
          for (const [result, r] of Object.entries(results)) {
            await ctx.call(
              "KV",
              "Txn",
              {
                compare: [{ key, target: targets[target], result: r, ...operand }],
                success: [{ request_range: { key, count_only: true } }],
                failure: [],
              },
              `${key.toString().endsWith("missing") ? "missing " : ""}${target} ${result}`,
            );
          }
        }
      }
      // Lower and higher operands, so GREATER and LESS are seen true as well as false.
      for (const [name, c] of [
        ["VALUE > l", { target: 3, result: 1, value: b("l") }],
        ["VALUE < n", { target: 3, result: 2, value: b("n") }],
        ["VERSION > 1", { target: 0, result: 1, version: 1 }],
        ["MOD < rev+1", { target: 2, result: 2, mod_revision: rev + 1 }],
        ["LEASE > 1", { target: 4, result: 1, lease: 1 }],
      ] as const) {
        await ctx.call("KV", "Txn", { compare: [{ key: k, ...c }], success: [], failure: [] }, name);
      }
    },
  },
  {
    name: "txn: range compares, both branches, several compares",
    async run(ctx) {
      for (const [k, v] of [
        ["a", "1"],
        ["b", "2"],
        ["c", "3"],
      ]) {
        await ctx.call("KV", "Put", { key: ctx.key(k), value: b(v) }, `put ${k}`);
      }
      const all = { key: ctx.key(""), range_end: ctx.prefixEnd };
      const branches = {
        success: [
          { request_put: { key: ctx.key("ok"), value: b("yes"), prev_kv: true } },
          { request_range: { ...all } },
        ],
        failure: [
          { request_delete_range: { key: ctx.key("a"), prev_kv: true } },
          { request_range: { ...all } },
        ],
      };
      await ctx.call(
        "KV",
        "Txn",
        { compare: [{ ...all, target: 0, result: 1, version: 0 }], ...branches },
        "range: all versions > 0 (true)",
      );
      await ctx.call(
        "KV",
        "Txn",
        { compare: [{ ...all, target: 3, result: 0, value: b("2") }], ...branches },
        "range: all values == 2 (false)",
      );
      await ctx.call(
        "KV",
        "Txn",
        {
          compare: [
            { key: ctx.key("b"), range_end: Buffer.from([0]), target: 2, result: 1, mod_revision: 1 },
          ],
        },
        "from-key range compare",
      );
      await ctx.call(
        "KV",
        "Txn",
        {
          compare: [
            { key: ctx.key("b"), target: 3, result: 0, value: b("2") },
            { key: ctx.key("c"), target: 3, result: 0, value: b("no") },
          ],
          ...branches,
        },
        "two compares, second false",
      );
      await ctx.call("KV", "Txn", { compare: [], success: [], failure: [] }, "empty txn");
    },
  },
  {
    name: "txn: nested txn",
    async run(ctx) {
      const k = ctx.key("k");
      await ctx.call("KV", "Put", { key: k, value: b("1") }, "put k");
      const inner = (value: string) => ({
        compare: [{ key: k, target: 3, result: 0, value: b(value) }],
        success: [{ request_put: { key: ctx.key("inner"), value: b("s") } }],
        failure: [{ request_range: { key: k } }, { request_put: { key: ctx.key("inner-f"), value: b("f") } }],
      });
      await ctx.call(
        "KV",
        "Txn",
        {
          compare: [{ key: k, target: 0, result: 0, version: 1 }],
          success: [{ request_txn: inner("1") }, { request_put: { key: ctx.key("outer"), value: b("o") } }],
        },
        "nested, inner true",
      );
      await ctx.call("KV", "Txn", { success: [{ request_txn: inner("2") }] }, "nested, inner false");
      await ctx.call("KV", "Range", { key: ctx.key(""), range_end: ctx.prefixEnd }, "range after");
    },
  },
  {
    name: "txn: duplicate key and too many ops",
    async run(ctx) {
      const k = ctx.key("k");
      const put = (key: Buffer) => ({ request_put: { key, value: b("v") } });
      await ctx.call("KV", "Txn", { success: [put(k), put(k)] }, "two puts of one key");
      await ctx.call(
        "KV",
        "Txn",
        { success: [put(k), { request_delete_range: { key: ctx.key(""), range_end: ctx.prefixEnd } }] },
        "put inside a deleted range",
      );
      await ctx.call("KV", "Txn", { success: [put(k)], failure: [put(k)] }, "one put per branch is fine");
      await ctx.call(
        "KV",
        "Txn",
        { success: [put(k), { request_txn: { success: [put(k)] } }] },
        "duplicate via nested txn",
      );
      await ctx.call(
        "KV",
        "Txn",
        { success: [{ request_range: { key: k } }, { request_range: { key: k } }, put(k)] },
        "ranges may repeat",
      );
      const ops = (n: number) => Array.from({ length: n }, (_, i) => put(ctx.key(`op${i}`)));
      await ctx.call("KV", "Txn", { success: ops(129) }, "129 ops");
      await ctx.call("KV", "Txn", { compare: [], success: [], failure: ops(129) }, "129 failure ops");
      const res: Any = await ctx.call("KV", "Txn", { success: ops(128) }, "128 ops");
      ctx.record("128 ops revision", res.header?.revision);
    },
  },
];
