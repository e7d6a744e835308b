/**
 * Renders a Jepsen-style run as one self-contained HTML page: verdicts, options, counts, a
 * per-process timeline, a latency scatter and the failing slices of history. The page needs no
 * network and no JavaScript (inline CSS and inline SVG only) and is a pure function of its input.
 */
import type { Op } from "./check/history.js";

export interface ReportFault {
  /** "kill" | "pause" | "partition" | "membership" ... */
  kind: string;
  detail: string;
  /** Ms since run start, same clock as `Op.time`. */
  start: number;
  /** Undefined when the fault was still active at the end of the run. */
  end: number | undefined;
}

export interface ReportCheck {
  name: string;
  valid: boolean | "unknown";
  /** One line. */
  summary: string;
  /** For a failure: the smallest bad slice of history, shown as a table. */
  slice?: Op[];
}

export interface ReportInput {
  title: string;
  options: Record<string, unknown>;
  valid: boolean;
  durationMs: number;
  history: Op[];
  faults: ReportFault[];
  checks: ReportCheck[];
  counts: Record<string, number>;
}

type Outcome = "ok" | "fail" | "info";

/** One operation as drawn: an invoke and its completion (if any). */
interface Bar {
  process: number;
  invoke: Op;
  complete: Op | undefined;
  outcome: Outcome;
}

/** The shared time axis of both plots. */
interface Axis {
  left: number;
  width: number;
  span: number;
}

/** At most this many lanes are drawn in the timeline. */
export const MAX_LANES = 200;
/** Above this many completed operations the latency plot draws every k-th one. */
export const MAX_LATENCY_DOTS = 20_000;

const PLOT_WIDTH = 1100;
const LEFT = 60;
const LANE_HEIGHT = 10;
const TOP = 24;
const AXIS_HEIGHT = 28;
const LATENCY_HEIGHT = 300;
const TOOLTIP_VALUE_CHARS = 120;
const SLICE_VALUE_CHARS = 2000;

const STYLE = `
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#222;background:#fff}
h1{margin:0 0 8px}h2{margin:28px 0 8px;font-size:1.2em}
.verdict{font-size:3em;font-weight:700;margin:8px 0 16px}
.verdict.valid{color:#2e9d4a}.verdict.invalid{color:#c9302c}
table{border-collapse:collapse;font-size:13px;margin:4px 0}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}
td.v-true{color:#2e9d4a;font-weight:600}td.v-false{color:#c9302c;font-weight:600}
td.v-unknown{color:#b7791f;font-weight:600}
code,td.json{font-family:ui-monospace,Menlo,Consolas,monospace;white-space:pre-wrap;word-break:break-all}
.note{color:#666;font-size:13px}
svg{display:block;margin:4px 0;font-size:10px;font-family:ui-monospace,Menlo,Consolas,monospace}
svg .ok{fill:#2e9d4a}svg .fail{fill:#d9534f}svg .info{fill:#f0a020}
svg .fault{fill:#6c5ce7;fill-opacity:.15;stroke:#6c5ce7;stroke-opacity:.4}
svg .flabel{fill:#4b3bbf}svg .axis{stroke:#888}svg .grid{stroke:#e6e6e6}svg text{fill:#444}
svg circle{fill-opacity:.6}
`;

/** Escapes text for HTML element content and double- or single-quoted attributes. */
export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

/** JSON for display; never throws (bigint, cycles, undefined). */
function toJson(value: unknown): string {
  try {
    const s = JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? `${v}n` : v));
    return s ?? String(value);
  } catch {
    return String(value);
  }
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}

/** A coordinate with at most one decimal, so output is compact and stable. */
function num(n: number): string {
  return String(Math.round(n * 10) / 10);
}

function formatMs(ms: number): string {
  if (ms >= 1000) return `${num(ms / 1000)}s`;
  return `${num(ms)}ms`;
}

// ---------------------------------------------------------------------------------------------
// Pairing

/**
 * Pairs each invoke with the next completion of the same process in index order. Unlike
 * `pairOps` this never throws: a report must render even a malformed history.
 */
