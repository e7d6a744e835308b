/**
 * `pnpm bench store --vs etcd [--quick] [--json FILE]`: `skiff store` side by side with etcd 3.4,
 * both as fresh 3-member clusters (same flags, fsync on, data on the same disk, loopback), driven
 * by one Node load generator over the etcd v3 gRPC API. Workloads: puts at 1-256 clients,
 * linearizable and serializable single-key reads, txn compare-and-set, watch fan-out, lease grant
 * and keep-alive. Systems alternate per phase so drift on a shared machine affects both alike.
 * The `large` phase (store-large.ts: etcd-sized datasets, restarts, memory) takes minutes and
 * runs only when asked: `--large`, or `--only large`.
 */
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Benchmark } from "./registry.js";
import type { EtcdChannel } from "./store-grpc.js";
import { unary } from "./store-grpc.js";
import { largePlan, runLargePhase } from "./store-large.js";
import { largeRatios, largeTables } from "./store-large-report.js";
import {
  closeChannels,
  closedLoop,
  leaseGrantOp,
  type Measurement,
  openChannels,
  putOp,
  rangeKey,
  rangeOp,
  txnCasOp,
  valueBytes,
} from "./store-load.js";
import {
  cpuSeconds,
  peakRssMiB,
  type StoreCluster,
  type StoreSystem,
  startStoreCluster,
  storeSystems,
} from "./store-procs.js";
import { putThroughputSvg, type StoreRow, storeRatios, storeTables, type Workload } from "./store-report.js";
import { leaseKeepAlive, watchFanOut } from "./store-streams.js";

interface Plan {
  putLevels: number[];
  putSeconds: number;
  /** Clients for the read, txn and lease phases. */
  clients: number;
  seconds: number;
  watchers: number;
  watchStreams: number;
  watchPuts: number;
  channelsPerMember: number;
  warmSeconds: number;
}

const fullPlan: Plan = {
  putLevels: [1, 16, 64, 256],
  putSeconds: 5,
  clients: 64,
  seconds: 3,
  watchers: 1000,
  watchStreams: 20,
  watchPuts: 200,
  channelsPerMember: 2,
  warmSeconds: 2,
};

const quickPlan: Plan = {
  putLevels: [1, 64],
  putSeconds: 1.5,
  clients: 64,
  seconds: 1,
  watchers: 200,
  watchStreams: 8,
  watchPuts: 50,
  channelsPerMember: 2,
  warmSeconds: 1,
};

interface Phase {
  workload: Workload;
  clients: number;
  run(channels: EtcdChannel[]): Promise<Measurement & { expectedEvents?: number }>;
}

function phases(plan: Plan): Phase[] {
  const { clients, seconds } = plan;
  return [
    ...plan.putLevels.map((level, i) => ({
      workload: "put" as const,
      clients: level,
      run: (ch: EtcdChannel[]) => closedLoop(ch, level, plan.putSeconds, putOp("abcdefgh"[i] as string)),
    })),
    {
      workload: "range-linearizable",
      clients,
      run: (ch) => closedLoop(ch, clients, seconds, rangeOp(false)),
    },
    { workload: "range-serializable", clients, run: (ch) => closedLoop(ch, clients, seconds, rangeOp(true)) },
    { workload: "txn-cas", clients, run: (ch) => closedLoop(ch, clients, seconds, txnCasOp("t")) },
    {
      workload: "watch-fanout",
      clients: plan.watchers,
      run: (ch) =>
        watchFanOut(ch, {
          tag: "w",
          watchers: plan.watchers,
          streams: plan.watchStreams,
          puts: plan.watchPuts,
        }),
    },
    // Leases last: the thousands of granted leases (TTL 600 s) must not weigh on other phases.
    { workload: "lease-grant", clients, run: (ch) => closedLoop(ch, clients, seconds, leaseGrantOp) },
    { workload: "lease-keepalive", clients, run: (ch) => leaseKeepAlive(ch, clients, seconds) },
  ];
}

/**
 * Before anything is measured, each system runs a short round of every workload (its own keys):
 * connections, disk, and for Skiff the JIT, which otherwise compiles a workload's code during its
 * first measured seconds (a fifth of the members' CPU in a watch phase run alone).
 */
async function warmUp(ch: EtcdChannel[], plan: Plan): Promise<void> {
  const s = plan.warmSeconds;
  await closedLoop(ch, 16, s, putOp("z"));
  await closedLoop(ch, 16, s / 4, rangeOp(false));
  await closedLoop(ch, 16, s / 4, rangeOp(true));
  await closedLoop(ch, 16, s / 4, txnCasOp("w"));
  // The measured shape (watchers and streams), a quarter of the puts.
  await watchFanOut(ch, {
    tag: "ww",
    watchers: plan.watchers,
    streams: plan.watchStreams,
    puts: Math.ceil(plan.watchPuts / 4),
  });
  // Few leases: those granted stay (TTL 600 s) for the whole run.
  await closedLoop(ch, 4, s / 8, leaseGrantOp);
  await leaseKeepAlive(ch, 4, s / 8);
}

interface Target {
  cluster: StoreCluster;
  channels: EtcdChannel[];
}

