/**
 * The framework runtime with recording fake plugins: extension point order, status codes (Skip
 * skips Filter/Score, the first rejection wins, errors become Error statuses), score weights and
 * the 0..100 range check, reserve/unreserve on failure, permit wait and timeout, profile
 * resolution (multiPoint, per-point disable) and start-up errors for bad configuration.
 */
import type { Pod } from "@skiff/api";
import t from "tap";
import { CycleState } from "../../src/framework/cycle-state.js";
import type { Plugin, PluginFactory } from "../../src/framework/interface.js";
import { parseSchedulerConfig } from "../../src/framework/profile.js";
import { Framework } from "../../src/framework/runtime.js";
import { Code, Status } from "../../src/framework/status.js";
import { fakeHandle, makeNode, makePod, nodeInfo } from "../fixtures.js";

const calls: string[] = [];

function recorder(name: string, behave: Record<string, (node?: string) => unknown> = {}): Plugin {
  const rec =
    (point: string) =>
    (...args: unknown[]) => {
      const node = args.find((a) => typeof a === "string") as string | undefined;
      const ni = args.find((a) => typeof a === "object" && a !== null && "pods" in (a as object)) as
        | { name: string }
        | undefined;
      calls.push(`${name}.${point}${ni ? `(${ni.name})` : node ? `(${node})` : ""}`);
      return behave[point]?.(ni?.name ?? node);
    };
  return {
    name,
    // Exactly one queue sort plugin per profile: "A" plays it.
    ...(name === "A"
      ? { less: (a: { timestamp: number }, b: { timestamp: number }) => a.timestamp < b.timestamp }
      : {}),
    preFilter: (...a: unknown[]) => ({ status: rec("preFilter")(...a) as Status | undefined }),
    filter: rec("filter"),
    preScore: rec("preScore"),
    score: (...a: unknown[]) => ({ score: (rec("score")(...a) as number | undefined) ?? 10 }),
    reserve: rec("reserve"),
    unreserve: rec("unreserve"),
    permit: (...a: unknown[]) => (rec("permit")(...a) as object | undefined) ?? {},
    bind: async (...a: unknown[]) => rec("bind")(...a),
  } as unknown as Plugin;
}

function framework(plugins: Record<string, Plugin>, config: unknown): Framework {
  const registry = new Map<string, PluginFactory>(Object.entries(plugins).map(([n, p]) => [n, () => p]));
  const profile = parseSchedulerConfig(config).profiles[0];
  if (profile === undefined) throw new Error("no profile");
  return new Framework(profile, registry, fakeHandle([]));
}

const only = (names: string[], weights: Record<string, number> = {}) => ({
  profiles: [
    {
      plugins: {
        multiPoint: {
          disabled: [{ name: "*" }],
          enabled: names.map((name) => ({ name, ...(weights[name] ? { weight: weights[name] } : {}) })),
        },
      },
    },
  ],
});

const pod: Pod = makePod("p");
const n1 = nodeInfo(makeNode("n1"));
const n2 = nodeInfo(makeNode("n2"));

t.beforeEach(() => {
  calls.length = 0;
});

t.test("extension points run in profile order; Skip at PreFilter skips that plugin's Filter", async (t) => {
  const fwk = framework(
    { A: recorder("A", { preFilter: () => Status.skip() }), B: recorder("B") },
    only(["A", "B"]),
  );
  const state = new CycleState();
  t.equal(fwk.runPreFilterPlugins(state, pod, [n1, n2]).status, undefined);
  t.equal(fwk.runFilterPlugins(state, pod, n1), undefined);
  t.same(calls, ["A.preFilter", "B.preFilter", "B.filter(n1)"]);
});

t.test("the first Filter rejection wins and carries the plugin's name", async (t) => {
  const fwk = framework(
    {
      A: recorder("A", { filter: (n) => (n === "n1" ? Status.unschedulable("nope") : undefined) }),
      B: recorder("B"),
    },
    only(["A", "B"]),
  );
  const state = new CycleState();
  const s = fwk.runFilterPlugins(state, pod, n1);
  t.equal(s?.code, Code.Unschedulable);
  t.equal(s?.plugin, "A");
  t.same(s?.reasons, ["nope"]);
  t.notOk(calls.includes("B.filter(n1)"), "B is not asked once A rejected");
  t.equal(fwk.runFilterPlugins(state, pod, n2), undefined);
});

t.test("a plugin that throws gives an Error status, not a crash", async (t) => {
  const fwk = framework(
    {
      A: recorder("A", {
        filter: () => {
          throw new Error("boom");
        },
      }),
    },
    only(["A"]),
  );
  const s = fwk.runFilterPlugins(new CycleState(), pod, n1);
  t.equal(s?.code, Code.Error);
  t.match(s?.message(), /boom/);
});

