/**
 * Turns a run's result into the report's input: one merged history (ordered by time, re-indexed,
 * process ids kept apart per workload), the faults, and one line per checker with the failing
 * slice of history when there is one.
 */
import type { Op } from "./check/history.js";
import type { LinearizableResult } from "./check/linearizable.js";
import type { ReportCheck, ReportInput } from "./report.js";
import type { RunResult } from "./run.js";

function linCheck(name: string, l: LinearizableResult): ReportCheck {
  if (l.valid === true) return { name, valid: true, summary: "every key's history is linearizable" };
  return {
    name,
    valid: l.valid,
    summary:
      l.valid === "unknown"
        ? `search budget exhausted on key ${l.key}`
        : `key ${l.key}: op ${l.failedOp?.index} (${l.failedOp?.f} ${JSON.stringify(l.failedOp?.value)}) cannot be linearized; state was ${JSON.stringify(l.lastState)}`,
    slice: l.smallestBadPrefix,
  };
}

export function buildReport(r: RunResult): ReportInput {
  const merged = [...r.histories.register, ...r.histories.txn, ...r.histories.append]
    .map((op) => ({ ...op }))
    .sort((a, b) => a.time - b.time || a.index - b.index);
  merged.forEach((op, i) => {
    op.index = i;
  });
  const la = r.listAppend;
  const w = r.watch;
  const checks: ReportCheck[] = [
    linCheck("linearizable (registers)", r.linearizable),
    linCheck("linearizable (multi-key txns)", r.txnLinearizable),
    {
      name: "durability (registers)",
      valid: r.durability.valid,
      summary: r.durability.valid
        ? "every final value is an acknowledged or possible write"
        : JSON.stringify(r.durability.violations).slice(0, 500),
    },
    {
      name: "list-append (Elle)",
      valid: la.valid,
      summary: la.valid ? "no anomaly" : la.anomalies.map((a) => `${a.type} ${a.key ?? ""}`).join(", "),
      slice: la.anomalies[0]?.ops as Op[] | undefined,
    },
    {
      name: "append durability",
      valid: r.appendDurability.valid,
      summary: r.appendDurability.valid
        ? "every acknowledged append is in the final lists"
        : `lost: ${JSON.stringify(r.appendDurability.lost).slice(0, 500)}`,
    },
    {
      name: "watch",
      valid: w.valid,
      summary: w.valid
        ? `${w.events} events, ${w.reconnects} reconnects, no violation`
        : w.violations
            .slice(0, 5)
            .map((v) => `${v.type} ${v.watcher} rev ${v.revision} ${v.key ?? ""}: ${v.detail}`)
            .join("; "),
    },
  ];
  return {
    title: `jepsen-lite: ${r.options.target}, ${r.options.nodes} nodes, nemesis ${r.options.nemesis.join(",") || "none"}, seed ${r.options.seed}`,
    options: { ...r.options, nemesis: r.options.nemesis.join(",") },
    valid: r.valid,
    durationMs: r.durationMs,
    history: merged,
    faults: r.faults.map((f) => ({ kind: f.kind, detail: f.detail, start: f.start, end: f.end })),
    checks,
    counts: r.counts,
  };
}
