import { closeEtcdClients, type EtcdClients, etcdClients, unaryCall } from "@skiff/etcd-client";
import { waitFor } from "@skiff/testkit";
import t from "tap";
import { haveEtcdctl, StoreCluster, type StoreMember } from "./storeprocs.js";

// Maintenance Hash and HashKV on a 3-member skiff store: members that applied the same entries
// answer the same numbers (what corruption checks between members compare), a restarted member
// too, and a write changes them. etcdctl's `endpoint hashkv --cluster` asks every member.

interface Hashes {
  revision: number;
  hash: number;
  hashKV: number;
}

async function hashesOf(c: EtcdClients): Promise<Hashes> {
  const h = await unaryCall<{ header: { revision: string }; hash: number }>(c.Maintenance, "Hash", {});
  const kv = await unaryCall<{ hash: number }>(c.Maintenance, "HashKV", { revision: 0 });
  return { revision: Number(h.header.revision), hash: h.hash, hashKV: kv.hash };
}

if (!haveEtcdctl) {
  if (process.env.CI === "true") t.fail("etcdctl is missing in CI (the set-up installs etcd-client)");
  else {
    const skip = "etcdctl not installed: run node scripts/setup.mjs as root";
    t.test("Hash and HashKV agree between members and change with a write", { skip }, async () => {});
  }
} else {
  t.test("Hash and HashKV agree between members and change with a write", async (t) => {
    const cluster = new StoreCluster(["--heartbeat-interval", "50", "--election-timeout", "500"]);
    const clients = new Map<StoreMember, EtcdClients>();
    const of = (m: StoreMember) => {
      let c = clients.get(m);
      if (c === undefined) {
        c = etcdClients(new URL(m.clientUrl).host);
        clients.set(m, c);
      }
      return c;
    };
    t.teardown(async () => {
      for (const c of clients.values()) closeEtcdClients(c);
      await cluster.close();
    });
    await cluster.start();
    const ctl = async (args: string[]) => {
      const r = await cluster.etcdctl(args);
      if (r.code !== 0) throw new Error(`etcdctl ${args.join(" ")}: ${r.stderr}`);
      return r.stdout;
    };
    const lease = (await ctl(["lease", "grant", "300"])).split(" ")[1] as string;
    for (let i = 0; i < 10; i++) await ctl(["put", `k${i}`, `v${i}`]);
    await ctl(["put", "leased", "x", "--lease", lease]);
    await ctl(["del", "k3"]);
    await ctl(["compact", "5"]);
    const last = JSON.parse(await ctl(["put", "k1", "again", "-w", "json"])).header.revision as number;

    /** Every member's hashes once all have applied up to `rev` (the last write proposed). */
    const atRevision = (rev: number) =>
      waitFor(
        async () => {
          const all = await Promise.all(cluster.members.map((m) => hashesOf(of(m))));
          return all.every((h) => h.revision === rev) ? all : undefined;
        },
        { what: `every member at revision ${rev}` },
      );
    const before = await atRevision(last);
    t.equal(new Set(before.map((h) => h.hash)).size, 1, "one Hash on all three members");
    t.equal(new Set(before.map((h) => h.hashKV)).size, 1, "one HashKV on all three members");

    const viaEtcdctl = JSON.parse(await ctl(["endpoint", "hashkv", "--cluster", "-w", "json"])) as {
      HashKV: { hash: number; compact_revision: number };
    }[];
    t.equal(viaEtcdctl.length, 3, "etcdctl endpoint hashkv --cluster asks every member");
    t.same(
      viaEtcdctl.map((e) => [e.HashKV.hash, e.HashKV.compact_revision]),
      [0, 1, 2].map(() => [before[0]?.hashKV, 5]),
      "and gets the same HashKV and compact revision",
    );

    const restarted = cluster.members[2] as StoreMember;
    await cluster.stopMember(restarted);
    closeEtcdClients(of(restarted));
    clients.delete(restarted);
    await cluster.startMember(restarted);
    const again = await atRevision(last);
    t.same(again, before, "a restarted member has the same hashes");

    await ctl(["put", "k2", "changed"]);
    const after = await atRevision(last + 1);
    t.equal(new Set(after.map((h) => h.hash)).size, 1, "after a write: one Hash again");
    t.not(after[0]?.hash, before[0]?.hash, "a write changes Hash");
    t.not(after[0]?.hashKV, before[0]?.hashKV, "and HashKV");
  });
}
