/**
 * DefaultPreemption in the manner of kube's default_preemption_test.go: eligibility, candidates
 * and the FitError message, victims and reprieves, PodDisruptionBudgets, the node choice criteria,
 * the bounded search from a random offset, the preemption's API calls, and InterPodAffinity's
 * PreFilter extensions used on cloned state.
 */
import type { Pod, PodDisruptionBudget } from "@skiff/api";
import t from "tap";
import { CycleState } from "../../src/framework/cycle-state.js";
import type { FilterPlugin, NodeToStatus, PreFilterPlugin } from "../../src/framework/interface.js";
import type { NodeInfo } from "../../src/framework/node-info.js";
import { PodInfo } from "../../src/framework/pod-info.js";
import { Status } from "../../src/framework/status.js";
import {
  type DefaultPreemption,
  defaultPreemptionArgs,
  New,
  pickOneNodeForPreemption,
  type Victims,
} from "../../src/plugins/defaultpreemption/index.js";
import { New as NewInterPodAffinity } from "../../src/plugins/interpodaffinity/index.js";
import { fakeHandle, makeNode, makePod, nodeInfo } from "../fixtures.js";
import { HOST, term } from "./topology-helpers.js";

const NOW = 1_700_000_000_000;

/** A pod bound to `node`, with `cpu` requested and a priority. */
function running(
  name: string,
  node: string,
  cpu: string,
  priority: number,
  opts: { labels?: Record<string, string>; startTime?: number } = {},
): Pod {
  const p = makePod(name, {
    nodeName: node,
    priority,
    requests: { cpu },
    ...(opts.labels ? { labels: opts.labels } : {}),
  });
  if (opts.startTime !== undefined)
    p.status = { ...p.status, startTime: new Date(opts.startTime).toISOString() };
  return p;
}

const preemptor = (cpu: string, priority: number, extra: Partial<Pod["spec"]> = {}) =>
  makePod("preemptor", { priority, requests: { cpu }, spec: extra });

const node = (name: string, cpu = "2") =>
  makeNode(name, { allocatable: { cpu, memory: "8Gi", pods: "110" } });

/** NodeResourcesFit's cpu check, enough to drive preemption. */
function cpuFit(pod: Pod, ni: NodeInfo): Status | undefined {
  const want = new PodInfo(pod).requests.milliCPU;
  return ni.requested.milliCPU + want > ni.allocatable.milliCPU
    ? Status.unschedulable("Insufficient cpu")
    : undefined;
}

type Extra = PreFilterPlugin & FilterPlugin;

/**
 * A handle whose runFilterPlugins and PreFilter extensions run cpuFit and the given plugins, as
 * the framework runtime does; `filtered` is the NodeToStatus of the failed scheduling attempt.
 */
function setup(
  nodeInfos: NodeInfo[],
  opts: {
    pdbs?: PodDisruptionBudget[];
    args?: Record<string, unknown>;
    plugins?: (h: ReturnType<typeof fakeHandle>) => Extra[];
    unresolvable?: string[];
    patch?: boolean;
  } = {},
) {
  const handle = fakeHandle(nodeInfos, { pdbs: () => opts.pdbs ?? [], now: () => NOW });
  const plugins = opts.plugins?.(handle) ?? [];
  const active = (s: CycleState) => plugins.filter((p) => !s.skipFilterPlugins.has(p.name));
  handle.runFilterPlugins = (state, pod, ni) => {
    const s = cpuFit(pod, ni);
    if (s !== undefined) return s;
    for (const p of active(state)) {
      const r = p.filter(state, pod, ni);
      if (r !== undefined && !r.isSuccess()) return r;
    }
    return undefined;
  };
  handle.runPreFilterExtensionAddPod = (state, pod, pi, ni) => {
    for (const p of active(state)) {
      const r = p.preFilterExtensions?.()?.addPod(state, pod, pi, ni);
      if (r !== undefined && !r.isSuccess()) return r;
    }
    return undefined;
  };
  handle.runPreFilterExtensionRemovePod = (state, pod, pi, ni) => {
    for (const p of active(state)) {
      const r = p.preFilterExtensions?.()?.removePod(state, pod, pi, ni);
      if (r !== undefined && !r.isSuccess()) return r;
    }
    return undefined;
  };
  if (opts.patch)
    handle.api.patchPodCondition = async (pod, c) => {
      handle.calls.push(`condition ${pod.metadata.name} ${String(c.type)} ${String(c.reason)}`);
    };
  const pl = New({ getOffsetRand: () => 0, ...opts.args }, handle) as DefaultPreemption;

  /** The scheduling attempt before PostFilter: PreFilter, then Filter on every node. */
  const attempt = (pod: Pod): { state: CycleState; statuses: NodeToStatus } => {
    const state = new CycleState();
    const nodes = handle.snapshotSharedLister().nodeInfos().list();
    for (const p of plugins) {
      const { status } = p.preFilter(state, pod, nodes);
      if (status?.isSkip()) state.skipFilterPlugins.add(p.name);
    }
    const statuses: NodeToStatus = new Map();
    for (const ni of nodes) {
      const s = opts.unresolvable?.includes(ni.name)
        ? Status.unresolvable("node(s) didn't match Pod's node affinity/selector")
        : handle.runFilterPlugins(state, pod, ni);
      if (s !== undefined && !s.isSuccess()) statuses.set(ni.name, s);
    }
    return { state, statuses };
  };
  const preempt = async (pod: Pod) => {
    const { state, statuses } = attempt(pod);
    return { ...(await pl.postFilter(state, pod, statuses)), state };
  };
  return { handle, pl, attempt, preempt };
}

