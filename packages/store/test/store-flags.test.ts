import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, waitFor } from "@skiff/testkit";
import t from "tap";
import { parseStoreFlags, storeFlags } from "../src/server/flags.js";
import { Store } from "../src/server/store.js";

t.test("skiff store takes etcd's flags and their defaults; unknown or bad flags are errors", async (t) => {
  const f = parseStoreFlags(["--name", "m1", "--election-timeout=2000", "--heartbeat-interval", "200"]);
  t.equal(f.dataDir, "m1.etcd", "etcd's default data dir");
  t.equal(f.initialCluster, "m1=http://localhost:2380");
  t.same([f.heartbeatMs, f.electionMs, f.snapshotCount, f.maxTxnOps], [200, 2000, 10000, 128]);
  t.equal(f.maxRequestBytes, 1.5 * 1024 * 1024);
  t.equal(f.quotaBackendBytes, 2 * 1024 * 1024 * 1024, "0 means the 2 GiB default");
  t.throws(() => parseStoreFlags(["--bogus"]), /flag provided but not defined: --bogus/);
  t.throws(() => parseStoreFlags(["--initial-cluster-state", "old"]), /initial-cluster-state/);
  t.throws(
    () => parseStoreFlags(["--election-timeout", "300"]),
    /at least as 5 times as --heartbeat-interval/,
  );
  t.throws(() => parseStoreFlags(["--snapshot-count=0"]), /must be a positive integer/);
  t.equal(f.watchBatchIntervalMs, 100, "live watch events held at most 100 ms by default");
  t.equal(parseStoreFlags(["--experimental-watch-batch-interval=0"]).watchBatchIntervalMs, 0, "0: at once");
  t.throws(
    () => parseStoreFlags(["--experimental-watch-batch-interval=-5"]),
    /invalid value "-5" for flag --experimental-watch-batch-interval/,
  );
  await t.rejects(
    new Store(parseStoreFlags(["--name", "x", "--initial-cluster", "y=http://127.0.0.1:1"])).start(),
    /couldn't find local name "x" in the initial cluster configuration/,
  );
  t.throws(() => parseStoreFlags(["--log-level", "loud"]), /invalid value "loud" for flag --log-level/);
  const help = storeFlags.usage();
  for (const name of storeFlags.names)
    t.match(help, new RegExp(`^  --${name}\\b`, "m"), `--help has --${name}`);
  t.match(help, /--snapshot-count string\s+Number of committed transactions .*\(default "10000"\)/);
});

t.test("--listen-metrics-urls serves Prometheus metrics with etcd's names and /health", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "skiff-store-flags-"));
  const peer = `http://127.0.0.1:${await freePort()}`;
  const client = `http://127.0.0.1:${await freePort()}`;
  const metrics = `http://127.0.0.1:${await freePort()}`;
  const store = new Store(
    parseStoreFlags([
      "--name",
      "a",
      "--data-dir",
      join(dir, "a"),
      "--listen-peer-urls",
      peer,
      "--initial-advertise-peer-urls",
      peer,
      "--listen-client-urls",
      client,
      "--advertise-client-urls",
      client,
      "--initial-cluster",
      `a=${peer}`,
      "--listen-metrics-urls",
      metrics,
      "--heartbeat-interval",
      "50",
      "--election-timeout",
      "500",
      "--log-level",
      "error",
    ]),
  );
  t.teardown(async () => {
    await store.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  await store.start();
  let health = 0;
  await waitFor(
    async () => {
      health = (await fetch(`${metrics}/health`)).status;
      return health === 200;
    },
    { what: "/health to answer 200", intervalMs: 100 },
  ).catch(() => undefined); // the assertion below reports it
  t.equal(health, 200, "healthy once it leads itself");
  t.same(await (await fetch(`${metrics}/health`)).json(), { health: "true" }, "etcd's /health body");
  await store.ready;
  t.match(store.describe(), { name: "a", id: Number, client: [client] }, "the ready line's fields");
  t.equal((await fetch(`${metrics}/livez`)).status, 200, "/livez");
  t.equal(
    await (await fetch(`${metrics}/readyz?verbose`)).text(),
    "[+]ping ok\n[+]raft ok\n[+]leader ok\nreadyz check passed\n",
  );
  const text = await (await fetch(`${metrics}/metrics`)).text();
  for (const name of [
    "etcd_server_has_leader 1",
    "etcd_server_leader_changes_seen_total",
    "etcd_disk_wal_fsync_duration_seconds_bucket",
    "etcd_server_proposals_committed_total",
  ]) {
    t.match(text, name, name);
  }
});

t.test(
  "embedded: no client listener, peer port 0; ready once it leads; the etcd API in process",
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "skiff-store-embedded-"));
    const store = new Store(
      parseStoreFlags([
        ...["--name", "e", "--data-dir", join(dir, "e"), "--log-level", "error"],
        ...["--listen-client-urls", "", "--advertise-client-urls", ""],
        ...[
          "--listen-peer-urls",
          "http://127.0.0.1:0",
          "--initial-advertise-peer-urls",
          "http://127.0.0.1:0",
        ],
        ...["--heartbeat-interval", "50", "--election-timeout", "250"],
      ]),
    );
    t.teardown(async () => {
      await store.stop();
      rmSync(dir, { recursive: true, force: true });
    });
    t.throws(() => store.etcd, /not started/, "no API before start()");
    await store.start();
    await store.ready;
    t.same(await store.health.failing("readyz"), [], "ready: it knows a leader");
    const put = { key: Buffer.from("k"), value: Buffer.from("v"), lease: "0" };
    await store.etcd.put({ ...put, prev_kv: false, ignore_value: false, ignore_lease: false });
    const got = await store.etcd.range({
      key: Buffer.from("k"),
      range_end: Buffer.alloc(0),
      ...{ limit: "0", revision: "0", sort_order: 0, sort_target: 0 },
      ...{ serializable: false, keys_only: false, count_only: false },
      ...{ min_mod_revision: "0", max_mod_revision: "0", min_create_revision: "0", max_create_revision: "0" },
    });
    t.equal(got.kvs?.[0]?.value?.toString(), "v", "a linearizable read sees the write");
    await store.stop();
    await store.stop();
    t.pass("stop() twice is fine");
  },
);

t.test("ready rejects when the store stops before it knows a leader", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "skiff-store-noleader-"));
  const peers = [`http://127.0.0.1:${await freePort()}`, `http://127.0.0.1:${await freePort()}`];
  const store = new Store(
    parseStoreFlags([
      ...["--name", "a", "--data-dir", join(dir, "a"), "--log-level", "error"],
      ...["--listen-client-urls", "", "--listen-peer-urls", peers[0] as string],
      ...["--initial-cluster", `a=${peers[0]},b=${peers[1]}`],
    ]),
  );
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  await store.start();
  t.same(await store.health.failing("readyz"), ["leader"], "not ready: one of two members is up");
  await store.stop();
  await t.rejects(store.ready, /stopped before it knew a leader/);
});