t.test("scores are weighted and summed; an out-of-range score is an Error", async (t) => {
  const fwk = framework(
    { A: recorder("A", { score: (n) => (n === "n1" ? 10 : 20) }), B: recorder("B", { score: () => 50 }) },
    only(["A", "B"], { A: 3, B: 1 }),
  );
  const r = fwk.runScorePlugins(new CycleState(), pod, [n1, n2]);
  t.same(r.totals, [3 * 10 + 50, 3 * 20 + 50]);
  const bad = framework({ A: recorder("A", { score: () => 101 }) }, only(["A"]));
  const r2 = bad.runScorePlugins(new CycleState(), pod, [n1]);
  t.equal(r2.status?.code, Code.Error);
  t.match(r2.status?.message(), /invalid score 101/);
});

t.test("a failed Reserve is undone in reverse order by Unreserve", async (t) => {
  const fwk = framework(
    { A: recorder("A"), B: recorder("B", { reserve: () => Status.unschedulable("full") }) },
    only(["A", "B"]),
  );
  const state = new CycleState();
  const s = fwk.runReservePluginsReserve(state, pod, "n1");
  t.equal(s?.plugin, "B");
  fwk.runReservePluginsUnreserve(state, pod, "n1");
  t.same(calls, ["A.reserve(n1)", "B.reserve(n1)", "B.unreserve(n1)", "A.unreserve(n1)"]);
});

t.test("Permit: Wait holds the pod until allowed; a timeout rejects it", async (t) => {
  const fwk = framework(
    { A: recorder("A", { permit: () => ({ status: new Status(Code.Wait), timeoutMs: 50 }) }) },
    only(["A"]),
  );
  const state = new CycleState();
  const p1 = makePod("w1");
  t.equal(fwk.runPermitPlugins(state, p1, "n1")?.code, Code.Wait);
  const waiting = fwk.waitingPods.get(p1.metadata.uid as string);
  t.ok(waiting, "the pod waits");
  const verdict = fwk.waitOnPermit(p1);
  waiting?.allow("A");
  t.equal(await verdict, undefined, "allowed");
  const p2 = makePod("w2");
  fwk.runPermitPlugins(state, p2, "n1");
  const rejected = await fwk.waitOnPermit(p2);
  t.equal(rejected?.code, Code.Unschedulable);
  t.match(rejected?.message(), /rejected due to timeout after waiting 0.05s at plugin A/);
});

t.test("Bind: Skip passes to the next bind plugin", async (t) => {
  const fwk = framework(
    { A: recorder("A", { bind: () => Status.skip() }), B: recorder("B") },
    only(["A", "B"]),
  );
  t.equal(await fwk.runBindPlugins(new CycleState(), pod, "n1"), undefined);
  t.same(
    calls.filter((c) => c.includes("bind")),
    ["A.bind(n1)", "B.bind(n1)"],
  );
});

t.test("profile resolution: per-point disable removes a multiPoint plugin there only", async (t) => {
  const cfg = only(["A", "B"]);
  (cfg.profiles[0]?.plugins as Record<string, unknown>).filter = { disabled: [{ name: "B" }] };
  const fwk = framework({ A: recorder("A"), B: recorder("B") }, cfg);
  t.same(
    fwk.filter.map((p) => p.name),
    ["A"],
  );
  t.same(
    fwk.score.map((s) => s.plugin.name),
    ["A", "B"],
  );
});

t.test("bad configuration is a clear start-up error", async (t) => {
  t.throws(() => framework({ A: recorder("A") }, only(["A", "Nope"])), /plugin "Nope" does not exist/);
  t.throws(() => parseSchedulerConfig({ percentageOfNodesToScore: 101 }), /not in valid range \[0-100\]/);
  t.throws(
    () =>
      parseSchedulerConfig({
        apiVersion: "kubescheduler.config.k8s.io/v1beta9",
        kind: "KubeSchedulerConfiguration",
      }),
    /no kind/,
  );
  t.throws(
    () => parseSchedulerConfig({ profiles: [{ schedulerName: "a" }, { schedulerName: "a" }] }),
    /Duplicate value: "a"/,
  );
  t.throws(
    () =>
      parseSchedulerConfig({ profiles: [{ plugins: { score: { enabled: [{ name: "X", weight: -1 }] } } }] }),
    /weight/,
  );
  const noBinder = { A: { name: "A", less: () => true, filter: () => undefined } as unknown as Plugin };
  t.throws(() => framework(noBinder, only(["A"])), /at least one bind plugin/);
});
