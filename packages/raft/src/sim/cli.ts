/**
 * `pnpm sim`: run the Raft simulator from the command line.
 *
 *   pnpm sim --seed 42 [--nodes 3|5] [--trace]     one seed: a summary (and the whole trace)
 *   pnpm sim --seeds 1..200 [--time-budget 60]      a range; stops starting seeds after the budget
 *
 * A violation prints the seed, the broken invariant, the command that replays it and the last
 * trace lines, and exits 1.
 */
import { realpathSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import type { BrokenMode, SimLoop, SimOptions } from "./options.js";
import { runSeeds } from "./seeds.js";
import { runSimulation, type SimResult } from "./simulation.js";

export interface CliIO {
  out(s: string): void;
  err(s: string): void;
}

const processIO: CliIO = {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
};

export const usage = `Usage: pnpm sim --seed N [--nodes 3|5] [--learners N] [--loop store|etcd] [--trace]
       pnpm sim --seeds A..B [--nodes 3|5] [--time-budget SECONDS] [--verbose]

Runs the deterministic Raft simulator (docs/raft-sim.md). The same seed replays the same run.

  --seed N             run one seed and print a summary
  --seeds A..B         run seeds A to B (inclusive)
  --nodes N            initial voters (default 3)
  --learners N         initial learners besides the voters (default 0; --nodes 1 --learners 2: one voter plus learners)
  --loop L             store: the store's node loop policy (default); etcd: etcd's node goroutine (steps during writes)
  --trace              print the whole trace of a single seed
  --time-budget S      stop starting new seeds after S seconds (CI); the summary says how many ran
  --duration MS        simulated milliseconds of faults before the heal (default 8000)
  --broken MODE        sendBeforePersist | forgetSyncedWrites: a deliberately broken node (checker self-test)
  --no-membership      random schedules make no membership changes
  --verbose            one line per seed
`;

interface Args {
  seeds?: [number, number];
  single: boolean;
  nodes: number;
  learners: number;
  loop: SimLoop;
  trace: boolean;
  budgetS?: number;
  durationMs?: number;
  broken?: BrokenMode;
  membership: boolean;
  verbose: boolean;
}

function parseArgs(argv: readonly string[]): Args | string {
  const a: Args = {
    single: false,
    nodes: 3,
    learners: 0,
    loop: "store",
    trace: false,
    verbose: false,
    membership: true,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    const int = (v: string) => {
      if (!/^-?\d+$/.test(v)) throw new Error(`${flag}: not an integer: ${v}`);
      return Number(v);
    };
    try {
      switch (flag) {
        case "--seed": {
          const s = int(value());
          a.seeds = [s, s];
          a.single = true;
          break;
        }
        case "--seeds": {
          const m = /^(\d+)\.\.(\d+)$/.exec(value());
          if (m === null) return "--seeds wants A..B, e.g. --seeds 1..200";
          a.seeds = [Number(m[1]), Number(m[2])];
          break;
        }
        case "--nodes":
          a.nodes = int(value());
          break;
        case "--learners":
          a.learners = int(value());
          break;
        case "--loop": {
          const l = value();
          if (l !== "store" && l !== "etcd") return `unknown --loop "${l}" (store or etcd)`;
          a.loop = l;
          break;
        }
        case "--trace":
          a.trace = true;
          break;
        case "--time-budget":
          a.budgetS = Number(value());
          if (!(a.budgetS > 0)) return "--time-budget wants a positive number of seconds";
          break;
        case "--duration":
          a.durationMs = int(value());
          break;
        case "--broken": {
          const b = value();
          if (b !== "sendBeforePersist" && b !== "forgetSyncedWrites" && b !== "none")
            return `unknown --broken mode "${b}"`;
          a.broken = b;
          break;
        }
        case "--verbose":
          a.verbose = true;
          break;
        case "--no-membership":
          a.membership = false;
          break;
        case "-h":
        case "--help":
          return "";
        default:
          return `unknown flag "${flag}"`;
      }
    } catch (e) {
      return (e as Error).message;
    }
  }
  if (a.seeds === undefined) return "give --seed N or --seeds A..B";
  return a;
}

const pct = (a: number, b: number) => (b === 0 ? "0%" : `${((100 * a) / b).toFixed(1)}%`);

export function summary(r: SimResult): string {
  const { livenessBoundTicks: boundTicks, tickMs } = r.limits;
  const s = r.stats;
  const m = s.messages;
  const cf = r.config;
  const head = `seed ${r.seed} (${r.nodes} nodes, loop=${cf.loop} preVote=${cf.preVote} checkQuorum=${cf.checkQuorum} earlySend=${cf.earlySend} snapshotCount=${cf.snapshotCount}): ${r.ok ? "OK" : "VIOLATION"}`;
  const lines = [
    head,
    `  simulated ${(s.simMs / 1000).toFixed(2)}s, ${s.events} events; ${m.sent} messages sent, ${m.dropped} lost (${pct(m.dropped, m.sent)}), ${m.duplicated} duplicated`,
    `  elections: ${s.leaders} leaders, max term ${s.maxTerm}; committed index ${s.committed}; ${s.writes} disk writes, ${s.snapshotsCreated} snapshots made, ${s.snapshotsInstalled} installed`,
    `  faults (${r.schedule.length} scheduled): ${s.crashes} crashes, ${s.partitions} partitions, ${s.pauses} pauses, ${s.slowDisks} slow disks, ${s.slowNodes} slow nodes, ${s.lossyWindows} lossy windows, ${s.transfers} transfers`,
    `  membership: ${s.confChangesProposed} conf change proposals, ${s.removed} removed, ${s.learnersAdded} learners added`,
    `  clients: ${s.proposals} proposals accepted (${s.proposalsDropped} refused), ${s.acked} acknowledged; ${s.reads} reads, ${s.readsServed} served, ${s.readsFailed} refused`,
  ];
  if (s.livenessMs !== undefined) {
    lines.push(
      `  liveness: a leader applied a new proposal ${s.livenessMs}ms (${Math.ceil(s.livenessMs / tickMs)} ticks) after the heal, every member ${s.catchUpMs}ms; bound ${boundTicks} ticks`,
    );
  }
  if (r.traceHash !== "") lines.push(`  trace: ${r.trace.length} lines, hash ${r.traceHash}`);
  return `${lines.join("\n")}\n`;
}

export function violationReport(r: SimResult, argsForReplay: string): string {
  const v = r.violation;
  if (v === undefined) return "";
  const tail = r.trace.slice(-50);
  return [
    `VIOLATION seed=${r.seed} nodes=${r.nodes} invariant=${v.invariant} at t=${v.atMs}ms`,
    `  ${v.detail}`,
    `  replay: pnpm sim --seed ${r.seed}${argsForReplay} --trace${r.replayMatched === false ? "   (WARNING: the replay broke differently: non-determinism?)" : ""}`,
    `  last ${tail.length} trace lines:`,
    ...tail.map((l) => `    ${l}`),
    "",
  ].join("\n");
}

export function main(
  argv: readonly string[],
  io: CliIO = processIO,
  clock: () => number = () => performance.now(),
): number {
  const parsed = parseArgs(argv);
  if (typeof parsed === "string") {
    if (parsed === "") {
      io.out(usage);
      return 0;
    }
    io.err(`sim: ${parsed}\n${usage}`);
    return 2;
  }
  const a = parsed;
  const base: Omit<SimOptions, "seed"> = {
    nodes: a.nodes,
    ...(a.learners === 0 ? {} : { learners: a.learners }),
    raft: { loop: a.loop },
    ...(a.durationMs === undefined ? {} : { durationMs: a.durationMs }),
    ...(a.broken === undefined ? {} : { broken: a.broken }),
    ...(a.membership ? {} : { membership: false }),
  };
  const replayArgs = `${a.nodes === 3 ? "" : ` --nodes ${a.nodes}`}${a.learners === 0 ? "" : ` --learners ${a.learners}`}${a.loop === "store" ? "" : ` --loop ${a.loop}`}${a.durationMs === undefined ? "" : ` --duration ${a.durationMs}`}${a.broken === undefined ? "" : ` --broken ${a.broken}`}${a.membership ? "" : " --no-membership"}`;
  const [from, to] = a.seeds as [number, number];
  if (a.single) {
    const r = runSimulation({ ...base, seed: from, trace: a.trace ? "full" : "tail" });
    if (a.trace) io.out(`${r.trace.join("\n")}\n`);
    io.out(summary(r));
    if (!r.ok) io.out(violationReport(r, replayArgs));
    return r.ok ? 0 : 1;
  }
  let slowest: SimResult | undefined;
  const report = runSeeds({
    from,
    to,
    base,
    clock,
    ...(a.budgetS === undefined ? {} : { budgetMs: a.budgetS * 1000 }),
    onResult: (r) => {
      if (r.stats.livenessMs !== undefined && r.stats.livenessMs > (slowest?.stats.livenessMs ?? -1))
        slowest = r;
      if (a.verbose)
        io.out(
          `seed ${r.seed}: ${r.ok ? "ok" : `VIOLATION ${r.violation?.invariant}`} (${r.stats.events} events, max term ${r.stats.maxTerm}, committed ${r.stats.committed})\n`,
        );
      if (!r.ok) io.out(violationReport(r, replayArgs));
    },
  });
  const perSeed = report.ran === 0 ? 0 : report.elapsedMs / report.ran;
  io.out(
    `${report.ran} seeds (${from}..${from + report.ran - 1}, ${a.nodes} nodes): ${report.passed} passed, ${report.failures.length} failed in ${(report.elapsedMs / 1000).toFixed(1)}s (${perSeed.toFixed(0)} ms/seed)${report.skipped > 0 ? `; ${report.skipped} not run (time budget)` : ""}\n`,
  );
  if (slowest !== undefined) {
    const s = slowest;
    io.out(
      `slowest recovery after the heal: ${s.stats.livenessMs}ms (seed ${s.seed}, preVote=${s.config.preVote}; bound ${s.limits.livenessBoundTicks} ticks)\n`,
    );
  }
  if (report.failures.length > 0) io.out(`failing seeds: ${report.failures.map((r) => r.seed).join(" ")}\n`);
  return report.failures.length === 0 ? 0 : 1;
}

function isMain(): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  // `pnpm sim --seeds 1..5000 | head` closes the pipe early: stop quietly.
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw e;
  });
  process.exitCode = main(process.argv.slice(2));
}
