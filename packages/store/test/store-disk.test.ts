/**
 * `skiff store` with its key space on LevelDB, as processes: every acknowledged write survives a
 * SIGKILL of every member (the log replays from the consistent index). A member that catches up by
 * a snapshot from the leader's LevelDB is in store-watch-member.test.ts.
 */
import { closeEtcdClients, etcdClients, unaryCall } from "@skiff/etcd-client";
import { waitFor } from "@skiff/testkit";
import t from "tap";
import { haveEtcdctl, StoreCluster, type StoreMember } from "./storeprocs.js";

const fast = ["--heartbeat-interval", "50", "--election-timeout", "500"];

interface RangeOut {
  kvs?: { key: Buffer; value: Buffer; mod_revision: string }[];
  count: string;
  header: { revision: string };
}

async function putMany(endpoint: string, prefix: string, n: number): Promise<void> {
  const c = etcdClients(endpoint);
  try {
    for (let i = 0; i < n; i += 20) {
      const batch = [];
      for (let j = i; j < Math.min(n, i + 20); j++) {
        batch.push(
          unaryCall(
            c.KV,
            "Put",
            { key: Buffer.from(`${prefix}${j}`), value: Buffer.from(`value ${j}`) },
            30_000,
          ),
        );
      }
      await Promise.all(batch);
    }
  } finally {
    closeEtcdClients(c);
  }
}

async function range(m: StoreMember, serializable: boolean): Promise<RangeOut> {
  const c = etcdClients(new URL(m.clientUrl).host);
  try {
    return (await unaryCall(
      c.KV,
      "Range",
      { key: Buffer.from("k"), range_end: Buffer.from("l"), serializable },
      10_000,
    )) as RangeOut;
  } finally {
    closeEtcdClients(c);
  }
}

if (!haveEtcdctl) {
  if (process.env.CI === "true") t.fail("etcdctl is missing in CI (the set-up installs etcd-client)");
  else t.skip("etcdctl not installed: run node scripts/setup.mjs as root");
} else {
  t.test("every acknowledged write survives SIGKILL of every member", async (t) => {
    const c = new StoreCluster([...fast, "--snapshot-count", "100"]);
    t.teardown(() => c.close());
    await c.start();
    await putMany(c.endpoints().split(",")[0] as string, "k", 150);
    await c.etcdctl(["compact", "50"]);
    const before = await range(c.members[0] as StoreMember, false);
    t.equal(before.count, "150");
    await Promise.all(c.members.map((m) => c.stopMember(m, "SIGKILL")));
    await Promise.all(c.members.map((m) => c.startMember(m)));
    for (const m of c.members) {
      const after = await waitFor(() => range(m, false).catch(() => undefined), {
        what: `${m.name} to serve after the restart`,
        timeoutMs: 60_000,
      });
      t.same(after.kvs, before.kvs, `${m.name}: the same keys, values and revisions`);
    }
    const old = await c.etcdctl(["get", "k1", "--rev", "10"]);
    t.match(old.stderr, /required revision has been compacted/, "the compaction survived too");
  });
}