function pairBars(history: readonly Op[]): Bar[] {
  const ops = [...history].sort((a, b) => a.index - b.index);
  const pending = new Map<number, Bar>();
  const bars: Bar[] = [];
  for (const op of ops) {
    if (op.type === "invoke") {
      const bar: Bar = { process: op.process, invoke: op, complete: undefined, outcome: "info" };
      pending.set(op.process, bar);
      bars.push(bar);
      continue;
    }
    const bar = pending.get(op.process);
    if (bar === undefined) continue;
    bar.complete = op;
    bar.outcome = op.type;
    pending.delete(op.process);
  }
  return bars;
}

function runEnd(input: ReportInput): number {
  let end = input.durationMs;
  for (const op of input.history) end = Math.max(end, op.time);
  for (const f of input.faults) end = Math.max(end, f.start, f.end ?? 0);
  return Math.max(end, 1);
}

// ---------------------------------------------------------------------------------------------
// Shared SVG pieces

function x(axis: Axis, t: number): number {
  const clamped = Math.min(Math.max(t, 0), axis.span);
  return axis.left + (clamped / axis.span) * axis.width;
}

/** Whole-second tick spacing giving at most ~20 ticks. */
function tickStepMs(span: number): number {
  const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400];
  for (const s of steps) if (span / (s * 1000) <= 20) return s * 1000;
  return Math.ceil(span / 20 / 86_400_000) * 86_400_000;
}

/** Second ticks with grid lines spanning `top..bottom`, labels below `bottom`. */
function timeAxis(axis: Axis, top: number, bottom: number): string {
  const step = tickStepMs(axis.span);
  const parts = [
    `<line class="axis" x1="${axis.left}" y1="${bottom}" x2="${axis.left + axis.width}" y2="${bottom}"/>`,
  ];
  for (let t = 0; t <= axis.span; t += step) {
    const px = num(x(axis, t));
    parts.push(
      `<line class="grid" x1="${px}" y1="${top}" x2="${px}" y2="${bottom}"/>`,
      `<text x="${px}" y="${bottom + 14}" text-anchor="middle">${t / 1000}s</text>`,
    );
  }
  return parts.join("");
}

function faultTitle(f: ReportFault): string {
  const end = f.end === undefined ? "end of run" : formatMs(f.end);
  return `${f.kind}: ${f.detail} (${formatMs(f.start)} – ${end})`;
}

/** Translucent rectangles (one per fault) covering `top..bottom`, with a kind label. */
function faultShading(faults: readonly ReportFault[], axis: Axis, top: number, bottom: number): string {
  return faults
    .map((f) => {
      const x1 = x(axis, f.start);
      const x2 = x(axis, f.end ?? axis.span);
      const w = num(Math.max(x2 - x1, 1));
      return (
        `<rect class="fault" x="${num(x1)}" y="${top}" width="${w}" height="${bottom - top}">` +
        `<title>${escapeHtml(faultTitle(f))}</title></rect>` +
        `<text class="flabel" x="${num(x1 + 2)}" y="${top - 4}">${escapeHtml(f.kind)}</text>`
      );
    })
    .join("");
}

function svg(label: string, width: number, height: number, body: string): string {
  return (
    `<svg role="img" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">` +
    `<title>${escapeHtml(label)}</title>${body}</svg>`
  );
}

// ---------------------------------------------------------------------------------------------
// Timeline

function barTitle(bar: Bar): string {
  const key = bar.invoke.key ?? "";
  const value = truncate(toJson(bar.invoke.value), TOOLTIP_VALUE_CHARS);
  const result =
    bar.complete === undefined
      ? "(no completion)"
      : truncate(toJson(bar.complete.value), TOOLTIP_VALUE_CHARS);
  return `${bar.invoke.f} ${key} ${value} -> ${bar.outcome} ${result}`;
}

function barRect(bar: Bar, lane: number, axis: Axis): string {
  const x1 = x(axis, bar.invoke.time);
  const x2 = x(axis, bar.complete?.time ?? axis.span);
  const y = TOP + lane * LANE_HEIGHT + 1;
  return (
    `<rect class="${bar.outcome}" x="${num(x1)}" y="${y}" width="${num(Math.max(x2 - x1, 0.5))}" ` +
    `height="${LANE_HEIGHT - 2}"><title>${escapeHtml(barTitle(bar))}</title></rect>`
  );
}

