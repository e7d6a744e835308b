/**
 * Everything a simulation run can be told, with the defaults a seed run uses. Only `seed` is
 * required; a field left out takes its default (or, for the Raft features, a value drawn from the
 * seed so that a seed range covers every combination).
 */
import type { SeededRand } from "../index.js";
import type { FaultEvent } from "./faults.js";
import type { TraceMode } from "./trace.js";

/**
 * Deliberately broken nodes, to prove the checkers can fail (otherwise they may assert nothing).
 * - sendBeforePersist: a node sends a Ready's messages (votes, acks) before its write completes.
 * - forgetSyncedWrites: a crash also loses the last write the disk had reported durable.
 */
export type BrokenMode = "none" | "sendBeforePersist" | "forgetSyncedWrites";

/** What a removed member does: see SimOptions.removed. */
export type RemovedPolicy = "shutdown" | "keepRunning";

/** How a simulated node drives its Ready loop: see RaftOptions.loop. */
export type SimLoop = "store" | "etcd";

export interface NetworkOptions {
  minDelayMs: number;
  maxDelayMs: number;
  /** Probability that a message is lost. */
  dropRate: number;
  /** Probability that a message is delivered twice (with independent delays). */
  dupRate: number;
  /** Probability that a message is held back up to reorderDelayMs, so later ones overtake it. */
  reorderRate: number;
  reorderDelayMs: number;
}

export interface DiskOptions {
  minLatencyMs: number;
  maxLatencyMs: number;
  /** A crash during a write may leave a prefix of its entries (never its hard state) on disk. */
  tornWrites: boolean;
}

export interface WorkloadOptions {
  /** Mean milliseconds between client proposals. */
  proposeEveryMs: number;
  /** Chance that a proposal is a burst of several. */
  burstChance: number;
  burstMax: number;
  /** Mean milliseconds between ReadIndex reads. */
  readEveryMs: number;
}

export interface RaftOptions {
  electionTick: number;
  heartbeatTick: number;
  preVote: boolean;
  checkQuorum: boolean;
  maxSizePerMsg: number;
  maxInflightMsgs: number;
  /** The application snapshots after this many applied entries... */
  snapshotCount: number;
  /** ...and keeps this many entries before the snapshot for slow followers. */
  keepEntries: number;
  /**
   * The node loop. "store" (the default) runs the store's node loop policy (packages/store
   * raftnode/node.ts, through the shared sendpolicy.ts): messages split by mayPrecedeWrite, no
   * step while a write is in flight (events wait and are stepped after advance()), and a Ready
   * whose only change is the commit index is not written. "etcd" is the loop of etcd's node
   * goroutine: it keeps stepping during a write, writes every hard state, and sends early only
   * with `earlySend`.
   */
  loop: SimLoop;
  /**
   * With the "etcd" loop: send the messages that promise nothing about this node's disk (appends, heartbeats, forwarded
   * proposals and reads, votes requests) before the write, as the store's RaftNode does (Raft
   * dissertation §10.2.1); vote and append responses still wait for it (see mustWaitForWrite).
   */
  earlySend: boolean;
}

export interface CheckOptions {
  /**
   * Commit durability: an entry must be on a quorum's disks when it is first applied. It catches
   * "acknowledge before persist" at once; turn it off to see the downstream checkers catch it too.
   */
  durability: boolean;
}

export interface SimOptions {
  seed: number;
  /** Initial voters (ids 1..nodes). Default 3. */
  nodes?: number;
  /**
   * Initial learners (ids nodes+1..nodes+learners). Default 0. One voter plus learners is what a
   * single member becomes when a second joins as a learner: the voter decides everything alone.
   */
  learners?: number;
  /** Simulated milliseconds of the fault phase; then every fault heals and liveness is checked. */
  durationMs?: number;
  /** Simulated milliseconds per Raft tick. */
  tickMs?: number;
  /** A fixed fault schedule (e.g. from fast-check), "random" (drawn from the seed) or "none". */
  faults?: readonly FaultEvent[] | "random" | "none";
  /** Mean milliseconds between random faults (with faults: "random"). */
  faultEveryMs?: number;
  /** Whether a random schedule may change the membership (remove, add learner, promote). Default true. */
  membership?: boolean;
  /**
   * What a removed member does once its removal is committed: "shutdown" (etcd: it stops, and
   * peers' transports reject its messages) or "keepRunning" (the store today: it keeps running and
   * sending, and peers step its messages). Drawn from the seed unless given.
   */
  removed?: RemovedPolicy;
  network?: Partial<NetworkOptions>;
  disk?: Partial<DiskOptions>;
  workload?: Partial<WorkloadOptions>;
  raft?: Partial<RaftOptions>;
  checks?: Partial<CheckOptions>;
  broken?: BrokenMode;
  trace?: TraceMode;
  /** Lines kept in "tail" mode. */
  tailLines?: number;
  /**
   * Ticks after the heal within which a leader must commit a new proposal. Default: 10 *
   * electionTick with PreVote, 30 * electionTick without (see livenessBound).
   */
  livenessBoundTicks?: number;
}

