import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, waitFor } from "@skiff/testkit";
import t from "tap";
import { parseStoreFlags } from "../src/server/flags.js";
import { startStore } from "../src/server/main.js";

t.test("skiff store takes etcd's flags and their defaults; unknown or bad flags are errors", async (t) => {
  const f = parseStoreFlags(["--name", "m1", "--election-timeout=2000", "--heartbeat-interval", "200"]);
  t.equal(f.dataDir, "m1.etcd", "etcd's default data dir");
  t.equal(f.initialCluster, "m1=http://localhost:2380");
  t.same([f.heartbeatMs, f.electionMs, f.snapshotCount, f.maxTxnOps], [200, 2000, 100000, 128]);
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
    startStore(["--name", "x", "--initial-cluster", "y=http://127.0.0.1:1"]),
    /couldn't find local name "x" in the initial cluster configuration/,
  );
});

t.test("--listen-metrics-urls serves Prometheus metrics with etcd's names and /health", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "skiff-store-flags-"));
  const peer = `http://127.0.0.1:${await freePort()}`;
  const client = `http://127.0.0.1:${await freePort()}`;
  const metrics = `http://127.0.0.1:${await freePort()}`;
  const store = await startStore([
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
  ]);
  t.teardown(async () => {
    await store.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  let health = 0;
  await waitFor(
    async () => {
      health = (await fetch(`${metrics}/health`)).status;
      return health === 200;
    },
    { what: "/health to answer 200", intervalMs: 100 },
  ).catch(() => undefined); // the assertion below reports it
  t.equal(health, 200, "healthy once it leads itself");
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