function laneLabels(processes: readonly number[]): string {
  return processes
    .map(
      (p, i) =>
        `<text x="${LEFT - 4}" y="${TOP + i * LANE_HEIGHT + LANE_HEIGHT - 2}" text-anchor="end">p${p}</text>`,
    )
    .join("");
}

function renderTimeline(input: ReportInput, bars: readonly Bar[], axis: Axis): string {
  const all = [...new Set(bars.map((b) => b.process))].sort((a, b) => a - b);
  const shown = all.slice(0, MAX_LANES);
  const lane = new Map(shown.map((p, i) => [p, i]));
  const bottom = TOP + Math.max(shown.length, 1) * LANE_HEIGHT;
  const rects = bars
    .filter((b) => lane.has(b.process))
    .map((b) => barRect(b, lane.get(b.process) ?? 0, axis))
    .join("");
  const body =
    timeAxis(axis, TOP, bottom) + laneLabels(shown) + rects + faultShading(input.faults, axis, TOP, bottom);
  const note =
    all.length > shown.length
      ? `<p class="note">Timeline truncated: showing ${shown.length} of ${all.length} processes.</p>`
      : "";
  const height = bottom + AXIS_HEIGHT;
  const label = `Timeline of ${bars.length} operations over ${all.length} processes`;
  return `<h2>Timeline</h2>${note}${svg(label, axis.left + axis.width + 20, height, body)}`;
}

// ---------------------------------------------------------------------------------------------
// Latency

interface Dot {
  t: number;
  latency: number;
  outcome: Outcome;
  f: string;
}

function latencyDots(bars: readonly Bar[]): { dots: Dot[]; total: number; every: number } {
  const done: Dot[] = [];
  for (const b of bars) {
    if (b.complete === undefined) continue;
    const latency = Math.max(b.complete.time - b.invoke.time, 0);
    done.push({ t: b.invoke.time, latency, outcome: b.outcome, f: b.invoke.f });
  }
  const every = Math.max(1, Math.ceil(done.length / MAX_LATENCY_DOTS));
  const dots = every === 1 ? done : done.filter((_d, i) => i % every === 0);
  return { dots, total: done.length, every };
}

/** A log10 scale over whole decades covering the latencies (floor 0.1 ms). */
function latencyDecades(dots: readonly Dot[]): { lo: number; hi: number } {
  let min = Number.POSITIVE_INFINITY;
  let max = 0;
  for (const d of dots) {
    if (d.latency > 0) min = Math.min(min, d.latency);
    max = Math.max(max, d.latency);
  }
  const lo = Math.floor(Math.log10(Math.max(Number.isFinite(min) ? min : 1, 0.1)));
  const hi = Math.max(Math.ceil(Math.log10(Math.max(max, 0.1))), lo + 1);
  return { lo, hi };
}

function latencyY(latency: number, lo: number, hi: number): number {
  const l = Math.log10(Math.max(latency, 10 ** lo));
  return TOP + LATENCY_HEIGHT - ((l - lo) / (hi - lo)) * LATENCY_HEIGHT;
}

function latencyAxis(axis: Axis, lo: number, hi: number): string {
  const parts: string[] = [];
  for (let d = lo; d <= hi; d++) {
    const y = num(latencyY(10 ** d, lo, hi));
    parts.push(
      `<line class="grid" x1="${axis.left}" y1="${y}" x2="${axis.left + axis.width}" y2="${y}"/>`,
      `<text x="${axis.left - 4}" y="${y}" text-anchor="end" dominant-baseline="middle">${formatMs(10 ** d)}</text>`,
    );
  }
  const bottom = TOP + LATENCY_HEIGHT;
  parts.push(`<line class="axis" x1="${axis.left}" y1="${TOP}" x2="${axis.left}" y2="${bottom}"/>`);
  return parts.join("");
}

function dotCircle(d: Dot, axis: Axis, lo: number, hi: number): string {
  const cx = num(x(axis, d.t));
  const cy = num(latencyY(d.latency, lo, hi));
  return `<circle class="${d.outcome}" cx="${cx}" cy="${cy}" r="2"><title>${escapeHtml(d.f)} ${d.outcome} ${num(d.latency)}ms</title></circle>`;
}

