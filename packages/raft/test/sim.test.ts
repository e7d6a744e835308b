/**
 * The deterministic simulator: its building blocks, determinism, seed ranges over 3 and 5 nodes,
 * and the CLI. The fast-check properties and the broken-mode self-tests are in
 * sim-properties.test.ts.
 */
import { createHash } from "node:crypto";
import { performance } from "node:perf_hooks";
import t from "tap";
import { MemoryStorage, StateType, type Status } from "../src/index.js";
import { main } from "../src/sim/cli.js";
import {
  InvariantViolation,
  type ObservedState,
  partitionLinks,
  runSeeds,
  runSimulation,
  SafetyChecker,
  Scheduler,
  type SimOptions,
  type SimResult,
} from "../src/sim/index.js";

const sha256 = (lines: readonly string[]) => createHash("sha256").update(lines.join("\n")).digest("hex");

/** Fails with what the CLI would print for a failing seed: enough to replay it and start reading. */
function failSeed(t: { fail(message: string, extra: object): unknown }, r: SimResult): void {
  const v = r.violation;
  if (v === undefined) return;
  t.fail(`seed ${r.seed} (${r.nodes} nodes): ${v.invariant} at t=${v.atMs}ms: ${v.detail}`, {
    replay: `pnpm sim --seed ${r.seed} --nodes ${r.nodes} --trace`,
    trace: r.trace.slice(-30),
  });
}

t.test("the scheduler runs events in (time, sequence) order and never goes back in time", async (t) => {
  const s = new Scheduler();
  const seen: string[] = [];
  s.at(5, () => seen.push("a@5"));
  s.at(1, () => seen.push("b@1"));
  s.at(5, () => seen.push("c@5"));
  s.at(3, () => {
    seen.push("d@3");
    s.after(2, () => seen.push("e@5 (scheduled at 3)"));
    s.after(0, () => seen.push("f@3"));
  });
  s.runUntil(10);
  t.same(seen, ["b@1", "d@3", "f@3", "a@5", "c@5", "e@5 (scheduled at 3)"]);
  t.equal(s.now, 10);
  t.throws(() => s.at(9, () => {}), /cannot schedule/);
});

t.test("partition shapes cut the links they say", async (t) => {
  const members = [1, 2, 3, 4, 5];
  const set = (links: [number, number][]) => links.map(([a, b]) => `${a}->${b}`).sort();
  t.same(
    set(partitionLinks("isolateLeader", 0, members, 3)),
    set(
      [1, 2, 4, 5].flatMap((o): [number, number][] => [
        [3, o],
        [o, 3],
      ]),
    ),
  );
  t.same(set(partitionLinks("oneWayFromLeader", 0, members, 2)), ["2->1", "2->3", "2->4", "2->5"]);
  t.same(set(partitionLinks("oneWayToLeader", 0, members, 2)), ["1->2", "3->2", "4->2", "5->2"]);
  t.same(partitionLinks("oneWayPair", 1, members, undefined), [[2, 3]]);
  // Majority/minority: 2 nodes cut from 3, both ways.
  const mm = partitionLinks("majorityMinority", 0, members, undefined);
  t.equal(mm.length, 2 * 2 * 3);
  // Bridge: node 1 talks to everyone; {2,3} and {4,5} cannot talk.
  t.same(
    set(partitionLinks("bridge", 0, members, undefined)),
    set([
      [2, 4],
      [4, 2],
      [2, 5],
      [5, 2],
      [3, 4],
      [4, 3],
      [3, 5],
      [5, 3],
    ]),
  );
});

t.test("the checkers reject the states they exist to reject", async (t) => {
  const voters = { voters: [1, 2, 3], learners: [] };
  const status = (id: number, term: number, raftState: StateType, commit = 0) =>
    ({
      id,
      term,
      vote: 0,
      commit,
      lead: 0,
      raftState,
      applied: 0,
      leadTransferee: 0,
      config: voters,
      progress: new Map(),
      termAt: () => undefined,
    }) as Status & ObservedState;
  const broken = (name: string, fn: () => void) => {
    try {
      fn();
      t.fail(`${name}: not caught`);
    } catch (e) {
      t.ok(e instanceof InvariantViolation && e.invariant === name, `${name}: ${(e as Error).message}`);
    }
  };

  const c = new SafetyChecker(voters, true);
  c.observe(1, status(1, 3, StateType.Leader));
  c.observe(1, status(1, 3, StateType.Leader)); // the same leader again is fine
  broken("election-safety", () => c.observe(2, status(2, 3, StateType.Leader)));
  c.observe(3, status(3, 4, StateType.Follower, 7));
  broken("commit-monotonic", () => c.observe(3, status(3, 4, StateType.Follower, 6)));
  // A leader's commit counts once it is in its memory, before any disk holds it.
  const leaderAt = (term: number, commit: number) => ({
    term,
    raftState: StateType.Leader,
    commit,
    termAt: () => term,
  });
  const c2 = new SafetyChecker(voters, true);
  c2.observe(1, leaderAt(2, 3));
  broken("committed-entry-stable", () => c2.observe(2, leaderAt(3, 3)));

  // Membership: a settled node must have the committed configuration of its applied index.
  c.confApplied(5, { voters: [1, 2, 3], learners: [4] });
  c.confApplied(9, { voters: [1, 2, 3, 4], learners: [] });
  c.configSettled(4, 7, { voters: [1, 2, 3], learners: [4] });
  broken("config-agreement", () => c.configSettled(4, 9, { voters: [1, 2, 3], learners: [4] }));
  broken("config-agreement", () => c.configSettled(4, 5, { voters: [], learners: [4] }));

  // A restart must find the hard state that was last written.
  const disk = new MemoryStorage();
  c.addNode({ id: 1, storage: disk });
  disk.append([{ term: 1, index: 1, type: 0, data: new Uint8Array(0) }]);
  disk.setHardState({ term: 2, vote: 1, commit: 1 });
  c.persisted({ id: 1, storage: disk }, { entries: disk.entries(1, 2, 100), hardState: disk.hardState });
  disk.setHardState({ term: 2, vote: 3, commit: 1 });
  broken("hardstate-monotonic", () => c.restarted({ id: 1, storage: disk }));
});

