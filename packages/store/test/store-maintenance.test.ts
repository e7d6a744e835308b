import { waitFor as waitUntil } from "@skiff/testkit";
import t from "tap";
import { runSnapshotRestore } from "../src/server/restore.js";
import { haveEtcdctl, StoreCluster } from "./storeprocs.js";

const fast = ["--heartbeat-interval", "50", "--election-timeout", "500"];

if (!haveEtcdctl) {
  if (process.env.CI === "true") t.fail("etcdctl is missing in CI (the set-up installs etcd-client)");
  else t.skip("etcdctl not installed: run node scripts/setup.mjs as root");
} else {
  t.test(
    "snapshot save with etcdctl, restore into a new 3-member cluster with revisions intact",
    async (t) => {
      const src = new StoreCluster(fast);
      t.teardown(() => src.close());
      await src.start();
      for (let i = 0; i < 20; i++) await src.etcdctl(["put", `k${i}`, `v${i}`]);
      await src.etcdctl(["del", "k0"]);
      const before = JSON.parse((await src.etcdctl(["get", "k", "--prefix", "-w", "json"])).stdout);
      const file = `${src.dir}/backup.db`;
      const saved = await src.etcdctl(["snapshot", "save", file], {
        endpoints: src.endpoints().split(",")[0] as string,
      });
      t.match(saved.stdout + saved.stderr, /Snapshot saved at/, "etcdctl saved the snapshot");

      const dst = new StoreCluster(fast);
      t.teardown(() => dst.close());
      const members = await dst.init(["x", "y", "z"]);
      for (const m of members) {
        const msg = await runSnapshotRestore([
          file,
          "--name",
          m.name,
          "--data-dir",
          dst.dataDir(m),
          "--initial-cluster",
          dst.initialCluster(),
          "--initial-cluster-token",
          "e2e",
          "--initial-advertise-peer-urls",
          m.peerUrl,
        ]);
        t.match(msg, /restored snapshot to .* \(revision \d+, 3 members\)/);
      }
      await t.rejects(
        runSnapshotRestore([
          file,
          "--name",
          "x",
          "--data-dir",
          dst.dataDir(members[0] as never),
          "--initial-cluster",
          dst.initialCluster(),
        ]),
        /data-dir .* exists/,
        "an existing data dir is refused",
      );
      await Promise.all(members.map((m) => dst.startMember(m)));
      const after = JSON.parse((await dst.etcdctl(["get", "k", "--prefix", "-w", "json"])).stdout);
      t.same(after.kvs, before.kvs, "same keys, values and revisions");
      t.equal(after.header.revision, before.header.revision, "same store revision");
      t.equal(
        (await dst.etcdctl(["member", "list"])).stdout.split("\n").filter(Boolean).length,
        3,
        "the new membership",
      );
      t.equal((await dst.etcdctl(["put", "new", "1"])).stdout.trim(), "OK", "and it takes writes");
    },
  );

  t.test(
    "member add through a follower answers once the change is applied, with the new member listed",
    async (t) => {
      const c = new StoreCluster(fast);
      t.teardown(() => c.close());
      await c.start();
      // A follower that knows its leader (right after start-up a member may not know one yet).
      const follower = await waitUntil(
        async () => {
          for (const m of c.members) {
            const host = new URL(m.clientUrl).host;
            const status = (await c.etcdctl(["endpoint", "status", "-w", "json"], { endpoints: host }))
              .stdout;
            const s = (
              JSON.parse(status || "[]") as { Status: { header: { member_id: number }; leader: number } }[]
            )[0];
            if (s !== undefined && s.Status.leader !== 0 && s.Status.leader !== s.Status.header.member_id)
              return host;
          }
          return undefined;
        },
        { what: "a follower that knows its leader", intervalMs: 200 },
      );
      t.ok(follower, "found a follower");
      const [e] = await c.init(["e"]);
      const added = await c.etcdctl(["member", "add", "e", `--peer-urls=${e?.peerUrl}`], {
        endpoints: follower,
      });
      // etcdctl prints ETCD_INITIAL_CLUSTER from the response's member list.
      t.match(
        added.stdout,
        new RegExp(`ETCD_INITIAL_CLUSTER=".*e=${e?.peerUrl}`),
        `listed: ${added.stdout}${added.stderr}`,
      );
      const listed = (await c.etcdctl(["member", "list"], { endpoints: follower })).stdout;
      t.match(listed, e?.peerUrl ?? "", "and the follower lists it");
    },
  );

  t.test(
    "membership: add a learner, start it as an existing member, promote it, remove another",
    async (t) => {
      const c = new StoreCluster(fast);
      t.teardown(() => c.close());
      await c.start();
      await c.etcdctl(["put", "before", "1"]);
      const [d] = await c.init(["d"]);
      if (d === undefined) throw new Error("no member");
      const added = await c.etcdctl(["member", "add", "d", `--peer-urls=${d.peerUrl}`, "--learner"]);
      t.match(added.stdout, /Member\s+[0-9a-f]+ added to cluster/, "member added");
      t.match(added.stdout, /ETCD_INITIAL_CLUSTER_STATE="existing"/);
      await c.startMember(d, ["--initial-cluster-state", "existing"]);
      const listed = async () => (await c.etcdctl(["member", "list"])).stdout;
      const id = /^([0-9a-f]+), started, d, /m.exec(
        await waitFor(listed, (s) => /, started, d, .*, true$/m.test(s)),
      )?.[1];
      t.ok(id, "the learner is started and listed as learner");
      const dOnly = new URL(d.clientUrl).host;
      await waitFor(
        async () =>
          (await c.etcdctl(["get", "before", "--consistency=s", "--print-value-only"], { endpoints: dOnly }))
            .stdout,
        (s) => s.trim() === "1",
      );
      t.pass("the learner caught up with the data");
      const promoted = await c.etcdctl(["member", "promote", id as string]);
      t.match(promoted.stdout, /promoted in cluster/, `promote: ${promoted.stderr}`);
      t.match(await listed(), new RegExp(`^${id}, started, d, .*, false$`, "m"), "now a voter");
      const b = c.members.find((m) => m.name === "b");
      const bId = /^([0-9a-f]+), started, b,/m.exec(await listed())?.[1];
      const removed = await c.etcdctl(["member", "remove", bId as string]);
      t.match(removed.stdout, /removed from cluster/, `remove: ${removed.stderr}`);
      if (b !== undefined) await c.stopMember(b);
      t.equal((await listed()).split("\n").filter(Boolean).length, 3, "a, c and d");
      t.equal(
        (await c.etcdctl(["put", "after", "2"])).stdout.trim(),
        "OK",
        "the new membership takes writes",
      );
      t.match((await c.etcdctl(["member", "promote", bId as string])).stderr, /member not found/);
    },
  );

  t.test(
    "NOSPACE: over --quota-backend-bytes writes fail, reads and deletes work, the alarm can be disarmed",
    async (t) => {
      const c = new StoreCluster([...fast, "--quota-backend-bytes", "65536"]);
      t.teardown(() => c.close());
      await c.start();
      let err = "";
      for (let i = 0; i < 200 && err === ""; i++) {
        const r = await c.etcdctl(["put", `big${i}`], { input: "x".repeat(2000) });
        if (r.code !== 0) err = r.stderr;
      }
      t.match(err, /etcdserver: mvcc: database space exceeded/, "writes fail with etcd's error");
      t.match((await c.etcdctl(["alarm", "list"])).stdout, /alarm:NOSPACE/, "the NOSPACE alarm is raised");
      t.match((await c.etcdctl(["get", "big0", "--print-value-only"])).stdout, /^x+/, "reads work");
      t.match((await c.etcdctl(["del", "big1", "bigz"])).stdout, /^\d+/, "deletes work");
      // One more delete, so that the compaction below falls after the other deletes.
      const rev = JSON.parse((await c.etcdctl(["del", "big0", "-w", "json"])).stdout).header.revision;
      await c.etcdctl(["compaction", String(rev)]);
      await c.etcdctl(["defrag"]);
      t.match((await c.etcdctl(["alarm", "disarm"])).stdout, /alarm:NOSPACE/, "disarmed");
      t.equal((await c.etcdctl(["alarm", "list"])).stdout, "", "no alarm left");
      t.equal((await c.etcdctl(["put", "again", "1"])).stdout.trim(), "OK", "writes work again");
    },
  );
}

/** The first output of get() that ok() accepts; after the deadline, the last one (checked by the caller). */
async function waitFor(get: () => Promise<string>, ok: (s: string) => boolean, ms = 60_000): Promise<string> {
  let last = "";
  await waitUntil(
    async () => {
      last = await get();
      return ok(last);
    },
    { what: "etcdctl's output", timeoutMs: ms, intervalMs: 200 },
  ).catch(() => undefined);
  return last;
}
