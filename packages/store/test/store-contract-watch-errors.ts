/**
 * Watch API answers beyond events (etcd v3.4 etcdserver/api/v3rpc/watch.go recvLoop,
 * mvcc/watcher.go watchStream.Watch): a duplicate watch id and a range with nothing in it are
 * answered with watch_id -1, created and canceled, etcd's mvcc error as cancel_reason; a progress
 * request while a watcher still replays history is answered (etcd 3.4.23 at once, later 3.4
 * releases and skiff once the stream is synced: either way with the current revision).
 */
import { type Any, b, type ContractCase } from "./store-contract.js";

const created = (m: Any) => m.created === true;
const progress = (m: Any) => String(m.watch_id) === "-1" && m.created !== true && m.canceled !== true;

export const contractWatchErrorCases: readonly ContractCase[] = [
  {
    name: "watch: a duplicate watch id and an empty range are refused with etcd's errors",
    async run(ctx) {
      await ctx.call("KV", "Put", { key: ctx.key("a"), value: b("1") }, "put a=1");
      const w = ctx.watch();
      w.send({ create_request: { key: ctx.key("a"), watch_id: "7" } });
      await w.next("created with watch_id 7", created);
      w.send({ create_request: { key: ctx.key("b"), watch_id: "7" } });
      await w.next("watch_id 7 again: duplicate", created);
      w.send({ create_request: { key: ctx.key("b"), range_end: ctx.key("a") } });
      await w.next("key > range_end: empty range", created);
      w.send({ create_request: { key: ctx.key("b"), range_end: ctx.key("b") } });
      await w.next("key = range_end: empty range", created);
      w.send({ create_request: { key: ctx.key("b"), range_end: Buffer.from([0]) } });
      const fromKey = await w.next("range_end \\0 (from key) is not empty", created);
      await ctx.call("KV", "Put", { key: ctx.key("a"), value: b("2") }, "put a=2");
      await ctx.call("KV", "Put", { key: ctx.key("c"), value: b("1") }, "put c=1");
      await w.events("the stream still serves watch 7", "7", 1);
      await w.events("and the from-key watch from b", String(fromKey.watch_id), 1);
    },
  },
  {
    name: "watch: a progress request while a watcher replays history is answered",
    async run(ctx) {
      const first = await ctx.call("KV", "Put", { key: ctx.key("k0"), value: b("0") }, "put k0");
      for (let i = 1; i < 6; i++)
        await ctx.call("KV", "Put", { key: ctx.key(`k${i}`), value: b(String(i)) }, `put k${i}`);
      const w = ctx.watch();
      w.send({
        create_request: { key: ctx.key(""), range_end: ctx.prefixEnd, start_revision: first.header.revision },
      });
      w.send({ progress_request: {} });
      const c = await w.next("created from a past revision", created);
      await w.events("replayed history", String(c.watch_id), 6);
      await w.next("progress response with the current revision", progress);
    },
  },
];
