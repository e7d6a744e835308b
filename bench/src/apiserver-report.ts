/**
 * The API server benchmark's results: rows, the three targets from the issue (create p99 at
 * 200 creates/s, listing 10,000 pods, watch fan-out p99) and a markdown table.
 */
import type { Measurement } from "./store-load.js";

export type ApiWorkload =
  | "create-closed"
  | "create-open"
  | "apply-closed"
  | "reapply-closed"
  | "fill"
  | "get"
  | "list"
  | "list-paged"
  | "list-rv0"
  | "watch-fanout";

export interface ApiRow extends Measurement {
  workload: ApiWorkload;
  /** Concurrent clients (closed loop, get, list), or watchers for watch-fanout. */
  clients: number;
  /** create-open: the offered rate, creates/s. */
  rate?: number;
  /** Pods stored in the namespace during the phase (get, list, watch-fanout). */
  storedPods?: number;
  /** CPU of the load generator (this process) and of the skiff server process, over the phase. */
  processCpuSeconds: number;
  serverCpuSeconds?: number;
  /** The target this row is judged by, if any: its p99 must be below `targetMs`. */
  targetMs?: number;
  met?: boolean;
  /** watch-fanout only: events the watchers should have received, and did. */
  expectedEvents?: number;
  receivedEvents?: number;
  /** The first error's message, when there were errors. */
  firstError?: string;
}

/** The targets, in ms (each on the p99 of its row). */
export const targetLimits = {
  create_p99_ms_at_200: 50,
  list_10k_ms: 300,
  watch_fanout_p99_ms: 100,
} as const;

export type TargetName = keyof typeof targetLimits;

/** Which row each target judges. */
export const targetWorkload: Record<TargetName, ApiWorkload> = {
  create_p99_ms_at_200: "create-open",
  list_10k_ms: "list",
  watch_fanout_p99_ms: "watch-fanout",
};

export interface ApiTargets {
  /** Measured values (p99, ms; NaN when the phase did not run). */
  values: Record<TargetName, number>;
  limits: typeof targetLimits;
  met: Record<TargetName, boolean>;
}

export function apiTargets(rows: readonly ApiRow[]): ApiTargets {
  const values = {} as Record<TargetName, number>;
  const met = {} as Record<TargetName, boolean>;
  for (const name of Object.keys(targetLimits) as TargetName[]) {
    const row = rows.find((r) => r.workload === targetWorkload[name]);
    values[name] = row?.p99ms ?? Number.NaN;
    met[name] = row?.met === true;
  }
  return { values, limits: targetLimits, met };
}

const describe: Record<ApiWorkload, string> = {
  "create-closed": "pod create, closed loop",
  "create-open": "pod create, open loop",
  "apply-closed": "pod server-side apply (creates), closed loop",
  "reapply-closed": "pod server-side apply (a label changed), closed loop",
  fill: "pod create (filling the namespace)",
  get: "pod get (random names)",
  list: "pod list, all (from the store)",
  "list-paged": "pod list, all, in pages of 500 (from the store)",
  "list-rv0": "pod list, all, resourceVersion=0 (watch cache)",
  "watch-fanout": "watch fan-out (write response to last watcher)",
};

const fmt = (v: number, digits = 1) => (Number.isFinite(v) ? v.toFixed(digits) : "-");

function clientsOrRate(r: ApiRow): string {
  if (r.rate !== undefined) return `${r.rate}/s offered`;
  if (r.workload === "watch-fanout") return `${r.clients} watchers`;
  return `${r.clients}`;
}

/** One markdown table; "stored" is the pods in the namespace read or watched. */
export function apiTables(rows: readonly ApiRow[]): string {
  const line = (cells: (string | number)[]) => `| ${cells.join(" | ")} |`;
  const out = [
    line([
      "workload",
      "clients/rate",
      "stored",
      "ops/s",
      "p50 ms",
      "p99 ms",
      "p99.9 ms",
      "errors",
      "target",
      "met?",
      "client CPU s",
      "server CPU s",
    ]),
    line(["---", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---", "---", "---:", "---:"]),
  ];
  for (const r of rows) {
    const errors =
      r.expectedEvents === undefined
        ? `${r.errors}`
        : `${r.errors} (events ${r.receivedEvents}/${r.expectedEvents})`;
    out.push(
      line([
        describe[r.workload],
        clientsOrRate(r),
        r.storedPods ?? "",
        fmt(r.opsPerSecond, 0),
        fmt(r.p50ms, 2),
        fmt(r.p99ms, 2),
        fmt(r.p999ms, 2),
        errors,
        r.targetMs === undefined ? "" : `p99 < ${r.targetMs} ms`,
        r.met === undefined ? "" : r.met ? "yes" : "**no**",
        fmt(r.processCpuSeconds, 2),
        r.serverCpuSeconds === undefined ? "" : fmt(r.serverCpuSeconds, 2),
      ]),
    );
  }
  const failed = rows.filter((r) => r.firstError !== undefined);
  if (failed.length > 0) out.push("", ...failed.map((r) => `- ${r.workload}: first error: ${r.firstError}`));
  return out.join("\n");
}