t.test("a seed replays byte for byte", async (t) => {
  for (const nodes of [3, 5]) {
    const a = runSimulation({ seed: 7, nodes, trace: "full" });
    const b = runSimulation({ seed: 7, nodes, trace: "full" });
    t.ok(a.trace.length > 1000, `a real trace (${a.trace.length} lines)`);
    t.equal(sha256(a.trace), sha256(b.trace), `${nodes} nodes: same trace hash`);
    t.equal(a.traceHash, b.traceHash);
    t.same(a.stats, b.stats);
    // Tracing observes the run without changing it: same run with the trace off.
    const quiet = runSimulation({ seed: 7, nodes });
    t.same(quiet.stats, a.stats, "the trace does not change the run");
    const other = runSimulation({ seed: 8, nodes, trace: "full" });
    t.not(sha256(other.trace), sha256(a.trace), "another seed is another run");
  }
});

t.test("the trace has a line per event, in the documented format", async (t) => {
  const r = runSimulation({ seed: 3, trace: "full" });
  t.match(r.trace[0], /^t=0 SIM seed=3 nodes=3 /);
  const kinds = [
    / send Msg\w+ term=\d+/,
    / recv Msg\w+ /,
    / write /,
    / persisted /,
    / apply /,
    / is Leader term=\d+/,
    / FAULT @\d+ /,
    / ack v\d+ at \d+/,
    / read r\d+ served/,
    / HEAL: /,
    / LIVENESS ok/,
  ];
  for (const k of kinds)
    t.ok(
      r.trace.some((l) => k.test(l)),
      `has a line like ${k}`,
    );
  t.ok(
    r.trace.every((l) => /^t=\d+ /.test(l)),
    "every line starts with the simulated time",
  );
});

// Thousands of seeds, time-boxed so that the suite stays bounded on a loaded 2-core machine.
const budgetScale = Number(process.env.SIM_TEST_BUDGET_MS ?? 25_000) / 25_000;

// The store's node loop (the default) over 3 and 5 voters and over one voter plus two learners
// (what a single member becomes when others join as learners), and etcd's loop over 3 voters.
for (const { nodes, learners, loop, count, budget } of [
  { nodes: 3, learners: 0, loop: "store", count: 2000, budget: 18_000 },
  { nodes: 5, learners: 0, loop: "store", count: 600, budget: 10_000 },
  { nodes: 1, learners: 2, loop: "store", count: 400, budget: 3_000 },
  { nodes: 3, learners: 0, loop: "etcd", count: 400, budget: 3_000 },
] as const) {
  const budgetMs = budget * budgetScale;
  const base: Omit<SimOptions, "seed"> = { nodes, learners, raft: { loop } };
  t.test(
    `seeds 1..${count} with ${nodes} voters${learners > 0 ? ` and ${learners} learners` : ""} (${loop} loop) keep every invariant and recover after the heal`,
    async (t) => {
      // The first 20 seeds run whatever the machine's speed; the budget only decides how many more.
      const must = Math.min(count, 20);
      const clock = () => performance.now();
      const first = runSeeds({ from: 1, to: must, base, clock });
      const rest = runSeeds({
        from: must + 1,
        to: count,
        base,
        budgetMs: Math.max(0, budgetMs - first.elapsedMs),
        clock,
      });
      const report = {
        ran: first.ran + rest.ran,
        failures: [...first.failures, ...rest.failures],
        skipped: rest.skipped,
        elapsedMs: first.elapsedMs + rest.elapsedMs,
      };
      t.comment(
        `${report.ran} seeds in ${(report.elapsedMs / 1000).toFixed(1)}s (${(report.elapsedMs / Math.max(1, report.ran)).toFixed(0)} ms/seed)${report.skipped > 0 ? `; ${report.skipped} skipped by the time budget` : ""}`,
      );
      t.ok(report.ran >= Math.min(count, 20), "the time budget still ran a meaningful number of seeds");
      for (const r of report.failures) failSeed(t, r);
      t.equal(report.failures.length, 0, "no violations");
    },
  );
}

