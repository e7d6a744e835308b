import t from "tap";
import { runRaftBench } from "../src/raft.js";

// Not a timed assertion: checks that the benchmark runs and measures what it says.
t.test("raft bench commits entries on all three members and reports per-entry cost", async (t) => {
  const r = runRaftBench({ seconds: 0.2, batch: 64, entryBytes: 16 });
  t.ok(r.entries >= 64, `committed ${r.entries} entries`);
  t.equal(r.entries % 64, 0, "whole batches: entries are committed together");
  t.ok(r.entriesPerSecond > 0 && Number.isFinite(r.entriesPerSecond));
  t.ok(r.cpuMicrosPerEntry > 0);
});
