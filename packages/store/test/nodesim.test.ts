import t from "tap";
import { runNodeSimulation } from "../src/sim/nodesim.js";

// The production node loop (RaftNode) inside the simulator: simulated time, network and disk,
// crashes that lose unsynced writes, torn writes, bit flips, failing disks, partitions and
// whole-cluster power failures, one seed each.

t.test(
  "seeds of 3- and 5-member clusters: nothing acknowledged is lost, nothing corrupt is served",
  async (t) => {
    const totals = { runs: 0, acked: 0, reads: 0, crashes: 0, corruptionsDetected: 0, writeFailures: 0 };
    const failures: string[] = [];
    const cases = [
      ...Array.from({ length: 30 }, (_, i) => ({ seed: 1000 + i, nodes: 3 as const })),
      ...Array.from({ length: 10 }, (_, i) => ({ seed: 2000 + i, nodes: 5 as const })),
    ];
    for (const c of cases) {
      const r = await runNodeSimulation({ ...c, diskDamage: true });
      totals.runs++;
      totals.acked += r.acked;
      totals.reads += r.reads;
      totals.crashes += r.crashes;
      totals.corruptionsDetected += r.corruptionsDetected;
      totals.writeFailures += r.writeFailures;
      if (!r.ok)
        failures.push(
          `seed ${c.seed} (${c.nodes} nodes): ${r.violations.join("; ")}\n${r.trace.slice(-20).join("\n")}`,
        );
    }
    t.same(failures, [], "no violation in any seed");
    t.ok(totals.acked > 5000, `${totals.acked} acknowledged writes checked`);
    t.ok(totals.reads > 2000, `${totals.reads} linearizable reads checked`);
    t.ok(totals.crashes > 100, `${totals.crashes} crashes`);
    t.ok(totals.corruptionsDetected > 5, `${totals.corruptionsDetected} damaged disks refused at start-up`);
    t.ok(totals.writeFailures > 5, `${totals.writeFailures} failing disks`);
  },
);

t.test("the same seed replays the same run", async (t) => {
  const a = await runNodeSimulation({ seed: 77, diskDamage: true, trace: true });
  const b = await runNodeSimulation({ seed: 77, diskDamage: true, trace: true });
  t.ok(a.trace.length > 10, "a trace was recorded");
  t.equal(a.trace.join("\n"), b.trace.join("\n"), "identical traces");
  t.same([a.acked, a.reads, a.crashes], [b.acked, b.reads, b.crashes], "identical counts");
});

t.test("the checkers catch a member that acknowledges before fsync", async (t) => {
  let caught = 0;
  const kinds = new Set<string>();
  for (let seed = 1; seed <= 8; seed++) {
    const r = await runNodeSimulation({ seed, unsafeNoFsync: true });
    if (!r.ok) caught++;
    for (const v of r.violations) kinds.add(v.replace(/ on n\d.*| at t=.*|:.*$/, ""));
  }
  t.ok(caught >= 4, `${caught} of 8 seeds caught the broken build`);
  t.ok(
    kinds.has("lost acknowledged write") || kinds.has("stale read"),
    `data loss seen as: ${[...kinds].join(", ")}`,
  );
});