/**
 * Bugs the simulator found in the core, pinned as schedules that failed before the fix (each was
 * checked against the core as it was before its fix). See docs/raft-sim.md, "Bugs it found".
 */
const regressions: { name: string; options: SimOptions }[] = [
  {
    name: "a member added later learns the bootstrap membership (config-agreement)",
    options: {
      seed: 23,
      nodes: 3,
      durationMs: 2500,
      raft: { loop: "etcd", earlySend: false },
      faults: [{ kind: "addLearner", at: 0 }],
    },
  },
  {
    name: "a follower whose acknowledgements were all lost catches up after the heal (liveness)",
    options: {
      seed: 11,
      nodes: 3,
      durationMs: 3000,
      raft: { loop: "etcd", checkQuorum: false, preVote: true, earlySend: false },
      faults: [
        { kind: "partition", at: 500, shape: "oneWayToLeader", pick: 0, durationMs: 1500 },
        { kind: "burst", at: 600, node: -1, count: 40 },
        { kind: "burst", at: 900, node: -1, count: 40 },
      ],
    },
  },
  {
    name: "a snapshot restored while older conf changes are applied keeps the membership (config-agreement)",
    options: {
      seed: 821864457,
      durationMs: 3000,
      raft: { loop: "etcd", snapshotCount: 10, keepEntries: 2, earlySend: false },
      faults: [
        { kind: "burst", at: 118, node: 0, count: 40 },
        { kind: "addLearner", at: 318 },
        { kind: "slowDisk", at: 327, node: 3, durationMs: 600, latencyMs: 47 },
        { kind: "promoteLearner", at: 399 },
        { kind: "burst", at: 418, node: 1, count: 40 },
      ],
    },
  },
];

for (const { name, options } of regressions) {
  t.test(`regression: ${name}`, async (t) => {
    const r = runSimulation(options);
    failSeed(t, r);
    t.ok(r.ok, "every invariant holds");
  });
}

t.test("a run exercises the fault model", async (t) => {
  // Over a few seeds every kind of fault and client action happens (a checker that is never
  // exercised asserts nothing).
  const total: Record<string, number> = {};
  for (let seed = 1; seed <= 12; seed++) {
    const r = runSimulation({ seed, nodes: 5 });
    for (const [k, v] of Object.entries(r.stats)) if (typeof v === "number") total[k] = (total[k] ?? 0) + v;
  }
  for (const k of [
    "crashes",
    "restarts",
    "partitions",
    "pauses",
    "slowDisks",
    "slowNodes",
    "lossyWindows",
    "transfers",
    "removed",
    "learnersAdded",
    "snapshotsInstalled",
    "acked",
    "readsServed",
  ]) {
    t.ok((total[k] ?? 0) > 0, `${k}: ${total[k]}`);
  }
});

function capture() {
  const io = {
    stdout: "",
    stderr: "",
    out: (s: string) => (io.stdout += s),
    err: (s: string) => (io.stderr += s),
  };
  return io;
}

t.test("cli: one seed prints a summary; --trace prints the trace", async (t) => {
  const io = capture();
  t.equal(main(["--seed", "4"], io), 0);
  t.match(
    io.stdout,
    /^seed 4 \(3 nodes, loop=store preVote=\w+ checkQuorum=\w+ earlySend=\w+ snapshotCount=\d+\): OK/,
  );
  t.match(
    io.stdout,
    /liveness: a leader applied a new proposal \d+ms \(\d+ ticks\) after the heal, every member \d+ms; bound (100|300) ticks/,
  );
  const traced = capture();
  t.equal(main(["--seed", "4", "--trace", "--nodes", "5"], traced), 0);
  t.match(traced.stdout, /^t=0 SIM seed=4 nodes=5/);
});

t.test("cli: a range prints one summary line; bad flags exit 2", async (t) => {
  const io = capture();
  t.equal(main(["--seeds", "1..3"], io), 0);
  t.match(io.stdout, /^3 seeds \(1\.\.3, 3 nodes\): 3 passed, 0 failed in /m);
  t.match(io.stdout, /^slowest recovery after the heal: \d+ms \(seed \d, preVote=\w+; bound \d+ ticks\)$/m);
  const bad = capture();
  t.equal(main(["--seeds", "3-1"], bad), 2);
  t.match(bad.stderr, /--seeds wants A\.\.B/);
  t.equal(main(["--frobnicate"], capture()), 2);
  t.equal(main(["--help"], capture()), 0);
});

t.test(
  "cli: a violation prints the seed, the invariant, the replay command and the trace tail, and exits 1",
  async (t) => {
    const io = capture();
    t.equal(main(["--seeds", "1..2", "--broken", "sendBeforePersist"], io), 1);
    t.match(io.stdout, /VIOLATION seed=1 nodes=3 invariant=commit-durability at t=\d+ms/);
    t.match(io.stdout, /replay: pnpm sim --seed 1 --broken sendBeforePersist --trace/);
    t.match(io.stdout, /last 50 trace lines:\n {4}t=\d+ /);
    t.match(io.stdout, /failing seeds: 1 2/);
  },
);
