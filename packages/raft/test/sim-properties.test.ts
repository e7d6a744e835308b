/**
 * Property-based fault schedules: fast-check generates a list of timed fault events, the simulator
 * runs it, and every invariant must hold; on a failure fast-check shrinks the schedule to a
 * minimal one. Then the checkers' self-test: deliberately broken nodes MUST be caught, or the
 * checkers may be asserting nothing.
 */
import fc from "fast-check";
import t from "tap";
import {
  type FaultEvent,
  fmtFault,
  partitionShapes,
  runSimulation,
  type SimOptions,
  type SimResult,
} from "../src/sim/index.js";

/** fast-check's own seed: fixed so that a run of the suite is reproducible; override to explore. */
const fcSeed = Number(process.env.SIM_FC_SEED ?? 20_241_128);
const durationMs = 2500;

const at = fc.integer({ min: 0, max: durationMs - 1 });
const pick = fc.integer({ min: -1, max: 8 }); // -1: the leader
const ms = (min: number, max: number) => fc.integer({ min, max });

const faultArb: fc.Arbitrary<FaultEvent> = fc.oneof(
  fc.record({ kind: fc.constant("crash" as const), at, node: pick, downMs: ms(10, 800) }),
  fc.record({
    kind: fc.constant("partition" as const),
    at,
    shape: fc.constantFrom(...partitionShapes),
    pick: ms(0, 8),
    durationMs: ms(50, 1500),
  }),
  fc.record({ kind: fc.constant("pause" as const), at, node: pick, durationMs: ms(10, 500) }),
  fc.record({
    kind: fc.constant("slowDisk" as const),
    at,
    node: pick,
    durationMs: ms(50, 1000),
    latencyMs: ms(5, 150),
  }),
  fc.record({
    kind: fc.constant("slowNode" as const),
    at,
    node: pick,
    durationMs: ms(50, 1000),
    factor: ms(2, 6),
  }),
  fc.record({
    kind: fc.constant("lossy" as const),
    at,
    durationMs: ms(50, 1000),
    dropRate: fc.constantFrom(0.1, 0.3, 0.6),
    dupRate: fc.constantFrom(0, 0.1, 0.3),
  }),
  fc.record({ kind: fc.constant("transferLeader" as const), at, to: ms(0, 8) }),
  fc.record({ kind: fc.constant("removeVoter" as const), at, node: pick }),
  fc.record({ kind: fc.constant("addLearner" as const), at }),
  fc.record({ kind: fc.constant("promoteLearner" as const), at }),
  fc.record({ kind: fc.constant("burst" as const), at, node: pick, count: ms(2, 30) }),
);

/** A schedule: up to 30 faults, in time order. */
const scheduleArb = fc.array(faultArb, { maxLength: 30 }).map((s) => [...s].sort((a, b) => a.at - b.at));

/** Seeds do not shrink: shrinking the schedule under a fixed seed is what makes it minimal. */
const seedArb = fc.noShrink(fc.integer({ min: 1, max: 0x7fff_ffff }));

for (const [nodes, numRuns] of [
  [3, 150],
  [5, 60],
] as const) {
  t.test(
    `fast-check fault schedules keep every invariant (${nodes} nodes, ${numRuns} schedules)`,
    async (t) => {
      // The last failing run is the shrunk counterexample: fast-check only moves to smaller failing inputs.
      let last: { r: SimResult; schedule: readonly FaultEvent[] } | undefined;
      const details = fc.check(
        fc.property(seedArb, scheduleArb, (seed, schedule) => {
          const r = runSimulation({ seed, nodes, durationMs, faults: schedule });
          if (!r.ok) last = { r, schedule };
          return r.ok;
        }),
        { numRuns, seed: fcSeed },
      );
      if (!details.failed) {
        t.pass(`${details.numRuns} schedules passed`);
        return;
      }
      const v = last?.r.violation;
      t.fail(`seed ${last?.r.seed} (${nodes} nodes): ${v?.invariant} at t=${v?.atMs}ms: ${v?.detail}`, {
        fastCheck: `seed ${details.seed}, path ${details.counterexamplePath}, ${details.numShrinks} shrinks (SIM_FC_SEED=${details.seed} replays it)`,
        schedule: last?.schedule.map(fmtFault),
        trace: last?.r.trace.slice(-30),
      });
    },
  );
}

