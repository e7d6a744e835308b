/**
 * The store benchmark's large phase results: its rows (the store rows' fields, plus what only this
 * phase measures), the Skiff/etcd ratios against issue 22's targets, and the markdown tables.
 */
import type { ProbeResult } from "./store-large-load.js";
import type { Measurement } from "./store-load.js";
import type { StoreSystem } from "./store-procs.js";

export type LargeWorkload = "large" | "large-cluster";

/** One kill -9 and restart of the one member, timed until a linearizable Range succeeded. */
export interface RestartResult {
  kind: "after-load" | "with-tail";
  /** Keys written after the last restart with a --snapshot-count above them (0 for after-load). */
  tailKeys: number;
  /** The member's Raft index when it was killed (Maintenance.Status). */
  raftIndex: number;
  /** From spawn to the first successful linearizable Range. */
  servingMs: number;
  /** VmHWM of the restarted process when it first served. */
  peakRssMiB: number;
}

export interface LargeRow extends Measurement {
  workload: LargeWorkload;
  system: StoreSystem;
  /** Keys of 1 KiB asked for (`ops` says how many were written). */
  keys: number;
  clients: number;
  /** The slowest put, ms. */
  maxMs: number;
  /** CPU seconds (user+system) each member used during the load. */
  memberCpuSeconds: number[];
  /** Peak RSS (VmHWM) of each member during the load (each started fresh for it), MiB. */
  memberPeakRssMiB: number[];
  clientCpuSeconds: number;
  /** large only: the probe reading every 50 ms during the load. */
  probe?: ProbeResult;
  /** large only: resident memory once the load ended and the member settled, MiB. */
  idle?: { rssMiB: number; anonMiB: number; fileMiB: number };
  /** large only: the two restarts, after the load and with a tail of log entries to replay. */
  restarts?: RestartResult[];
  /** large-cluster only: the highest Raft term over the members before and after the load. */
  termBefore?: number;
  termAfter?: number;
  snapshotCount: number;
  /** Why this run stopped (a member died, a step ran out of time); its figures are then NaN. */
  error?: string;
}

/** One side-by-side figure and the target it is held to (issue 22's "done when"). */
export interface LargeCheck {
  keys: number;
  /** The key in the JSON report's ratios.large (with `@keys`). */
  id: string;
  /** What is compared, with its unit. */
  name: string;
  skiff: number;
  etcd: number;
  /** skiff / etcd, or for elections Skiff's count. */
  value: number;
  target: string;
  met: boolean;
}

const find = (rows: readonly LargeRow[], w: LargeWorkload, system: StoreSystem, keys: number) =>
  rows.find((r) => r.workload === w && r.system === system && r.keys === keys);

const restart = (r: LargeRow | undefined, kind: RestartResult["kind"]) =>
  r?.restarts?.find((x) => x.kind === kind)?.servingMs ?? Number.NaN;

const idle = (r: LargeRow | undefined) =>
  r?.idle === undefined ? Number.NaN : r.idle.anonMiB + r.idle.fileMiB;

const peak = (r: LargeRow | undefined) => (r === undefined ? Number.NaN : Math.max(...r.memberPeakRssMiB));

const elections = (r: LargeRow | undefined) =>
  r?.termAfter === undefined || r.termBefore === undefined ? Number.NaN : r.termAfter - r.termBefore;

/** Every target of the large phase, per size; NaN (not met) where a side did not run. */
export function largeChecks(rows: readonly LargeRow[]): LargeCheck[] {
  const out: LargeCheck[] = [];
  const ratio = (
    keys: number,
    id: string,
    name: string,
    s: number,
    e: number,
    max: number,
    higher = false,
  ) => {
    const value = s / e;
    out.push({
      keys,
      id,
      name,
      skiff: s,
      etcd: e,
      value,
      target: higher ? `>= ${max}x` : `<= ${max}x`,
      met: higher ? value >= max : value <= max,
    });
  };
  const sizes = [...new Set(rows.filter((r) => r.workload === "large").map((r) => r.keys))];
  for (const keys of sizes) {
    const s = find(rows, "large", "skiff-store", keys);
    const e = find(rows, "large", "etcd", keys);
    const [sPut, ePut] = [s?.opsPerSecond ?? Number.NaN, e?.opsPerSecond ?? Number.NaN];
    ratio(keys, "put_throughput", "put throughput, puts/s", sPut, ePut, 1.2, true);
    const [sAfter, eAfter] = [restart(s, "after-load"), restart(e, "after-load")];
    ratio(keys, "restart_after_load", "restart to serving after load, ms", sAfter, eAfter, 1);
    const [sTail, eTail] = [restart(s, "with-tail"), restart(e, "with-tail")];
    ratio(keys, "restart_with_tail", "restart to serving with a tail to replay, ms", sTail, eTail, 1);
    ratio(keys, "idle_rss", "idle RSS anon + file, MiB", idle(s), idle(e), 1);
    ratio(keys, "peak_rss_load", "peak RSS during load, MiB", peak(s), peak(e), 1.5);
    const [sProbe, eProbe] = [s?.probe?.worstMs ?? Number.NaN, e?.probe?.worstMs ?? Number.NaN];
    ratio(keys, "probe_worst_latency", "worst probe latency, ms", sProbe, eProbe, 2);
  }
  for (const keys of new Set(rows.filter((r) => r.workload === "large-cluster").map((r) => r.keys))) {
    const s = elections(find(rows, "large-cluster", "skiff-store", keys));
    const e = elections(find(rows, "large-cluster", "etcd", keys));
    out.push({
      keys,
      id: "cluster_elections",
      name: "elections during the load, 3 members",
      skiff: s,
      etcd: e,
      value: s,
      target: "0",
      met: s === 0,
    });
  }
  return out;
}