async function measure(t: Target, phase: Phase): Promise<StoreRow> {
  const cpu0 = t.cluster.pids.map(cpuSeconds);
  const client0 = process.cpuUsage();
  const m = await phase.run(t.channels);
  const client = process.cpuUsage(client0);
  return {
    workload: phase.workload,
    system: t.cluster.system,
    clients: phase.clients,
    ...m,
    memberCpuSeconds: t.cluster.pids.map((pid, i) => cpuSeconds(pid) - (cpu0[i] as number)),
    memberPeakRssMiB: t.cluster.pids.map(peakRssMiB),
    clientCpuSeconds: (client.user + client.system) / 1e6,
  };
}

export async function runStoreBench(opts: {
  quick: boolean;
  log?: (line: string) => void;
  /** Run only these workloads (default: all). */
  only?: readonly string[];
  /** Profile skiff's members into this directory (`node --cpu-prof`). */
  profileDir?: string;
}): Promise<StoreRow[]> {
  const plan = opts.quick ? quickPlan : fullPlan;
  const log = opts.log ?? (() => {});
  const targets = new Map<StoreSystem, Target>();
  const rows: StoreRow[] = [];
  const selected = phases(plan).filter((p) => opts.only === undefined || opts.only.includes(p.workload));
  // `--only large` starts no 3-member cluster here.
  if (selected.length === 0) return rows;
  try {
    for (const system of storeSystems) {
      const cluster = await startStoreCluster(system, system === "etcd" ? undefined : opts.profileDir);
      targets.set(system, { cluster, channels: await openChannels(cluster.targets, plan.channelsPerMember) });
      log(`${system}: 3 members up (pids ${cluster.pids.join(", ")})`);
    }
    for (const t of targets.values()) {
      await unary(t.channels[0]?.KV as EtcdChannel["KV"], "Put", { key: rangeKey, value: valueBytes });
      await warmUp(t.channels, plan);
    }
    // Alternate the systems, and which goes first, per phase so that drift affects both alike.
    for (const [i, phase] of selected.entries()) {
      const order = i % 2 === 0 ? storeSystems : [...storeSystems].reverse();
      for (const system of order) {
        const row = await measure(targets.get(system) as Target, phase);
        log(`${phase.workload} ${phase.clients} ${system}: ${Math.round(row.opsPerSecond)}/s`);
        rows.push(row);
      }
    }
  } finally {
    for (const t of targets.values()) {
      closeChannels(t.channels);
      await t.cluster.stop();
    }
  }
  return rows;
}

export const storeBenchmark: Benchmark = {
  name: "store",
  summary:
    "skiff store vs etcd 3.4 over gRPC: put/range/txn/watch/lease, 3 members, fsync on (--large: 100k-200k keys, restarts)",
  async run(args) {
    let quick = false;
    let json: string | undefined;
    let only: string[] | undefined;
    let profileDir: string | undefined;
    let large = false;
    let largeKeys = [100_000, 200_000];
    for (let i = 0; i < args.length; i++) {
      if (args[i] === "--quick") quick = true;
      else if (args[i] === "--large") large = true;
      else if (args[i] === "--large-keys") largeKeys = parseSizes(args[++i]);
      else if (args[i] === "--only") only = (args[++i] ?? "").split(",");
      else if (args[i] === "--profile") profileDir = args[++i];
      else if (args[i] === "--json") json = args[++i];
      else if (args[i] === "--vs") {
        if (args[++i] !== "etcd") throw new Error("bench store: --vs takes etcd (the only reference)");
      } else throw new Error(`bench store: unknown flag ${args[i]}`);
    }
    const started = performance.now();
    const log = (l: string) => process.stderr.write(`${l}\n`);
    const rows = await runStoreBench({ quick, only, profileDir, log });
    const largeRows =
      large || only?.includes("large") === true ? await runLargePhase(largePlan(largeKeys), log) : [];
    const ratios = {
      ...storeRatios(rows),
      ...(largeRows.length > 0 ? { large: largeRatios(largeRows) } : {}),
    };
    process.stdout.write(
      `${storeTables(rows)}${largeTables(largeRows)}\n\nratios (skiff/etcd): ${JSON.stringify(ratios)}\n`,
    );
    // The chart is of the put phases; a run without them has none.
    const hasPuts = rows.some((r) => r.workload === "put");
    const svg = json === undefined ? "bench-store.svg" : join(dirname(json), "bench-store.svg");
    if (hasPuts) writeFileSync(svg, putThroughputSvg(rows));
    const seconds = (performance.now() - started) / 1000;
    if (json !== undefined)
      writeFileSync(
        json,
        `${JSON.stringify(
          {
            benchmark: "store",
            node: process.version,
            quick,
            seconds,
            svg: hasPuts ? svg : undefined,
            ratios,
            rows: [...rows, ...largeRows],
          },
          null,
          2,
        )}\n`,
      );
    process.stderr.write(`bench store: ${seconds.toFixed(0)} s${hasPuts ? `; chart in ${svg}` : ""}\n`);
    return 0;
  },
};

/** `--large-keys 100000,200000`: dataset sizes, positive integers (`_` separators allowed). */
export function parseSizes(arg: string | undefined): number[] {
  const sizes = (arg ?? "").split(",").map((v) => Number(v.replaceAll("_", "")));
  if (sizes.length === 0 || sizes.some((n) => !Number.isInteger(n) || n <= 0))
    throw new Error(`bench store: --large-keys takes sizes such as 100000,200000 (got ${arg})`);
  return sizes;
}