t.test("checker self-test: a node that sends before persisting is caught", async (t) => {
  // Acknowledging an append before it is durable lets the leader commit an entry that is on no
  // quorum's disk: commit durability catches that the moment the entry is first applied. Whether
  // it happens in a run is a race between disks and network (a 2-voter cluster after a removal
  // can win it every time), so slower disks widen the window and most seeds must catch it.
  let caught = 0;
  for (let seed = 1; seed <= 10; seed++) {
    const r = runSimulation({
      seed,
      broken: "sendBeforePersist",
      disk: { minLatencyMs: 2, maxLatencyMs: 30, tornWrites: true },
    });
    if (r.ok) continue;
    caught++;
    t.equal(r.violation?.invariant, "commit-durability", `seed ${seed}: ${r.violation?.detail}`);
    t.equal(r.replayMatched, true, "the replay with a trace broke the same way (determinism)");
  }
  t.ok(caught >= 9, `${caught}/10 seeds caught`);
});

t.test("checker self-test: with the durability check off, the damage itself is caught", async (t) => {
  // The same broken node, with crashes during slow writes: votes and acknowledged entries are
  // forgotten, and the downstream invariants (election safety, leader completeness, committed
  // entries, state machine safety) must see the consequences.
  const stress: Omit<SimOptions, "seed"> = {
    broken: "sendBeforePersist",
    checks: { durability: false },
    membership: false,
    disk: { minLatencyMs: 2, maxLatencyMs: 30, tornWrites: false },
    faultEveryMs: 120,
  };
  const downstream = [
    "election-safety",
    "leader-completeness",
    "committed-entry-stable",
    "state-machine-safety",
    "linearizable-read",
    "acknowledged-write-lost",
  ];
  const caught: string[] = [];
  for (let seed = 1; seed <= 80 && caught.length < 2; seed++) {
    const r = runSimulation({ seed, ...stress });
    if (r.violation !== undefined && downstream.includes(r.violation.invariant))
      caught.push(`seed ${seed}: ${r.violation.invariant}: ${r.violation.detail}`);
  }
  t.ok(caught.length > 0, "a downstream invariant caught the broken node");
  t.comment(caught.join("\n"));
});

t.test("checker self-test: fast-check shrinks a disk that forgets synced writes to one crash", async (t) => {
  // A disk that acknowledges a write it then loses on a crash: every crash is a chance to lose a
  // durable vote, term or commit. fast-check must find a failing schedule and shrink it to the
  // one fault that matters.
  const details = fc.check(
    fc.property(seedArb, scheduleArb, (seed, schedule) => {
      const r = runSimulation({
        seed,
        durationMs,
        faults: schedule,
        broken: "forgetSyncedWrites",
        membership: false,
      });
      return r.ok;
    }),
    { numRuns: 50, seed: fcSeed },
  );
  t.ok(details.failed, "a failing schedule was found");
  const minimal = details.counterexample?.[1] ?? [];
  t.comment(`minimal schedule after ${details.numShrinks} shrinks:\n${minimal.map(fmtFault).join("\n")}`);
  t.equal(minimal.length, 1, "shrunk to a single fault");
  t.equal(minimal[0]?.kind, "crash", "and that fault is a crash");
});

t.test("checker self-test: a lost synced write is caught on most seeds", async (t) => {
  let caught = 0;
  for (let seed = 1; seed <= 20; seed++) {
    const r = runSimulation({ seed, broken: "forgetSyncedWrites" });
    if (!r.ok) caught++;
  }
  t.ok(caught >= 15, `${caught}/20 seeds caught`);
});
