/**
 * HashKV cases of the etcd v3 contract (etcd v3.4 mvcc kvstore.go HashByRev): the same history
 * must hash to the same number at every revision, before and after compactions, on etcd and on
 * skiff. The hash covers every key in the store, so these cases need a store of their own (see
 * store-contract-lease-hash.test.ts), and the lease IDs they attach are chosen by the client.
 */
import { b, type CaseContext, type ContractCase } from "./store-contract.js";

/**
 * HashKV at `revision`, recorded. A linearizable read first: on skiff the client's member may be
 * a follower that has not yet applied the last write, and HashKV answers from the member's state.
 */
async function hashKV(ctx: CaseContext, revision: number, step: string): Promise<void> {
  await ctx.call("KV", "Range", { key: ctx.key(""), count_only: true }, null);
  await ctx.call("Maintenance", "HashKV", { revision }, step);
}

async function hashEveryRevision(ctx: CaseContext, from: number, label: string): Promise<void> {
  const r = await ctx.call("KV", "Range", { key: ctx.key(""), count_only: true }, null);
  const current = Number(r.header.revision);
  await hashKV(ctx, 0, `${label}: HashKV at 0 (current ${current})`);
  for (let rev = from; rev <= current + 1; rev++) await hashKV(ctx, rev, `${label}: HashKV at ${rev}`);
}

export const contractHashKVCases: readonly ContractCase[] = [
  {
    name: "maintenance: HashKV of the same history, at every revision, across compactions",
    async run(ctx) {
      const k = (s: string) => ctx.key(s);
      await hashKV(ctx, 0, "empty store: HashKV at 0");
      await ctx.call("Lease", "LeaseGrant", { ID: "22", TTL: 300 }, "grant lease 22");
      await ctx.call("KV", "Put", { key: k("a"), value: b("1") }, "put a");
      await ctx.call("KV", "Put", { key: k("b"), value: b("2"), lease: "22" }, "put b with lease 22");
      await ctx.call("KV", "Put", { key: k("c"), value: b("3") }, "put c");
      await ctx.call("KV", "DeleteRange", { key: k("a") }, "delete a");
      await ctx.call(
        "KV",
        "Txn",
        {
          compare: [],
          success: [
            { request_put: { key: k("b"), value: b("x") } },
            { request_put: { key: k("d"), value: b("4") } },
            { request_delete_range: { key: k("c") } },
          ],
          failure: [],
        },
        "txn: put b, put d, delete c",
      );
      await ctx.call("KV", "Put", { key: k("a"), value: b("5") }, "put a again (a new generation)");
      await ctx.call("KV", "Put", { key: k("big"), value: Buffer.alloc(300, 0x61) }, "put a 300-byte value");
      await ctx.call(
        "KV",
        "Put",
        { key: Buffer.concat([k(""), Buffer.from([0, 0xff])]) },
        "put a binary key, no value",
      );
      await hashEveryRevision(ctx, 1, "before compaction");

      const mid = await ctx.call("KV", "Put", { key: k("e"), value: b("6") }, "put e");
      const compactAt = Number(mid.header.revision) - 3;
      await ctx.call("KV", "Compact", { revision: compactAt, physical: true }, `compact at ${compactAt}`);
      await hashEveryRevision(ctx, compactAt, "after compaction");

      await ctx.call("KV", "Put", { key: k("b"), value: b("y") }, "put b again");
      await ctx.call("KV", "DeleteRange", { key: k("d") }, "delete d");
      await hashEveryRevision(ctx, compactAt + 1, "after more writes");

      // Every key deleted: etcd's Keep set is empty, and then HashByRev filters nothing.
      await ctx.call("KV", "DeleteRange", { key: k(""), range_end: ctx.prefixEnd }, "delete every key");
      await hashEveryRevision(ctx, compactAt + 1, "every key deleted");
      const last = await ctx.call("KV", "Range", { key: k("") }, null);
      const again = Number(last.header.revision) - 1;
      await ctx.call("KV", "Compact", { revision: again, physical: true }, `compact again at ${again}`);
      await hashEveryRevision(ctx, again, "after the second compaction");
    },
  },
];
