import { readFileSync } from "node:fs";
import t from "tap";
import { closeChannels, closedLoop, openChannels, putOp } from "../src/store-load.js";
import { missing, startStoreCluster } from "../src/store-procs.js";
import { type StoreRow, storeRatios, storeTables } from "../src/store-report.js";

// Not a timed assertion: checks that the load generator runs against a real etcd cluster and that
// the result has the shape the report needs.
t.test("store bench load generator puts through etcd's gRPC API and reports percentiles", async (t) => {
  const why = missing("etcd");
  if (why !== undefined) {
    if (process.env.CI === "true") t.fail(`etcd is required in CI: ${why}`);
    else t.skip(`skipped: ${why}`);
    return;
  }
  const cluster = await startStoreCluster("etcd");
  t.teardown(() => cluster.stop());
  const channels = await openChannels(cluster.targets, 1);
  t.teardown(() => closeChannels(channels));
  const m = await closedLoop(channels, 4, 0.3, putOp("x"));
  t.ok(m.ops > 0, `${m.ops} puts`);
  t.equal(m.errors, 0);
  for (const p of [m.p50ms, m.p99ms, m.p999ms]) t.ok(Number.isFinite(p) && p > 0, `percentile ${p}`);
  t.ok(m.p50ms <= m.p99ms && m.p99ms <= m.p999ms, "percentiles are ordered");

  const row = (system: StoreRow["system"], scale: number): StoreRow => ({
    ...m,
    opsPerSecond: m.opsPerSecond * scale,
    p99ms: m.p99ms * scale,
    workload: "put",
    system,
    clients: 4,
    memberCpuSeconds: [0, 0, 0],
    memberPeakRssMiB: [1, 1, 1],
    clientCpuSeconds: 0.5,
  });
  const rows = [row("etcd", 1), row("skiff-store", 0.5)];
  const ratios = storeRatios(rows);
  t.ok(Math.abs(ratios.put_throughput - 0.5) < 1e-9, "put throughput ratio is skiff/etcd");
  t.ok(Math.abs(ratios.put_p99_latency - 0.5) < 1e-9, "put p99 ratio is skiff/etcd");
  t.ok(Number.isNaN(ratios.watch_events_per_second), "a workload that did not run has no ratio");
  t.match(storeTables(rows), /\| 4 \| skiff-store \|.*\| 0\.50 \| 0\.50 \|/);
});

t.test("skiff-store members start as `skiff store` does, node's flags from skiff's first line", async (t) => {
  const why = missing("skiff-store");
  if (why !== undefined) {
    if (process.env.CI === "true") t.fail(`skiff must be built in CI: ${why}`);
    else t.skip(`skipped: ${why}`);
    return;
  }
  const cluster = await startStoreCluster("skiff-store");
  t.teardown(() => cluster.stop());
  for (const pid of cluster.pids) {
    const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    t.ok(argv.includes("--max-semi-space-size=8"), `member ${pid}: node --max-semi-space-size=8`);
    t.ok(argv.includes("--interrupt-budget=16896"), `member ${pid}: node --interrupt-budget=16896`);
    t.ok(argv.includes("store"), `member ${pid}: skiff store`);
  }
  const channels = await openChannels(cluster.targets, 1);
  t.teardown(() => closeChannels(channels));
  const m = await closedLoop(channels, 4, 0.3, putOp("y"));
  t.ok(m.ops > 0, `${m.ops} puts`);
  t.equal(m.errors, 0);
});