function renderLatency(input: ReportInput, bars: readonly Bar[], axis: Axis): string {
  const { dots, total, every } = latencyDots(bars);
  const { lo, hi } = latencyDecades(dots);
  const bottom = TOP + LATENCY_HEIGHT;
  const body =
    faultShading(input.faults, axis, TOP, bottom) +
    latencyAxis(axis, lo, hi) +
    timeAxis(axis, bottom, bottom) +
    dots.map((d) => dotCircle(d, axis, lo, hi)).join("");
  const note =
    every > 1 ? `<p class="note">Sampled: 1 in every ${every} of ${total} completed operations.</p>` : "";
  const label = `Latency (log scale) of ${total} completed operations by invoke time`;
  return `<h2>Latency</h2>${note}${svg(label, axis.left + axis.width + 20, bottom + AXIS_HEIGHT, body)}`;
}

// ---------------------------------------------------------------------------------------------
// Tables

function table(headers: readonly string[], rows: readonly string[]): string {
  const head = headers.map((h) => `<th>${escapeHtml(h)}</th>`).join("");
  return `<table><thead><tr>${head}</tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

function optionsTable(options: Record<string, unknown>): string {
  const rows = Object.entries(options).map(([k, v]) => {
    const text = typeof v === "string" ? v : toJson(v);
    return `<tr><td>${escapeHtml(k)}</td><td class="json">${escapeHtml(text)}</td></tr>`;
  });
  return `<h2>Options</h2>${table(["option", "value"], rows)}`;
}

function countsTable(counts: Record<string, number>): string {
  const rows = Object.entries(counts).map(
    ([k, v]) => `<tr><td>${escapeHtml(k)}</td><td class="num">${escapeHtml(String(v))}</td></tr>`,
  );
  return `<h2>Operation counts</h2>${table(["count", "n"], rows)}`;
}

function checksTable(checks: readonly ReportCheck[]): string {
  const rows = checks.map((c) => {
    const v = String(c.valid);
    return (
      `<tr><td>${escapeHtml(c.name)}</td><td class="v-${v}">${v}</td>` +
      `<td>${escapeHtml(c.summary)}</td></tr>`
    );
  });
  return `<h2>Checks</h2>${table(["checker", "valid", "summary"], rows)}`;
}

function sliceRow(op: Op): string {
  const cells = [String(op.index), String(op.time), String(op.process), op.type, op.f, op.key ?? ""];
  const value = truncate(toJson(op.value), SLICE_VALUE_CHARS);
  return `<tr>${cells.map((c) => `<td>${escapeHtml(c)}</td>`).join("")}<td class="json">${escapeHtml(value)}</td></tr>`;
}

function failingSlices(checks: readonly ReportCheck[]): string {
  return checks
    .filter((c) => c.valid === false && c.slice !== undefined && c.slice.length > 0)
    .map((c) => {
      const rows = [...(c.slice ?? [])].sort((a, b) => a.index - b.index).map(sliceRow);
      const headers = ["index", "time", "process", "type", "f", "key", "value"];
      return `<h2>Failing slice: ${escapeHtml(c.name)}</h2>${table(headers, rows)}`;
    })
    .join("");
}

// ---------------------------------------------------------------------------------------------
// Page

function header(input: ReportInput): string {
  const verdict = input.valid ? "valid" : "invalid";
  return (
    `<h1>${escapeHtml(input.title)}</h1>` +
    `<div class="verdict ${verdict}">${verdict}</div>` +
    `<p class="note">Duration ${escapeHtml(formatMs(input.durationMs))}, ` +
    `${input.history.length} history events, ${input.faults.length} faults.</p>`
  );
}

/** Renders the whole run as one self-contained, deterministic HTML document. */
export function renderReport(input: ReportInput): string {
  const bars = pairBars(input.history);
  const axis: Axis = { left: LEFT, width: PLOT_WIDTH, span: runEnd(input) };
  const body = [
    header(input),
    optionsTable(input.options),
    countsTable(input.counts),
    checksTable(input.checks),
    renderTimeline(input, bars, axis),
    renderLatency(input, bars, axis),
    failingSlices(input.checks),
  ].join("\n");
  return (
    `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">` +
    `<meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<title>${escapeHtml(input.title)}</title><style>${STYLE}</style></head>\n` +
    `<body>\n${body}\n</body></html>\n`
  );
}
