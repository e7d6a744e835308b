import { readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import t from "tap";
import { parseProcStatus, procMemory } from "../src/proc-status.js";
import { parseSizes } from "../src/store.js";
import { largePlan, runLargePhase } from "../src/store-large.js";
import { maxOf } from "../src/store-large-load.js";
import { type LargeRow, largeChecks, largeRatios, largeTables } from "../src/store-large-report.js";
import { missing } from "../src/store-procs.js";

t.test("parseProcStatus reads VmRSS, VmHWM, RssAnon and RssFile in MiB", async (t) => {
  const status = [
    "Name:\tetcd",
    "VmPeak:\t  900000 kB",
    "VmHWM:\t  358400 kB",
    "VmRSS:\t  353280 kB",
    "RssAnon:\t  318464 kB",
    "RssFile:\t   34816 kB",
    "RssShmem:\t       0 kB",
    "Threads:\t12",
  ].join("\n");
  t.same(parseProcStatus(status), { rssMiB: 345, hwmMiB: 350, anonMiB: 311, fileMiB: 34 });
  const none = parseProcStatus("Name:\tgone\n");
  t.ok(Object.values(none).every(Number.isNaN), "absent fields are NaN, not 0");
  const self = procMemory(process.pid);
  t.ok(self.rssMiB > 0 && self.hwmMiB >= self.rssMiB, "this process: 0 < VmRSS <= VmHWM");
  t.ok(Math.abs(self.anonMiB + self.fileMiB - self.rssMiB) < 1, "RssAnon + RssFile + RssShmem = VmRSS");
});

t.test("maxOf takes the largest of many values without spreading them", async (t) => {
  t.equal(maxOf(Array.from({ length: 300_000 }, (_, i) => i % 1000)), 999);
  t.ok(Number.isNaN(maxOf([])));
});

t.test("--large-keys takes positive sizes", async (t) => {
  t.same(parseSizes("100000,200_000"), [100_000, 200_000]);
  for (const bad of ["", "0", "10,x", "1.5"]) t.throws(() => parseSizes(bad), bad);
  const plan = largePlan([200_000, 100_000]);
  t.equal(plan.snapshotCount, 100_000, "the one member snapshots every smallest-size entries");
  t.equal(plan.clusterSnapshotCount, 10_000);
  t.equal(plan.clusterKeys, 100_000);
  t.equal(plan.tailKeys(200_000), 100_000);
});

function row(system: LargeRow["system"], scale: number, over: Partial<LargeRow> = {}): LargeRow {
  return {
    workload: "large",
    system,
    keys: 1000,
    clients: 128,
    ops: 1000,
    seconds: 1 / scale,
    opsPerSecond: 1000 * scale,
    p50ms: 1,
    p99ms: 2,
    p999ms: 3,
    errors: 0,
    maxMs: 4,
    memberCpuSeconds: [1],
    memberPeakRssMiB: [100 * scale],
    clientCpuSeconds: 1,
    probe: { probes: 10, worstMs: 50 * scale, p99ms: 40, errors: 0 },
    idle: { rssMiB: 60, anonMiB: 40 * scale, fileMiB: 20 * scale },
    restarts: [
      { kind: "after-load", tailKeys: 0, raftIndex: 1002, servingMs: 1000 * scale, peakRssMiB: 90 },
      { kind: "with-tail", tailKeys: 500, raftIndex: 1502, servingMs: 2000 * scale, peakRssMiB: 95 },
    ],
    snapshotCount: 1000,
    ...over,
  };
}

t.test("large checks compare skiff with etcd against issue 22's targets", async (t) => {
  const cluster = (system: LargeRow["system"], termAfter: number) =>
    row(system, 1, { workload: "large-cluster", termBefore: 2, termAfter, snapshotCount: 100 });
  const rows = [row("etcd", 1), row("skiff-store", 1.3), cluster("etcd", 2), cluster("skiff-store", 5)];
  const checks = new Map(largeChecks(rows).map((c) => [c.id, c]));
  t.equal(checks.get("put_throughput")?.met, true, "1.3x etcd's puts/s meets >= 1.2x");
  t.equal(checks.get("restart_after_load")?.met, false, "1.3x etcd's restart misses <= 1x");
  t.equal(checks.get("peak_rss_load")?.met, true, "1.3x etcd's peak RSS meets <= 1.5x");
  t.equal(checks.get("probe_worst_latency")?.met, true);
  t.ok(Math.abs((checks.get("idle_rss")?.value ?? 0) - 1.3) < 1e-9, "idle RSS is anon + file");
  t.equal(checks.get("cluster_elections")?.value, 3, "elections = term after - term before");
  t.equal(checks.get("cluster_elections")?.met, false);
  t.ok(Math.abs((largeRatios(rows)["put_throughput@1000"] ?? 0) - 1.3) < 1e-9);
  const md = largeTables(rows);
  t.match(md, /\| 1000 \| skiff-store \|.*\| 52 \+ 26 \|/, "idle RSS shown as anon + file");
  t.match(md, /\| 1000 \| elections during the load, 3 members \| 3 \| 0 \| {2}\| 0 \| no \|/);
  const onlyEtcd = largeChecks([row("etcd", 1)]);
  t.ok(
    onlyEtcd.every((c) => !c.met),
    "a side that did not run meets no target",
  );
});

// Not a timed assertion: the phase runs end to end on a tiny dataset (etcd only, so the test needs
// no build) and leaves no process or directory behind.
t.test("the large phase runs against etcd and cleans up after itself", async (t) => {
  const why = missing("etcd");
  if (why !== undefined) {
    if (process.env.CI === "true") t.fail(`etcd is required in CI: ${why}`);
    else t.skip(`skipped: ${why}`);
    return;
  }
  const dirs = () => readdirSync(tmpdir()).filter((d) => d.startsWith("skiff-bench-large-etcd-"));
  const before = new Set(dirs());
  const lines: string[] = [];
  const rows = await runLargePhase(largePlan([300], { systems: ["etcd"], settleMs: 0, clients: 16 }), (l) =>
    lines.push(l),
  );
  t.equal(rows.length, 2, "one member and the 3-member cluster");
  const [one, three] = rows as [LargeRow, LargeRow];
  t.equal(one.error, undefined, `no failure: ${lines.join("; ")}`);
  t.equal(one.ops, 300, "every key written");
  t.same(
    one.restarts?.map((r) => [r.kind, r.tailKeys]),
    [
      ["after-load", 0],
      ["with-tail", 150],
    ],
  );
  t.ok(
    one.restarts?.every((r) => r.servingMs > 0 && r.peakRssMiB > 0),
    "restarts timed, memory read",
  );
  t.ok((one.restarts?.[1]?.raftIndex ?? 0) >= 450, "the tail's puts are in the log");
  t.ok((one.probe?.probes ?? 0) > 0 && one.probe?.errors === 0, "the probe read during the load");
  t.ok((one.idle?.anonMiB ?? 0) > 0 && (one.idle?.fileMiB ?? 0) > 0, "idle memory read");
  t.equal(three.error, undefined);
  t.equal(three.ops, 300);
  t.ok((three.termAfter ?? 0) >= (three.termBefore ?? 1), "terms read before and after");
  t.same(
    dirs().filter((d) => !before.has(d)),
    [],
    "data directories removed",
  );
  t.same(membersLeft(), [], "no member process left");
});

/** PIDs of this process's children that run a member of the large phase. */
function membersLeft(): number[] {
  return readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .filter((pid) => {
      try {
        const ppid = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ")[1];
        return (
          Number(ppid) === process.pid && readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("bench-large")
        );
      } catch {
        return false; // gone meanwhile
      }
    })
    .map(Number);
}