t.test("PostFilter: eligibility and the FitError message", async (t) => {
  const nodes = ["n1", "n2", "n3", "n4", "n5"].map((n) =>
    nodeInfo(node(n), running(`${n}-high`, n, "2", 1000)),
  );
  const { handle, preempt } = setup(nodes, { unresolvable: ["n2", "n3", "n4", "n5"] });

  const never = await preempt(preemptor("1", 100, { preemptionPolicy: "Never" }));
  t.equal(never.result, undefined, "Never: the nomination is left alone");
  t.equal(never.status?.codeName(), "Unschedulable");
  t.equal(never.status?.message(), "preemption: not eligible due to preemptionPolicy=Never.");

  const none = await preempt(preemptor("1", 100));
  t.same(none.result, { nominatedNodeName: "" });
  t.equal(none.status?.codeName(), "Unschedulable");
  t.equal(
    none.status?.message(),
    "preemption: 0/5 nodes are available: 1 No preemption victims found for incoming pod, 4 Preemption is not helpful for scheduling.",
  );
  t.same(handle.calls, [], "no API calls when preemption cannot help");

  // A node where even removing every lower-priority pod is not enough keeps its Filter reason.
  const small = setup([nodeInfo(node("n1", "1"), running("low", "n1", "1", 1))]);
  const big = await small.preempt(preemptor("2", 100));
  t.equal(big.status?.message(), "preemption: 0/1 nodes are available: 1 Insufficient cpu.");
});

t.test("PostFilter: a terminating victim on the nominated node blocks a second preemption", async (t) => {
  const victim = running("low", "n1", "2", 1);
  victim.metadata.deletionTimestamp = new Date(NOW).toISOString();
  victim.status = {
    ...victim.status,
    conditions: [{ type: "DisruptionTarget", status: "True", reason: "PreemptionByScheduler" }],
  };
  const { preempt } = setup([
    nodeInfo(node("n1"), victim),
    nodeInfo(node("n2"), running("low2", "n2", "2", 1)),
  ]);
  const pod = preemptor("1", 100);
  pod.status = { nominatedNodeName: "n1" };
  const r = await preempt(pod);
  t.equal(r.status?.message(), "preemption: not eligible due to a terminating pod on the nominated node.");
});

t.test("PostFilter: picks a node, deletes its victims, nominates the pod", async (t) => {
  const n1 = nodeInfo(node("n1"), running("n1-mid", "n1", "2", 10));
  const n2 = nodeInfo(node("n2"), running("n2-low", "n2", "2", 5));
  const n3 = nodeInfo(node("n3"), running("n3-high", "n3", "2", 500));
  const { handle, preempt } = setup([n1, n2, n3], { patch: true });
  // A lower-priority pod nominated to n2 loses its nomination; a higher-priority one keeps it.
  const nominatedLow = makePod("nominated-low", { priority: 1 });
  nominatedLow.status = { nominatedNodeName: "n2" };
  const nominatedHigh = makePod("nominated-high", { priority: 1000 });
  nominatedHigh.status = { nominatedNodeName: "n2" };
  handle.podNominator.addNominatedPod(new PodInfo(nominatedLow), "n2");
  handle.podNominator.addNominatedPod(new PodInfo(nominatedHigh), "n2");
  const pod = preemptor("2", 100);
  const r = await preempt(pod);
  t.same(r.result, { nominatedNodeName: "n2" }, "the node whose victim has the lowest priority");
  t.ok(r.status?.isSuccess());
  t.same(handle.calls, [
    "condition n2-low DisruptionTarget PreemptionByScheduler",
    "delete default/n2-low",
    `event Normal Preempted Preempted by pod ${pod.metadata.uid} on node n2`,
    "nominate default/nominated-low ",
    "nominate default/preemptor n2",
  ]);
  t.equal(n2.pods.length, 1, "the snapshot's NodeInfo was not changed by the dry run");
});

