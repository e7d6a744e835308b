/**
 * The store benchmark's results: rows, the Skiff/etcd ratios, markdown tables per workload, and
 * the put-throughput chart.
 */

import type { Measurement } from "./store-load.js";
import type { StoreSystem } from "./store-procs.js";
import { type ChartSeries, lineChartSvg } from "./svg-chart.js";

export type Workload =
  | "put"
  | "range-linearizable"
  | "range-serializable"
  | "txn-cas"
  | "watch-fanout"
  | "lease-grant"
  | "lease-keepalive";

export interface StoreRow extends Measurement {
  workload: Workload;
  system: StoreSystem;
  /** Concurrent clients (for watch-fanout: watchers). */
  clients: number;
  /** CPU seconds (user+system) each member used during the phase, m1..m3. */
  memberCpuSeconds: number[];
  /** Peak RSS (VmHWM) of each member so far, MiB, m1..m3. */
  memberPeakRssMiB: number[];
  /** CPU seconds the load generator (this process, one event loop) used during the phase. */
  clientCpuSeconds: number;
  /** watch-fanout only: events the watchers should have received. */
  expectedEvents?: number;
}

export interface StoreRatios {
  /** Skiff's put throughput at the highest concurrency (256 clients; 64 with --quick) / etcd's. */
  put_throughput: number;
  range_linearizable_throughput: number;
  watch_events_per_second: number;
  /** Skiff's put p99 latency at the highest concurrency / etcd's (below 1 = Skiff faster). */
  put_p99_latency: number;
}

function find(rows: readonly StoreRow[], workload: Workload, system: StoreSystem, clients?: number) {
  const level = clients ?? Math.max(...rows.filter((r) => r.workload === workload).map((r) => r.clients));
  return rows.find((r) => r.workload === workload && r.system === system && r.clients === level);
}

function ratio(rows: readonly StoreRow[], workload: Workload, field: "opsPerSecond" | "p99ms"): number {
  const skiff = find(rows, workload, "skiff-store");
  const etcd = find(rows, workload, "etcd", skiff?.clients);
  if (skiff === undefined || etcd === undefined) return Number.NaN;
  return skiff[field] / etcd[field];
}

export function storeRatios(rows: readonly StoreRow[]): StoreRatios {
  return {
    put_throughput: ratio(rows, "put", "opsPerSecond"),
    range_linearizable_throughput: ratio(rows, "range-linearizable", "opsPerSecond"),
    watch_events_per_second: ratio(rows, "watch-fanout", "opsPerSecond"),
    put_p99_latency: ratio(rows, "put", "p99ms"),
  };
}

const unitOf: Record<Workload, string> = {
  put: "puts/s",
  "range-linearizable": "reads/s",
  "range-serializable": "reads/s",
  "txn-cas": "txns/s",
  "watch-fanout": "events/s",
  "lease-grant": "grants/s",
  "lease-keepalive": "keep-alives/s",
};

const fmt = (v: number, digits = 1) => (Number.isFinite(v) ? v.toFixed(digits) : "-");

/** One markdown table per workload; the ratio columns are on Skiff's rows. */
export function storeTables(rows: readonly StoreRow[]): string {
  const line = (cells: (string | number)[]) => `| ${cells.join(" | ")} |`;
  const out: string[] = [];
  for (const workload of Object.keys(unitOf) as Workload[]) {
    const of = rows.filter((r) => r.workload === workload);
    if (of.length === 0) continue;
    out.push(
      `\n### ${workload}${workload === "watch-fanout" ? " (clients = watchers; latency = put sent to event received)" : ""}\n`,
      line([
        "clients",
        "system",
        unitOf[workload],
        "p50 ms",
        "p99 ms",
        "p99.9 ms",
        "errors",
        "member CPU s (m1/m2/m3)",
        "member peak RSS MiB (m1/m2/m3)",
        "member CPU µs/op (sum)",
        "load generator CPU s",
        "throughput skiff/etcd",
        "p99 skiff/etcd",
      ]),
      line([
        "---:",
        "---",
        "---:",
        "---:",
        "---:",
        "---:",
        "---:",
        "---:",
        "---:",
        "---:",
        "---:",
        "---:",
        "---:",
      ]),
    );
    for (const r of of) {
      const etcd = r.system === "skiff-store" ? find(rows, workload, "etcd", r.clients) : undefined;
      out.push(
        line([
          r.clients,
          r.system,
          Math.round(r.opsPerSecond),
          fmt(r.p50ms, 2),
          fmt(r.p99ms, 2),
          fmt(r.p999ms, 2),
          r.errors,
          r.memberCpuSeconds.map((c) => fmt(c)).join(" / "),
          r.memberPeakRssMiB.map((m) => fmt(m, 0)).join(" / "),
          r.ops === 0 ? "" : fmt((1e6 * r.memberCpuSeconds.reduce((a, b) => a + b, 0)) / r.ops, 0),
          fmt(r.clientCpuSeconds),
          etcd === undefined ? "" : fmt(r.opsPerSecond / etcd.opsPerSecond, 2),
          etcd === undefined ? "" : fmt(r.p99ms / etcd.p99ms, 2),
        ]),
      );
    }
  }
  return out.join("\n");
}

export function putThroughputSvg(rows: readonly StoreRow[]): string {
  const series: ChartSeries[] = [
    { name: "skiff store", color: "#1f77b4", system: "skiff-store" as const },
    { name: "etcd 3.4", color: "#d62728", system: "etcd" as const },
  ].map(({ name, color, system }) => ({
    name,
    color,
    points: rows
      .filter((r) => r.workload === "put" && r.system === system)
      .map((r) => ({ x: r.clients, y: r.opsPerSecond })),
  }));
  return lineChartSvg({
    title: "Put throughput, 3 members, fsync on (256-byte values)",
    xLabel: "concurrent clients",
    yLabel: "puts/s",
    series,
  });
}