/** The checks as the JSON report's `ratios.large`: `<name>@<keys>` -> value. */
export function largeRatios(rows: readonly LargeRow[]): Record<string, number> {
  return Object.fromEntries(largeChecks(rows).map((c) => [`${c.id}@${c.keys}`, c.value]));
}

const fmt = (v: number | undefined, digits = 1) =>
  v !== undefined && Number.isFinite(v) ? v.toFixed(digits) : "-";
const line = (cells: (string | number)[]) => `| ${cells.join(" | ")} |`;

/** The large phase as markdown: one table per workload, then the targets. */
export function largeTables(rows: readonly LargeRow[]): string {
  const out: string[] = [];
  const one = rows.filter((r) => r.workload === "large");
  if (one.length > 0) {
    out.push(
      "\n### large (one member, 128 clients, 1 KiB values; restarts: kill -9, then spawn to first linearizable read)\n",
      line([
        "keys",
        "system",
        "load s",
        "puts/s",
        "p99 ms",
        "slowest put ms",
        "errors",
        "peak RSS MiB",
        "idle RSS MiB (anon + file)",
        "probe worst ms",
        "restart after load s (index)",
        "restart with tail s (tail keys)",
        "restart peak RSS MiB",
        "member CPU s",
      ]),
      line(["---:", "---", ...Array(12).fill("---:")]),
    );
    for (const r of one) {
      const after = r.restarts?.find((x) => x.kind === "after-load");
      const tail = r.restarts?.find((x) => x.kind === "with-tail");
      out.push(
        line([
          r.keys,
          r.system,
          fmt(r.seconds),
          Math.round(r.opsPerSecond),
          fmt(r.p99ms),
          fmt(r.maxMs),
          r.errors,
          fmt(peak(r), 0),
          r.idle === undefined ? "-" : `${fmt(r.idle.anonMiB, 0)} + ${fmt(r.idle.fileMiB, 0)}`,
          fmt(r.probe?.worstMs),
          after === undefined ? "-" : `${fmt(after.servingMs / 1000, 2)} (${after.raftIndex})`,
          tail === undefined ? "-" : `${fmt(tail.servingMs / 1000, 2)} (${tail.tailKeys})`,
          [after, tail].map((x) => fmt(x?.peakRssMiB, 0)).join(" / "),
          fmt(r.memberCpuSeconds[0]),
        ]),
      );
    }
  }
  const cluster = rows.filter((r) => r.workload === "large-cluster");
  if (cluster.length > 0) {
    out.push(
      "\n### large-cluster (3 members, 128 clients over them, small --snapshot-count)\n",
      line([
        "keys",
        "system",
        "snapshot count",
        "load s",
        "puts/s",
        "p99 ms",
        "slowest put ms",
        "errors",
        "Raft term before -> after",
        "member peak RSS MiB (m1/m2/m3)",
        "member CPU s (m1/m2/m3)",
      ]),
      line(["---:", "---", ...Array(9).fill("---:")]),
    );
    for (const r of cluster)
      out.push(
        line([
          r.keys,
          r.system,
          r.snapshotCount,
          fmt(r.seconds),
          Math.round(r.opsPerSecond),
          fmt(r.p99ms),
          fmt(r.maxMs),
          r.errors,
          `${r.termBefore ?? "-"} -> ${r.termAfter ?? "-"}`,
          r.memberPeakRssMiB.map((m) => fmt(m, 0)).join(" / "),
          r.memberCpuSeconds.map((c) => fmt(c)).join(" / "),
        ]),
      );
  }
  const checks = largeChecks(rows);
  if (checks.length > 0) {
    out.push(
      "\n### large: targets (issue 22)\n",
      line(["keys", "figure", "skiff store", "etcd", "skiff/etcd", "target", "met?"]),
      line(["---:", "---", "---:", "---:", "---:", "---", "---"]),
    );
    for (const c of checks) {
      const elections = c.id === "cluster_elections";
      out.push(
        line([
          c.keys,
          c.name,
          fmt(c.skiff, elections ? 0 : 1),
          fmt(c.etcd, elections ? 0 : 1),
          elections ? "" : fmt(c.value, 2),
          c.target,
          c.met ? "yes" : "no",
        ]),
      );
    }
  }
  for (const r of rows.filter((x) => x.error !== undefined))
    out.push(`\n${r.workload} ${r.keys} ${r.system} failed: ${r.error}`);
  return out.join("\n");
}
