/**
 * The store benchmark's `large` phase (issue 22): etcd-sized datasets side by side with etcd 3.4.
 * For each size, one fresh member of each system: load the keys (128 clients, 1 KiB values) with
 * a probe reading every 50 ms, record peak and idle memory, then kill -9 and restart it twice
 * (right after the load, and after a tail of puts that no snapshot covers) and time each restart
 * until a linearizable read succeeds. Then a 3-member cluster of each, loaded with the smallest
 * size at a small --snapshot-count so that snapshots happen during the load, counting Raft
 * elections (the term before and after). Only the command line and the etcd v3 gRPC API are used,
 * so the phase measures any store that speaks them.
 */

import { setTimeout as sleep } from "node:timers/promises";
import { procMemory, sampleRss } from "./proc-status.js";
import type { EtcdChannel } from "./store-grpc.js";
import { loadKeys, startProbe } from "./store-large-load.js";
import type { LargeRow, RestartResult } from "./store-large-report.js";
import { closeChannels, openChannels, summarize } from "./store-load.js";
import {
  createStoreMembers,
  memberStatus,
  type StoreMember,
  waitLeader,
  waitServing,
} from "./store-members.js";
import { cpuSeconds, type StoreSystem, storeSystems } from "./store-procs.js";

export interface LargePlan {
  /** Dataset sizes, keys of 1 KiB (the issue's: 100,000 and 200,000). */
  keys: number[];
  clients: number;
  /** Connections to the one member the clients share. */
  connections: number;
  /** --snapshot-count of the one member during the load. */
  snapshotCount: number;
  /** --snapshot-count of the 3-member clusters, small so that they snapshot during the load. */
  clusterSnapshotCount: number;
  /** Keys the 3-member clusters load. */
  clusterKeys: number;
  /** Keys put after the first restart (a --snapshot-count above them keeps them in the log). */
  tailKeys: (keys: number) => number;
  /** Idle time after the load before the idle memory is read. */
  settleMs: number;
  systems: readonly StoreSystem[];
}

/**
 * The plan for `sizes`: the one member snapshots every `min(sizes)` entries (etcd's default
 * 100,000 with the sizes, so a snapshot falls at the end of each load), the clusters every
 * tenth of the smallest size, and the tail is half the size (the "~99k entries to replay"
 * at 200,000 keys).
 */
export function largePlan(sizes: readonly number[], overrides: Partial<LargePlan> = {}): LargePlan {
  const smallest = Math.min(...sizes);
  return {
    keys: [...sizes],
    clients: 128,
    connections: 4,
    snapshotCount: smallest,
    clusterSnapshotCount: Math.max(100, Math.floor(smallest / 10)),
    clusterKeys: smallest,
    tailKeys: (keys) => Math.floor(keys / 2),
    settleMs: 5000,
    systems: storeSystems,
    ...overrides,
  };
}

/** Time budgets: each step ends by itself, so the phase does, even when a member hangs. */
const loadTimeoutMs = (keys: number) => Math.max(60_000, keys * 2); // 500 puts/s at least
const restartTimeoutMs = 180_000;
const startTimeoutMs = 60_000;

/** Kills `member`, starts it with `flags` and times it to its first linearizable read. */
async function restartTimed(
  member: StoreMember,
  flags: readonly string[],
  kind: RestartResult["kind"],
  tailKeys: number,
): Promise<RestartResult> {
  const { index } = await memberStatus(member.target);
  await member.kill();
  const since = performance.now();
  member.start(flags);
  const servingMs = await waitServing(member.target, {
    since,
    timeoutMs: restartTimeoutMs,
    alive: () => member.pid !== undefined,
    what: `member ${member.name}`,
  }).catch((e: Error) => {
    throw new Error(`${e.message}: ${member.stderrTail()}`);
  });
  return { kind, tailKeys, raftIndex: index, servingMs, peakRssMiB: procMemory(member.pid as number).hwmMiB };
}

