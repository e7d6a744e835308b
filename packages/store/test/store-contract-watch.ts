/**
 * Watch and lease cases of the etcd v3 contract suite (etcd v3.4 etcdserver/api/v3rpc/watch.go,
 * mvcc/watchable_store.go, etcdserver/api/v3rpc/lease.go). Watch responses may batch events
 * differently, so events are compared as one flattened sequence per watch.
 */
import { type Any, b, type ContractCase } from "./store-contract.js";

const created = (m: Any) => m.created === true;

export const contractWatchLeaseCases: readonly ContractCase[] = [
  {
    name: "watch: from a past revision replays history, then live events, with prev_kv",
    async run(ctx) {
      const first = await ctx.call("KV", "Put", { key: ctx.key("a"), value: b("1") }, "put a=1");
      await ctx.call("KV", "Put", { key: ctx.key("a"), value: b("2") }, "put a=2");
      await ctx.call("KV", "DeleteRange", { key: ctx.key("a") }, "delete a");
      await ctx.call("KV", "Put", { key: ctx.key("b"), value: b("1") }, "put b=1");
      const all = { key: ctx.key(""), range_end: ctx.prefixEnd, start_revision: first.header.revision };
      const w = ctx.watch();
      w.send({ create_request: { ...all } });
      const c0 = await w.next("created (no prev_kv)", created);
      await w.events("replayed history", String(c0.watch_id), 4);
      w.send({ create_request: { ...all, prev_kv: true } });
      const c1 = await w.next("created (prev_kv)", created);
      await w.events("replayed history with prev_kv", String(c1.watch_id), 4);
      await ctx.call("KV", "Put", { key: ctx.key("b"), value: b("2") }, "live put b=2");
      await ctx.call("KV", "DeleteRange", { key: ctx.key("b") }, "live delete b");
      await w.events("live events", String(c0.watch_id), 2);
      await w.events("live events with prev_kv", String(c1.watch_id), 2);
    },
  },
  {
    name: "watch: filters NOPUT and NODELETE",
    async run(ctx) {
      const all = { key: ctx.key(""), range_end: ctx.prefixEnd };
      const w = ctx.watch();
      w.send({ create_request: { ...all, filters: [0] } });
      const noput = await w.next("created NOPUT", created);
      w.send({ create_request: { ...all, filters: [1] } });
      const nodelete = await w.next("created NODELETE", created);
      for (const k of ["x", "y"]) {
        await ctx.call("KV", "Put", { key: ctx.key(k), value: b(k) }, `put ${k}`);
        await ctx.call("KV", "DeleteRange", { key: ctx.key(k) }, `delete ${k}`);
      }
      await w.events("NOPUT sees deletes", String(noput.watch_id), 2);
      await w.events("NODELETE sees puts", String(nodelete.watch_id), 2);
    },
  },
  {
    name: "watch: cancel, then no more events",
    async run(ctx) {
      const w = ctx.watch();
      w.send({ create_request: { key: ctx.key("a") } });
      const c0 = await w.next("created a", created);
      await ctx.call("KV", "Put", { key: ctx.key("a"), value: b("1") }, "put a=1");
      await w.events("event before cancel", String(c0.watch_id), 1);
      w.send({ cancel_request: { watch_id: c0.watch_id } });
      await w.next("canceled", (m) => m.canceled === true);
      await ctx.call("KV", "Put", { key: ctx.key("a"), value: b("2") }, "put a=2 after cancel");
      w.send({ create_request: { key: ctx.key("b") } });
      const c1 = await w.next("created b", created);
      await ctx.call("KV", "Put", { key: ctx.key("b"), value: b("1") }, "put b=1");
      await w.events("event on the second watch", String(c1.watch_id), 1);
      w.recordUnread("events on the canceled watch", String(c0.watch_id));
      w.send({ cancel_request: { watch_id: "12345" } });
      await ctx.call("KV", "Range", { key: ctx.key("b") }, "cancel of an unknown watch is ignored");
    },
  },
  {
    name: "watch: compacted start revision, progress request",
    async run(ctx) {
      const w = ctx.watch();
      w.send({ create_request: { key: ctx.key("a"), start_revision: 2 } });
      await w.next("created at a compacted revision", created);
      await w.next("canceled with compact_revision", (m) => m.canceled === true);
      w.send({ create_request: { key: ctx.key("a") } });
      const c1 = await w.next("created", created);
      await ctx.call("KV", "Put", { key: ctx.key("a"), value: b("1") }, "put a=1");
      await w.events("event", String(c1.watch_id), 1);
      w.send({ progress_request: {} });
      await w.next("progress response", (m) => String(m.watch_id) === "-1");
    },
  },
  {
    name: "lease: grant with ID, time-to-live, put with lease, keep-alive",
    async run(ctx) {
      await ctx.call("Lease", "LeaseGrant", { ID: "1001", TTL: 60 }, "grant 1001");
      await ctx.call("Lease", "LeaseGrant", { ID: "1001", TTL: 60 }, "grant 1001 again");
      await ctx.call("KV", "Put", { key: ctx.key("a"), value: b("1"), lease: "1001" }, "put a with lease");
      await ctx.call("KV", "Put", { key: ctx.key("b"), value: b("1"), lease: "1001" }, "put b with lease");
      await ctx.call(
        "KV",
        "Put",
        { key: ctx.key("a"), value: b("2"), ignore_lease: true },
        "put a ignore_lease",
      );
      const ttl = async (keys: boolean, step: string) => {
        const r = await ctx.call("Lease", "LeaseTimeToLive", { ID: "1001", keys }, null);
        // The lease's keys are a set in etcd (a Go map): their order is not part of the contract.
        const leaseKeys = ((r.keys ?? []) as Buffer[]).map(String).sort();
        ctx.record(step, { ...r, TTL: "<remaining>", keys: leaseKeys });
        // Remaining time is a clock reading: equal within a second of the granted TTL is the contract.
        ctx.record(`${step}: TTL within 1 s`, Number(r.grantedTTL) - Number(r.TTL) <= 1);
      };
      await ttl(false, "time-to-live");
      await ttl(true, "time-to-live with keys");
      const ka = await ctx.keepAlive("1001", "keep-alive 1001");
      ctx.record("keep-alive TTL", ka.TTL);
      const all = await ctx.call("Lease", "LeaseLeases", {}, null);
      ctx.record(
        "leases include 1001 and 4242",
        (all.leases as Any[])
          .map((l) => String(l.ID))
          .filter((id) => id === "1001" || id === "4242")
          .sort(),
      );
      await ctx.call("KV", "Range", { key: ctx.key(""), range_end: ctx.prefixEnd }, "keys carry the lease");
    },
  },
  {
    name: "lease: revoke deletes attached keys in one revision",
    async run(ctx) {
      await ctx.call("Lease", "LeaseGrant", { ID: "1002", TTL: 60 }, "grant 1002");
      const w = ctx.watch();
      w.send({ create_request: { key: ctx.key(""), range_end: ctx.prefixEnd, prev_kv: true } });
      const c = await w.next("created", created);
      for (const k of ["a", "b", "c"]) {
        await ctx.call("KV", "Put", { key: ctx.key(k), value: b(k), lease: "1002" }, `put ${k} with lease`);
      }
      await ctx.call("KV", "Put", { key: ctx.key("d"), value: b("d") }, "put d without lease");
      await ctx.call("Lease", "LeaseRevoke", { ID: "1002" }, "revoke 1002");
      await w.events("puts then deletes", String(c.watch_id), 7);
      await ctx.call("KV", "Range", { key: ctx.key(""), range_end: ctx.prefixEnd }, "only d remains");
      await ctx.call("Lease", "LeaseTimeToLive", { ID: "1002" }, "time-to-live after revoke");
    },
  },
  {
    name: "lease: not-found errors, keep-alive of an unknown lease, server-chosen IDs",
    async run(ctx) {
      await ctx.call("Lease", "LeaseRevoke", { ID: "99999" }, "revoke unknown");
      await ctx.call(
        "KV",
        "Put",
        { key: ctx.key("a"), value: b("1"), lease: "99999" },
        "put with unknown lease",
      );
      await ctx.call(
        "KV",
        "Txn",
        { success: [{ request_put: { key: ctx.key("a"), value: b("1"), lease: "99999" } }] },
        "txn put with unknown lease",
      );
      await ctx.call("Lease", "LeaseTimeToLive", { ID: "99999", keys: true }, "time-to-live unknown");
      await ctx.keepAlive("99999", "keep-alive unknown");
      const g = await ctx.call("Lease", "LeaseGrant", { TTL: 30 }, "grant with server-chosen ID");
      await ctx.call("KV", "Put", { key: ctx.key("b"), value: b("1"), lease: g.ID }, "put with it");
      await ctx.call("KV", "Range", { key: ctx.key("b") }, "get shows the lease");
      await ctx.call("Lease", "LeaseRevoke", { ID: g.ID }, "revoke it");
      await ctx.call("Lease", "LeaseGrant", { ID: "1003", TTL: 9_000_000_001 }, "grant TTL too large");
    },
  },
];