export interface ResolvedOptions {
  seed: number;
  nodes: number;
  learners: number;
  durationMs: number;
  tickMs: number;
  faults: readonly FaultEvent[] | "random" | "none";
  faultEveryMs: number;
  membership: boolean;
  removed: RemovedPolicy;
  network: NetworkOptions;
  disk: DiskOptions;
  workload: WorkloadOptions;
  raft: RaftOptions;
  checks: CheckOptions;
  broken: BrokenMode;
  trace: TraceMode;
  tailLines: number;
  livenessBoundTicks: number;
}

export const defaultNetwork: NetworkOptions = {
  minDelayMs: 1,
  maxDelayMs: 6,
  dropRate: 0.02,
  dupRate: 0.01,
  reorderRate: 0.03,
  reorderDelayMs: 40,
};

export const defaultDisk: DiskOptions = { minLatencyMs: 1, maxLatencyMs: 4, tornWrites: true };

export const defaultWorkload: WorkloadOptions = {
  proposeEveryMs: 25,
  burstChance: 0.05,
  burstMax: 20,
  readEveryMs: 40,
};

/** Fixed Raft settings; preVote, checkQuorum, snapshotCount and earlySend are drawn from the seed unless given. */
const defaultRaft = {
  electionTick: 10,
  heartbeatTick: 1,
  // Small messages and windows so that paging, flow control and snapshots all happen in a short run.
  maxSizePerMsg: 512,
  maxInflightMsgs: 16,
  keepEntries: 5,
};

/** Resolves defaults; `config` is the seed's fork for configuration choices. */
export function resolveOptions(o: SimOptions, config: SeededRand): ResolvedOptions {
  // Draw both always, so that the other streams do not depend on which ones were given.
  const preVote = config.intn(2) === 1;
  const checkQuorum = config.intn(2) === 1;
  // Snapshot often or rarely: followers catch up by snapshot or by log replay.
  const snapshotCount = [10, 25, 40, 100][config.intn(4)] as number;
  const earlySend = config.intn(2) === 1;
  const removed: RemovedPolicy = config.intn(2) === 1 ? "keepRunning" : "shutdown";
  const raft: RaftOptions = {
    ...defaultRaft,
    loop: "store",
    preVote,
    checkQuorum,
    snapshotCount,
    earlySend,
    ...o.raft,
  };
  const nodes = o.nodes ?? 3;
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > 9)
    throw new RangeError(`nodes must be 1..9, got ${nodes}`);
  const learners = o.learners ?? 0;
  if (!Number.isInteger(learners) || learners < 0 || nodes + learners > 9)
    throw new RangeError(`learners must be 0..${9 - nodes}, got ${learners}`);
  return {
    seed: o.seed,
    nodes,
    learners,
    durationMs: o.durationMs ?? 8000,
    tickMs: o.tickMs ?? 10,
    faults: o.faults ?? "random",
    faultEveryMs: o.faultEveryMs ?? 350,
    membership: o.membership ?? true,
    removed: o.removed ?? removed,
    network: { ...defaultNetwork, ...o.network },
    disk: { ...defaultDisk, ...o.disk },
    workload: { ...defaultWorkload, ...o.workload },
    raft,
    checks: { durability: true, ...o.checks },
    broken: o.broken ?? "none",
    trace: o.trace ?? "off",
    tailLines: o.tailLines ?? 60,
    livenessBoundTicks: o.livenessBoundTicks ?? livenessBound(raft),
  };
}

/**
 * The liveness bound, in ticks. With PreVote a partitioned or stale node cannot disrupt: an
 * election after the heal takes a timeout or two (the worst seen over thousands of seeds is about
 * 3.5 election timeouts), so 10 election timeouts is a wide margin. Without PreVote a voter with a
 * stale log can keep campaigning first: its higher-term MsgVote resets the up-to-date voters'
 * election timers (etcd does the same), and each round is won by an up-to-date voter only about
 * half of the time in a 2-voter cluster. The wait is then geometric (about 15 timeouts was seen),
 * so the bound is 30 election timeouts.
 */
export function livenessBound(raft: RaftOptions): number {
  return (raft.preVote ? 10 : 30) * raft.electionTick;
}