t.test("SelectVictimsOnNode: the fewest, least important victims", async (t) => {
  const n1 = nodeInfo(
    node("n1", "4"),
    running("high", "n1", "1", 50),
    running("low-big", "n1", "2", 1, { startTime: NOW - 2000 }),
    running("low-small", "n1", "1", 1, { startTime: NOW - 1000 }),
  );
  const { pl, attempt } = setup([n1]);
  const pod = preemptor("2", 100);
  const { state } = attempt(pod);
  const got = pl.selectVictimsOnNode(state.clone(), pod, n1.clone(), []);
  t.ok(got.status.isSuccess());
  t.same(
    got.victims.map((p) => p.metadata.name),
    ["low-big"],
    "high and then low-big (older) are reprieved first; low-big cannot stay, low-small can",
  );
  t.equal(n1.pods.length, 3);
});

const pdb = (name: string, labels: Record<string, string>, allowed: number): PodDisruptionBudget => ({
  apiVersion: "policy/v1",
  kind: "PodDisruptionBudget",
  metadata: { name, namespace: "default" },
  spec: { selector: { matchLabels: labels } },
  status: { disruptionsAllowed: allowed },
});

t.test("PodDisruptionBudgets are respected where possible", async (t) => {
  const guarded = (name: string, n: string) => running(name, n, "2", 1, { labels: { app: "guarded" } });
  const budgets = [pdb("guard", { app: "guarded" }, 0)];

  const two = setup(
    [nodeInfo(node("n1"), guarded("g1", "n1")), nodeInfo(node("n2"), running("free", "n2", "2", 1))],
    {
      pdbs: budgets,
    },
  );
  const r = await two.preempt(preemptor("2", 100));
  t.same(r.result, { nominatedNodeName: "n2" }, "the node whose victim violates no PDB");
  t.ok(two.handle.calls.includes("delete default/free"));

  const one = setup([nodeInfo(node("n1"), guarded("g1", "n1"))], { pdbs: budgets });
  const r1 = await one.preempt(preemptor("2", 100));
  t.same(r1.result, { nominatedNodeName: "n1" }, "violated when there is no other way");
  t.ok(one.handle.calls.includes("delete default/g1"));

  // Within a node, PDB-protected pods are reprieved first.
  const n1 = nodeInfo(node("n1", "4"), guarded("g1", "n1"), running("free", "n1", "2", 1));
  const mixed = setup([n1], { pdbs: budgets });
  const pod = preemptor("2", 100);
  const sel = mixed.pl.selectVictimsOnNode(mixed.attempt(pod).state, pod, n1.clone(), budgets);
  t.same(
    sel.victims.map((p) => p.metadata.name),
    ["free"],
  );
  t.equal(sel.numPDBViolations, 0);

  // disruptionsAllowed 1 covers one pod; pods already in disruptedPods are not counted again.
  const roomy = pdb("guard", { app: "guarded" }, 1);
  const n = nodeInfo(node("n1", "4"), guarded("g1", "n1"), guarded("g2", "n1"));
  const s2 = setup([n], { pdbs: [roomy] });
  const big = preemptor("4", 100);
  const both = s2.pl.selectVictimsOnNode(s2.attempt(big).state, big, n.clone(), [roomy]);
  t.equal(both.numPDBViolations, 1, "the second guarded victim exceeds the budget");
  const disrupted = {
    ...roomy,
    status: { disruptionsAllowed: 1, disruptedPods: { g1: "2024-01-01T00:00:00Z" } },
  };
  const again = s2.pl.selectVictimsOnNode(s2.attempt(big).state, big, n.clone(), [disrupted]);
  t.equal(again.numPDBViolations, 0, "g1 was already counted by the API server");
});

