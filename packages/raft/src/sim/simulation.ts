/**
 * One simulation run: a seed (and options) in, a verdict out. The run is a pure function of its
 * inputs: one root generator is forked, in a fixed order, into a stream per concern, and nothing
 * reads the wall clock or iterates unordered collections.
 *
 * Phases: bootstrap a fresh cluster; run the fault schedule and the client workload for
 * durationMs; heal every fault; then check liveness (a leader commits a new proposal within the
 * bound) and that no acknowledged write was lost. Safety invariants are checked throughout.
 */
import { SeededRand } from "../index.js";
import { type ClusterStats, SimCluster } from "./cluster.js";
import { type FaultEvent, fmtFault, randomSchedule } from "./faults.js";
import { injectFault } from "./injector.js";
import { checkLiveness } from "./liveness.js";
import { MembershipDriver } from "./membership.js";
import type { NetworkStats } from "./network.js";
import { resolveOptions, type SimLoop, type SimOptions } from "./options.js";
import { InvariantViolation } from "./violation.js";
import { startWorkload } from "./workload.js";

export interface SimStats extends ClusterStats {
  /** Simulated milliseconds the run took (fault phase plus the liveness phase). */
  simMs: number;
  events: number;
  messages: NetworkStats;
  /** Distinct leaders seen (one per term that had one). */
  leaders: number;
  maxTerm: number;
  /** Highest index known committed. */
  committed: number;
  readsServed: number;
  /** Simulated milliseconds from the heal until a leader applied the liveness probe... */
  livenessMs?: number;
  /** ...and until every running member had applied it. */
  catchUpMs?: number;
}

export interface SimViolation {
  invariant: string;
  detail: string;
  /** Simulated time of the event that broke it. */
  atMs: number;
}

export interface SimResult {
  ok: boolean;
  seed: number;
  nodes: number;
  violation?: SimViolation;
  /** The trace: every line ("full"), or the last lines ("tail", and always after a violation). */
  trace: string[];
  /** Fingerprint of every trace line (empty when the trace was off). */
  traceHash: string;
  schedule: FaultEvent[];
  config: {
    loop: SimLoop;
    preVote: boolean;
    checkQuorum: boolean;
    earlySend: boolean;
    snapshotCount: number;
  };
  /** The liveness bound this run was held to, in ticks, and the tick length. */
  limits: { livenessBoundTicks: number; tickMs: number };
  stats: SimStats;
  /** After a violation in a run without trace, the run was replayed with one: did it break the same way? */
  replayMatched?: boolean;
}

/** Runs one seed. A violation in a run without trace is replayed with a trace tail for the report. */
export function runSimulation(o: SimOptions): SimResult {
  const r = runOnce(o);
  if (r.ok || (o.trace ?? "off") !== "off") return r;
  const again = runOnce({ ...o, trace: "tail" });
  return {
    ...r,
    trace: again.trace,
    traceHash: again.traceHash,
    replayMatched: again.violation?.detail === r.violation?.detail,
  };
}

/**
 * A cluster for a scripted scenario (a test that needs one exact interleaving): the options and
 * random streams a seed run would use, nothing scheduled and nothing started. The caller calls
 * bootstrap(), schedules its own events and runs the scheduler; invariants throw
 * InvariantViolation from the event that breaks them.
 */
export function scriptedCluster(o: SimOptions): SimCluster {
  const root = new SeededRand(o.seed);
  const config = root.fork();
  root.fork(); // the schedule's stream, unused: keeps the other streams as a seed run has them
  const streams = {
    network: root.fork(),
    disk: root.fork(),
    nodes: root.fork(),
    process: root.fork(),
    client: root.fork(),
  };
  return new SimCluster(resolveOptions(o, config), streams);
}

function runOnce(o: SimOptions): SimResult {
  const root = new SeededRand(o.seed);
  // The fork order is part of the seed's meaning: append new streams at the end only.
  const config = root.fork();
  const scheduleRand = root.fork();
  const streams = {
    network: root.fork(),
    disk: root.fork(),
    nodes: root.fork(),
    process: root.fork(),
    client: root.fork(),
  };
  const opts = resolveOptions(o, config);
  const schedule =
    opts.faults === "random"
      ? randomSchedule(scheduleRand, opts.durationMs, opts.faultEveryMs, opts.membership)
      : opts.faults === "none"
        ? []
        : [...opts.faults];
  const c = new SimCluster(opts, streams);
  let violation: SimViolation | undefined;
  let livenessMs: number | undefined;
  let catchUpMs: number | undefined;
  try {
    if (c.trace.on) {
      c.trace.add(
        `SIM seed=${opts.seed} nodes=${opts.nodes} learners=${opts.learners} loop=${opts.raft.loop} removed=${opts.removed} preVote=${opts.raft.preVote} checkQuorum=${opts.raft.checkQuorum} earlySend=${opts.raft.earlySend} snapshotCount=${opts.raft.snapshotCount} broken=${opts.broken}`,
      );
      for (const e of schedule) c.trace.add(`SCHEDULE ${fmtFault(e)}`);
    }
    c.bootstrap();
    const membership = new MembershipDriver(c);
    for (const e of schedule)
      if (e.at < opts.durationMs) c.sched.at(Math.max(0, e.at), () => injectFault(c, membership, e));
    startWorkload(c, streams.client, opts.workload);
    c.sched.runUntil(opts.durationMs);
    c.healAll();
    const live = checkLiveness(c, opts.livenessBoundTicks);
    livenessMs = live.ms;
    catchUpMs = live.allMs;
    c.clients.finalCheck(live.leader.id, live.leader.sm);
  } catch (e) {
    violation =
      e instanceof InvariantViolation
        ? { invariant: e.invariant, detail: e.detail, atMs: c.sched.now }
        : {
            invariant: "exception",
            detail: e instanceof Error ? (e.stack ?? e.message) : String(e),
            atMs: c.sched.now,
          };
    c.trace.add(`VIOLATION ${violation.invariant}: ${violation.detail.split("\n")[0]}`);
  }
  let maxTerm = 0;
  for (const t of c.safety.leaderOfTerm.keys()) maxTerm = Math.max(maxTerm, t);
  const stats: SimStats = {
    ...c.stats,
    simMs: c.sched.now,
    events: c.sched.executed,
    messages: { ...c.net.stats },
    leaders: c.safety.elections,
    maxTerm,
    committed: c.safety.maxCommitted,
    readsServed: c.clients.readsServed,
    ...(livenessMs === undefined ? {} : { livenessMs }),
    ...(catchUpMs === undefined ? {} : { catchUpMs }),
  };
  return {
    ok: violation === undefined,
    seed: opts.seed,
    nodes: opts.nodes,
    ...(violation === undefined ? {} : { violation }),
    trace: c.trace.lines(),
    traceHash: c.trace.on ? c.trace.digest() : "",
    schedule,
    config: {
      preVote: opts.raft.preVote,
      checkQuorum: opts.raft.checkQuorum,
      loop: opts.raft.loop,
      earlySend: opts.raft.earlySend,
      snapshotCount: opts.raft.snapshotCount,
    },
    limits: { livenessBoundTicks: opts.livenessBoundTicks, tickMs: opts.tickMs },
    stats,
  };
}