async function oneMember(system: StoreSystem, keys: number, plan: LargePlan, log: (l: string) => void) {
  const set = await createStoreMembers(system, 1);
  const member = set.members[0] as StoreMember;
  let channels: EtcdChannel[] = [];
  try {
    const pid = member.start(["--snapshot-count", String(plan.snapshotCount)]);
    await waitLeader([member], startTimeoutMs);
    channels = await openChannels([member.target], plan.connections);
    const cpu0 = cpuSeconds(pid);
    const client0 = process.cpuUsage();
    const rss = sampleRss(pid);
    const probe = await startProbe(member.target);
    const load = await loadKeys(channels, {
      from: 0,
      count: keys,
      clients: plan.clients,
      timeoutMs: loadTimeoutMs(keys),
    });
    const probed = await probe.stop();
    const peak = rss.stop();
    const client = process.cpuUsage(client0);
    const memberCpu = cpuSeconds(pid) - cpu0;
    log(
      `large ${keys} ${system}: loaded in ${load.seconds.toFixed(1)} s, peak RSS ${peak.hwmMiB.toFixed(0)} MiB`,
    );
    closeChannels(channels);
    channels = [];
    await sleep(plan.settleMs);
    const idle = procMemory(pid);
    // A --snapshot-count above everything still to come: no snapshot covers the tail.
    const noSnapshot = ["--snapshot-count", String(10 * (keys + plan.tailKeys(keys)))];
    const afterLoad = await restartTimed(member, noSnapshot, "after-load", 0);
    log(`large ${keys} ${system}: restart after load ${(afterLoad.servingMs / 1000).toFixed(2)} s`);
    channels = await openChannels([member.target], plan.connections);
    const tail = await loadKeys(channels, {
      from: keys,
      count: plan.tailKeys(keys),
      clients: plan.clients,
      timeoutMs: loadTimeoutMs(plan.tailKeys(keys)),
    });
    // The keys written (`ops`): a put that failed left nothing to replay.
    const tailKeys = tail.ops;
    closeChannels(channels);
    channels = [];
    const withTail = await restartTimed(member, noSnapshot, "with-tail", tailKeys);
    log(
      `large ${keys} ${system}: restart with ${tailKeys} to replay ${(withTail.servingMs / 1000).toFixed(2)} s`,
    );
    const row: LargeRow = {
      workload: "large",
      system,
      keys,
      clients: plan.clients,
      ...load,
      memberCpuSeconds: [memberCpu],
      memberPeakRssMiB: [Number.isFinite(peak.hwmMiB) ? peak.hwmMiB : peak.maxRssMiB],
      clientCpuSeconds: (client.user + client.system) / 1e6,
      probe: probed,
      idle: { rssMiB: idle.rssMiB, anonMiB: idle.anonMiB, fileMiB: idle.fileMiB },
      restarts: [afterLoad, withTail],
      snapshotCount: plan.snapshotCount,
    };
    return row;
  } finally {
    closeChannels(channels);
    await set.cleanup();
  }
}

async function highestTerm(members: readonly StoreMember[]): Promise<number> {
  const terms = await Promise.all(members.map((m) => memberStatus(m.target).then((s) => s.term)));
  return Math.max(...terms);
}

async function threeMembers(
  system: StoreSystem,
  plan: LargePlan,
  log: (l: string) => void,
): Promise<LargeRow> {
  const set = await createStoreMembers(system, 3);
  let channels: EtcdChannel[] = [];
  try {
    const pids = set.members.map((m) => m.start(["--snapshot-count", String(plan.clusterSnapshotCount)]));
    await waitLeader(set.members, startTimeoutMs);
    channels = await openChannels(
      set.members.map((m) => m.target),
      2,
    );
    const termBefore = await highestTerm(set.members);
    const cpu0 = pids.map(cpuSeconds);
    const client0 = process.cpuUsage();
    const keys = plan.clusterKeys;
    const load = await loadKeys(channels, {
      from: 0,
      count: keys,
      clients: plan.clients,
      timeoutMs: loadTimeoutMs(keys),
    });
    const client = process.cpuUsage(client0);
    const termAfter = await highestTerm(set.members);
    log(`large-cluster ${keys} ${system}: ${load.seconds.toFixed(1)} s, term ${termBefore} -> ${termAfter}`);
    return {
      workload: "large-cluster",
      system,
      keys,
      clients: plan.clients,
      ...load,
      memberCpuSeconds: pids.map((pid, i) => cpuSeconds(pid) - (cpu0[i] as number)),
      memberPeakRssMiB: pids.map((pid) => procMemory(pid).hwmMiB),
      clientCpuSeconds: (client.user + client.system) / 1e6,
      termBefore,
      termAfter,
      snapshotCount: plan.clusterSnapshotCount,
    };
  } finally {
    closeChannels(channels);
    await set.cleanup();
  }
}

/**
 * Runs the large phase: each size on one member of each system (which goes first alternates per
 * size, so drift on a shared machine affects both alike), then the 3-member clusters.
 */
export async function runLargePhase(
  plan: LargePlan,
  log: (line: string) => void = () => {},
): Promise<LargeRow[]> {
  const rows: LargeRow[] = [];
  let flip = false;
  const order = () => {
    flip = !flip;
    return flip ? [...plan.systems] : [...plan.systems].reverse();
  };
  // A failed run becomes a row with its error, so one side's failure keeps the other's figures.
  const attempt = async (
    workload: LargeRow["workload"],
    system: StoreSystem,
    keys: number,
    run: () => Promise<LargeRow>,
  ) => {
    try {
      rows.push(await run());
    } catch (e) {
      const error = e instanceof Error ? e.message : String(e);
      log(`${workload} ${keys} ${system}: failed: ${error}`);
      rows.push(failedRow(workload, system, keys, plan, error));
    }
  };
  for (const keys of plan.keys)
    for (const system of order())
      await attempt("large", system, keys, () => oneMember(system, keys, plan, log));
  for (const system of order())
    await attempt("large-cluster", system, plan.clusterKeys, () => threeMembers(system, plan, log));
  return rows;
}

function failedRow(
  workload: LargeRow["workload"],
  system: StoreSystem,
  keys: number,
  plan: LargePlan,
  error: string,
): LargeRow {
  const members = workload === "large" ? 1 : 3;
  return {
    workload,
    system,
    keys,
    clients: plan.clients,
    ...summarize([], Number.NaN, 0),
    maxMs: Number.NaN,
    memberCpuSeconds: Array(members).fill(Number.NaN),
    memberPeakRssMiB: Array(members).fill(Number.NaN),
    clientCpuSeconds: Number.NaN,
    snapshotCount: workload === "large" ? plan.snapshotCount : plan.clusterSnapshotCount,
    error,
  };
}
