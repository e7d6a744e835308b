/**
 * `pnpm bench raft-node [--quick] [--json FILE]`: 3 durable members on loopback with fsync on,
 * N concurrent proposers of 256-byte values; committed writes/s and p50/p99 commit latency,
 * side by side with real etcd 3.4 given the same load in the same run. Both are driven over
 * HTTP/1.1 + JSON by the same client (etcd through its gRPC gateway, /v3/kv/put), so the protocol
 * cost is alike; the store benchmark (gRPC on both) comes with the store.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { Pool } from "undici";
import { type RunningCluster, type SystemName, startCluster } from "./cluster-procs.js";
import type { Benchmark } from "./registry.js";

interface Row {
  system: SystemName;
  clients: number;
  writes: number;
  seconds: number;
  writesPerSecond: number;
  p50ms: number;
  p99ms: number;
  p999ms: number;
  errors: number;
  serverCpuSeconds: number;
  peakRssMiB: number;
}

const value = "v".repeat(256);
const valueB64 = Buffer.from(value).toString("base64");

function request(system: SystemName, key: string): { method: "PUT" | "POST"; path: string; body: string } {
  if (system === "skiff") return { method: "PUT", path: `/kv/${key}`, body: value };
  const k = Buffer.from(key).toString("base64");
  return { method: "POST", path: "/v3/kv/put", body: `{"key":"${k}","value":"${valueB64}"}` };
}

/** CPU seconds (user+system) of a process, from /proc. */
function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

/** Peak resident set size (VmHWM) of a process in MiB. */
function peakRssMiB(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m === null ? Number.NaN : Number(m[1]) / 1024;
  } catch {
    return Number.NaN;
  }
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number;
}

async function load(
  cluster: RunningCluster,
  clients: number,
  seconds: number,
  keyPrefix: string,
): Promise<Omit<Row, "system" | "clients" | "serverCpuSeconds" | "peakRssMiB">> {
  const pools = cluster.clientUrls.map(
    (u) => new Pool(u, { connections: Math.max(1, Math.ceil(clients / 3)), pipelining: 1 }),
  );
  const latencies: number[] = [];
  let errors = 0;
  let n = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  await Promise.all(
    Array.from({ length: clients }, async (_, w) => {
      const pool = pools[w % pools.length] as Pool;
      while (performance.now() < end) {
        const r = request(cluster.system, `${keyPrefix}${(n++).toString(36).padStart(8, "0").slice(-8)}`);
        const t0 = performance.now();
        try {
          const res = await pool.request({
            method: r.method,
            path: r.path,
            body: r.body,
            headers: { "content-type": "application/json" },
          });
          await res.body.text();
          if (res.statusCode === 200) latencies.push(performance.now() - t0);
          else errors++;
        } catch {
          errors++;
        }
      }
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  await Promise.all(pools.map((p) => p.close()));
  latencies.sort((a, b) => a - b);
  return {
    writes: latencies.length,
    seconds: elapsed,
    writesPerSecond: latencies.length / elapsed,
    p50ms: percentile(latencies, 0.5),
    p99ms: percentile(latencies, 0.99),
    p999ms: percentile(latencies, 0.999),
    errors,
  };
}

export async function runRaftNodeBench(opts: { quick: boolean }): Promise<Row[]> {
  const levels = opts.quick ? [1, 64] : [1, 16, 64, 256];
  const seconds = opts.quick ? 2 : 5;
  const rows: Row[] = [];
  // Alternate the systems per level so that drift on a shared machine affects both alike.
  const clusters = new Map<SystemName, RunningCluster>();
  try {
    for (const system of ["skiff", "etcd"] as const) clusters.set(system, await startCluster(system));
    for (const system of ["skiff", "etcd"] as const)
      await load(clusters.get(system) as RunningCluster, 16, 1, "warm"); // warm-up
    for (const clients of levels) {
      for (const system of ["skiff", "etcd"] as const) {
        const c = clusters.get(system) as RunningCluster;
        const cpu0 = c.pids.map(cpuSeconds);
        const r = await load(c, clients, seconds, `c${clients}`);
        const cpu = c.pids.map((pid, i) => cpuSeconds(pid) - (cpu0[i] as number));
        rows.push({
          system,
          clients,
          ...r,
          serverCpuSeconds: Math.max(...cpu),
          peakRssMiB: Math.max(...c.pids.map(peakRssMiB)),
        });
      }
    }
  } finally {
    for (const c of clusters.values()) await c.stop();
  }
  return rows;
}

function table(rows: Row[]): string {
  const line = (cells: (string | number)[]) => `| ${cells.join(" | ")} |`;
  const out = [
    line([
      "clients",
      "system",
      "writes/s",
      "p50 ms",
      "p99 ms",
      "p99.9 ms",
      "errors",
      "max member CPU s",
      "max member peak RSS MiB",
      "throughput skiff/etcd",
    ]),
    line(["---:", "---", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:"]),
  ];
  for (const r of rows) {
    const etcd = rows.find((x) => x.system === "etcd" && x.clients === r.clients);
    const ratio =
      r.system === "skiff" && etcd !== undefined ? (r.writesPerSecond / etcd.writesPerSecond).toFixed(2) : "";
    out.push(
      line([
        r.clients,
        r.system,
        Math.round(r.writesPerSecond),
        r.p50ms.toFixed(1),
        r.p99ms.toFixed(1),
        r.p999ms.toFixed(1),
        r.errors,
        r.serverCpuSeconds.toFixed(1),
        r.peakRssMiB.toFixed(0),
        ratio,
      ]),
    );
  }
  return out.join("\n");
}

export const raftNodeBenchmark: Benchmark = {
  name: "raft-node",
  summary: "3 durable members (fsync on) vs etcd 3.4: writes/s and commit latency at 1-256 clients",
  async run(args) {
    let quick = false;
    let json: string | undefined;
    for (let i = 0; i < args.length; i++) {
      if (args[i] === "--quick") quick = true;
      else if (args[i] === "--json") json = args[++i];
      else throw new Error(`bench raft-node: unknown flag ${args[i]}`);
    }
    const rows = await runRaftNodeBench({ quick });
    process.stdout.write(`${table(rows)}\n`);
    if (json !== undefined)
      writeFileSync(
        json,
        `${JSON.stringify({ benchmark: "raft-node", node: process.version, rows }, null, 2)}\n`,
      );
    return 0;
  },
};
