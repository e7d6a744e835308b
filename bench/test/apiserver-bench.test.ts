import t from "tap";
import { quickPlan, runApiserverBench } from "../src/apiserver.js";
import { apiTables, apiTargets } from "../src/apiserver-report.js";

// Not a timed assertion: checks that the benchmark drives a real API server through every phase,
// that the rows have the shape the report needs, and that every watcher received every event.
t.test(
  "apiserver bench creates, applies, reads, lists and watches pods through the real server",
  async (t) => {
    const rows = await runApiserverBench({
      plan: {
        ...quickPlan,
        createLevels: [4, 16],
        createSeconds: 0.5,
        openRate: 100,
        openSeconds: 0.5,
        storedPods: 200,
        gets: 50,
        lists: 3,
        watchers: 20,
        watchWrites: 10,
        watchWriteRate: 50,
        warmSeconds: 0.2,
      },
    });
    const workloads = rows.map((r) => `${r.workload}/${r.clients}`);
    t.same(workloads, [
      "create-closed/4",
      "create-closed/16",
      "create-open/1",
      "apply-closed/4",
      "apply-closed/16",
      "reapply-closed/16",
      "fill/64",
      "get/1",
      "list/1",
      "list-paged/1",
      "list-rv0/1",
      "watch-fanout/20",
    ]);
    for (const r of rows) {
      t.ok(r.ops > 0 && r.opsPerSecond > 0 && Number.isFinite(r.opsPerSecond), `${r.workload}: ${r.ops} ops`);
      t.equal(r.errors, 0, `${r.workload}: no errors`);
      t.ok(r.p50ms <= r.p99ms && r.p99ms <= r.p999ms, `${r.workload}: percentiles are ordered`);
      t.ok(r.processCpuSeconds > 0, `${r.workload}: CPU measured`);
    }
    t.equal(rows.find((r) => r.workload === "fill")?.ops, 200, "the namespace was filled");
    const watch = rows.find((r) => r.workload === "watch-fanout");
    t.equal(watch?.ops, 10, "a fan-out delay for every write");
    t.equal(watch?.expectedEvents, 200);
    t.equal(watch?.receivedEvents, 200, "every watcher received every event");

    const targets = apiTargets(rows);
    for (const v of Object.values(targets.values)) t.ok(Number.isFinite(v), "every target was measured");
    t.match(apiTables(rows), /\| watch fan-out .* \| 20 watchers \| 200 \|/);
  },
);
