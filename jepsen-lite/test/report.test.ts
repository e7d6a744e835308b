import t from "tap";
import type { Op, OpType } from "../src/check/history.js";
import { MAX_LANES, type ReportInput, renderReport } from "../src/report.js";

const count = (text: string, needle: string) => text.split(needle).length - 1;

/** Builds a history from events with explicit times, assigning indexes in order. */
const events = (list: ReadonlyArray<[number, OpType, string, unknown, number]>): Op[] =>
  list.map(([process, type, f, value, time], index) => ({ process, type, f, key: "x", value, time, index }));

const evil = "<script>alert('x&y')</script>";

function smallInput(): ReportInput {
  const history = events([
    [0, "invoke", "write", 1, 0],
    [1, "invoke", "read", null, 50],
    [0, "ok", "write", 1, 120],
    [1, "fail", "read", null, 300],
    [2, "invoke", "write", evil, 900],
    [0, "invoke", "cas", [1, 2], 1000],
    [2, "info", "write", evil, 2500],
    [0, "ok", "cas", [1, 2], 1100],
    [1, "invoke", "read", null, 2600], // never completes
  ]);
  const bad = history[4];
  const badDone = history[6];
  if (bad === undefined || badDone === undefined) throw new Error("fixture");
  return {
    title: 'Skiff <register> & "friends"',
    options: { nodes: 3, workload: "register", nemesis: ["kill", "partition"] },
    valid: false,
    durationMs: 3000,
    history,
    faults: [
      { kind: "partition", detail: "n1 | n2 n3", start: 400, end: 1500 },
      { kind: "kill", detail: "n2", start: 2000, end: undefined },
    ],
    checks: [
      { name: "linearizable", valid: false, summary: "no linearization of read", slice: [bad, badDone] },
      { name: "durability", valid: true, summary: "all acknowledged writes survived" },
      { name: "watch", valid: "unknown", summary: "search budget exhausted" },
    ],
    counts: { invoke: 5, ok: 2, fail: 1, info: 1 },
  };
}

t.test("a small run renders a self-contained, escaped, deterministic page", async (t) => {
  const input = smallInput();
  const html = renderReport(input);
  t.ok(html.startsWith("<!DOCTYPE html>"), "doctype first");
  t.notMatch(html, /https?:\/\//, "no URLs at all");
  t.notMatch(html, /\b(src|href)\s*=/i, "no external resources");
  t.notMatch(html, /<script/i, "no script tag, from data or otherwise");
  t.match(html, "&lt;script&gt;alert(&#39;x&amp;y&#39;)&lt;/script&gt;", "data value escaped");
  t.match(html, "Skiff &lt;register&gt; &amp; &quot;friends&quot;", "title escaped");

  const bars = count(html, '<rect class="ok"') + count(html, '<rect class="fail"');
  const infoBars = count(html, '<rect class="info"');
  t.equal(bars, 3, "two ok writes/cas and one failed read");
  t.equal(infoBars, 2, "the info write and the read that never completed");
  t.equal(count(html, '<rect class="fault"'), 2 * input.faults.length, "faults shaded in both plots");
  t.equal(count(html, "<rect"), 5 + 2 * input.faults.length, "nothing else is a rect");
  t.match(html, "read x null -&gt; info (no completion)", "pending op tooltip");
  t.match(html, "write x 1 -&gt; ok 1", "completed op tooltip");
  t.equal(count(html, "<circle"), 4, "one latency dot per completed op");

  t.match(html, '<div class="verdict invalid">invalid</div>', "verdict");
  t.match(html, "<h2>Failing slice: linearizable</h2>", "slice heading");
  t.notMatch(html, "Failing slice: durability");
  t.match(html, '<td class="v-unknown">unknown</td>');
  t.equal(count(html, "<svg"), count(html, "</svg>"));
  t.equal(count(html, "<svg"), 2);
  t.ok(count(html, "<title>") >= 2 + 1, "svg titles");
  t.equal(renderReport(smallInput()), html, "deterministic");
});

t.test("a valid run says so", async (t) => {
  const html = renderReport({ ...smallInput(), valid: true, checks: [] });
  t.match(html, '<div class="verdict valid">valid</div>');
  t.notMatch(html, "Failing slice");
});

t.test("lanes are capped and the truncation is stated", async (t) => {
  const n = MAX_LANES + 5;
  const list: Array<[number, OpType, string, unknown, number]> = [];
  for (let p = n - 1; p >= 0; p--) list.push([p, "invoke", "read", null, p], [p, "ok", "read", 0, p + 10]);
  const html = renderReport({ ...smallInput(), history: events(list), faults: [] });
  t.equal(count(html, '<rect class="ok"'), MAX_LANES);
  t.match(html, `showing ${MAX_LANES} of ${n} processes`);
  t.match(html, ">p0</text>", "lowest processes are kept");
  t.notMatch(html, `>p${n - 1}</text>`);
});

t.test("30,000 operations stay bounded and fast", async (t) => {
  const list: Array<[number, OpType, string, unknown, number]> = [];
  const processes = 50;
  for (let i = 0; i < 30_000; i++) {
    const p = i % processes;
    const start = Math.floor(i / processes) * 100 + p;
    const outcome: OpType = i % 97 === 0 ? "info" : i % 13 === 0 ? "fail" : "ok";
    list.push([p, "invoke", "write", i, start], [p, outcome, "write", i, start + 1 + (i % 90)]);
  }
  const history = events(list);
  const input: ReportInput = {
    ...smallInput(),
    history,
    durationMs: 60_100,
    faults: [{ kind: "pause", detail: "n1", start: 10_000, end: 20_000 }],
  };
  const started = performance.now();
  const html = renderReport(input);
  const elapsed = performance.now() - started;
  const bytes = Buffer.byteLength(html);
  t.ok(bytes < 8 * 1024 * 1024, `size ${bytes} bytes`);
  t.comment(`rendered in ${Math.round(elapsed)} ms`); // a figure: the machine's speed, not the report's
  t.equal(count(html, "<rect") - 2, 30_000, "every op drawn in the timeline");
  t.ok(count(html, "<circle") <= 20_000, "latency plot sampled");
  t.match(html, "Sampled: 1 in every 2 of 30000");
});