t.test("pickOneNodeForPreemption: kube's criteria in order", async (t) => {
  const p = (name: string, priority: number, startTime?: number) => {
    const pod = makePod(name, { priority });
    if (startTime !== undefined) pod.status = { startTime: new Date(startTime).toISOString() };
    return pod;
  };
  const v = (numPDBViolations: number, ...pods: Pod[]): Victims => ({ pods, numPDBViolations });
  const cases: { name: string; victims: [string, Victims][]; want: string }[] = [
    {
      name: "fewest PDB violations",
      victims: [
        ["a", v(1, p("x", 1))],
        ["b", v(0, p("y", 100))],
      ],
      want: "b",
    },
    {
      name: "lowest highest-priority victim",
      victims: [
        ["a", v(0, p("x", 10))],
        ["b", v(0, p("y", 5), p("z", 5))],
      ],
      want: "b",
    },
    {
      name: "smallest sum of priorities",
      victims: [
        ["a", v(0, p("x", 10), p("x2", 9))],
        ["b", v(0, p("y", 10), p("y2", 1))],
      ],
      want: "b",
    },
    {
      name: "negative priorities are offset: fewer pods make the smaller sum",
      victims: [
        ["a", v(0, p("x", -5), p("x2", -5))],
        ["b", v(0, p("y", -5))],
      ],
      want: "b",
    },
    {
      name: "more victims make a larger sum",
      victims: [
        ["a", v(0, p("x", 10), p("x2", 0), p("x3", 0))],
        ["b", v(0, p("y", 10), p("y2", 0))],
      ],
      want: "b",
    },
    {
      name: "latest start of the highest-priority victims",
      victims: [
        ["a", v(0, p("x", 10, NOW - 5000))],
        ["b", v(0, p("y", 10, NOW - 1000))],
      ],
      want: "b",
    },
    {
      name: "a tie: the first node",
      victims: [
        ["a", v(0, p("x", 10, NOW))],
        ["b", v(0, p("y", 10, NOW))],
      ],
      want: "a",
    },
  ];
  for (const c of cases) t.equal(pickOneNodeForPreemption(new Map(c.victims), NOW), c.want, c.name);
});

t.test("the search is bounded and starts at the injected offset", async (t) => {
  const nodes = Array.from({ length: 10 }, (_, i) =>
    nodeInfo(node(`n${i}`), running(`v${i}`, `n${i}`, "2", 1)),
  );
  const { pl, attempt } = setup(nodes, {
    args: { minCandidateNodesPercentage: 10, minCandidateNodesAbsolute: 2, getOffsetRand: () => 3 },
  });
  const pod = preemptor("2", 100);
  const { state, statuses } = attempt(pod);
  const all = pl.evaluator.findCandidates(state, nodes, pod, statuses);
  t.same(
    all.candidates.map((c) => c.name),
    ["n3", "n4"],
    "two candidates, from offset 3",
  );

  const calc = (pct: number, abs: number, n: number) =>
    (
      New(
        { minCandidateNodesPercentage: pct, minCandidateNodesAbsolute: abs },
        fakeHandle([]),
      ) as DefaultPreemption
    ).calculateNumCandidates(n);
  t.equal(calc(10, 100, 5000), 500);
  t.equal(calc(10, 100, 500), 100);
  t.equal(calc(10, 100, 50), 50);
  t.equal(calc(40, 1, 10), 4);

  t.throws(
    () => defaultPreemptionArgs({ minCandidateNodesPercentage: 101 }),
    /not in valid range \[0, 100\]/,
  );
  t.throws(() => defaultPreemptionArgs({ minCandidateNodesAbsolute: -1 }), /not in valid range \[0, inf\)/);
  t.throws(
    () => defaultPreemptionArgs({ minCandidateNodesPercentage: 0, minCandidateNodesAbsolute: 0 }),
    /cannot be zero/,
  );
});

t.test(
  "InterPodAffinity on cloned state: evicting the pod the preemptor's anti-affinity avoids",
  async (t) => {
    const web = running("web", "n1", "1", 1, { labels: { app: "web" } });
    const n1 = nodeInfo(node("n1", "4"), web, running("other", "n1", "1", 1));
    const { handle, preempt } = setup([n1], {
      plugins: (h) => [NewInterPodAffinity(undefined, h) as Extra],
    });
    const pod = preemptor("1", 100, {
      affinity: {
        podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term({ app: "web" }, HOST)] },
      },
    });
    const r = await preempt(pod);
    t.same(r.result, { nominatedNodeName: "n1" });
    t.ok(handle.calls.includes("delete default/web"), "the matching pod is the victim");
    t.notOk(handle.calls.includes("delete default/other"), "the other pod is reprieved");
    const status = handle.runFilterPlugins(r.state, pod, n1);
    t.match(status?.message(), /anti-affinity/, "the scheduling cycle's own state was not changed");
  },
);
