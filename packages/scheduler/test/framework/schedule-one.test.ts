/**
 * The scheduling algorithm: kube's numFeasibleNodesToFind, the rotating window of examined nodes,
 * the FitError message (reasons counted and sorted, preemption's message appended), and a
 * nominated node tried first.
 */
import t from "tap";
import { CycleState } from "../../src/framework/cycle-state.js";
import { FitError, newDiagnosis } from "../../src/framework/fit-error.js";
import type { Plugin, PluginFactory } from "../../src/framework/interface.js";
import type { NodeInfo } from "../../src/framework/node-info.js";
import { parseSchedulerConfig } from "../../src/framework/profile.js";
import { Framework } from "../../src/framework/runtime.js";
import { Snapshot } from "../../src/framework/snapshot.js";
import { Status } from "../../src/framework/status.js";
import { numFeasibleNodesToFind, ScheduleAlgorithm } from "../../src/schedule-one.js";
import { fakeHandle, makeNode, makePod, nodeInfo } from "../fixtures.js";

t.test("numFeasibleNodesToFind follows kube's adaptive percentage", async (t) => {
  t.equal(numFeasibleNodesToFind(undefined, 50), 50);
  t.equal(numFeasibleNodesToFind(undefined, 100), 100);
  t.equal(numFeasibleNodesToFind(undefined, 1000), 420);
  t.equal(numFeasibleNodesToFind(undefined, 5000), 500);
  t.equal(numFeasibleNodesToFind(undefined, 6000), 300);
  t.equal(numFeasibleNodesToFind(5, 1000), 100, "at least 100");
  t.equal(numFeasibleNodesToFind(100, 5000), 5000);
});

function fwkWith(filter: (ni: NodeInfo) => Status | undefined, examined: string[]): Framework {
  const p = {
    name: "F",
    less: () => true,
    filter: (_s: CycleState, _p: unknown, ni: NodeInfo) => {
      examined.push(ni.name);
      return filter(ni);
    },
    score: () => ({ score: 0 }),
    bind: async () => undefined,
  } as unknown as Plugin;
  const registry = new Map<string, PluginFactory>([["F", () => p]]);
  const profile = parseSchedulerConfig({
    profiles: [{ plugins: { multiPoint: { disabled: [{ name: "*" }], enabled: [{ name: "F" }] } } }],
  }).profiles[0];
  return new Framework(profile as never, registry, fakeHandle([]));
}

t.test("the examined window rotates and stops once enough nodes fit", async (t) => {
  const nodes = Array.from({ length: 1000 }, (_, i) => nodeInfo(makeNode(`n${i}`)));
  const snap = Snapshot.of(nodes);
  const examined: string[] = [];
  const fwk = fwkWith(() => undefined, examined);
  const algo = new ScheduleAlgorithm(() => 0.5, undefined);
  const r1 = algo.schedulePod(fwk, new CycleState(), makePod("a"), snap);
  t.equal(examined.length, 420, "stops after numFeasibleNodesToFind");
  t.equal(r1.feasibleNodes, 420);
  examined.length = 0;
  algo.schedulePod(fwk, new CycleState(), makePod("b"), snap);
  t.equal(examined[0], "n420", "the next cycle starts where the last one stopped");
});

t.test("no node fits: FitError with kube's message", async (t) => {
  const nodes = ["a", "b", "c", "d", "e"].map((n) => nodeInfo(makeNode(n)));
  const examined: string[] = [];
  const fwk = fwkWith(
    (ni) =>
      ni.name < "c"
        ? Status.unschedulable("node(s) had untolerated taint {k: v}")
        : Status.unschedulable("Insufficient cpu"),
    examined,
  );
  const algo = new ScheduleAlgorithm(Math.random, undefined);
  try {
    algo.schedulePod(fwk, new CycleState(), makePod("p"), Snapshot.of(nodes));
    t.fail("expected FitError");
  } catch (e) {
    t.type(e, FitError);
    const fe = e as FitError;
    t.equal(
      fe.message,
      "0/5 nodes are available: 2 node(s) had untolerated taint {k: v}, 3 Insufficient cpu.",
    );
    t.same([...fe.diagnosis.unschedulablePlugins], ["F"]);
    fe.diagnosis.postFilterMsg =
      "preemption: 0/5 nodes are available: 5 Preemption is not helpful for scheduling.";
    t.equal(
      fe.message,
      "0/5 nodes are available: 2 node(s) had untolerated taint {k: v}, 3 Insufficient cpu. preemption: 0/5 nodes are available: 5 Preemption is not helpful for scheduling..",
    );
  }
  const d = newDiagnosis();
  d.preFilterMsg = "pod has unbound immediate PersistentVolumeClaims";
  t.equal(
    new FitError(makePod("q"), 3, d).message,
    "0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims.",
  );
});

t.test("a nominated node is tried first and alone when it fits", async (t) => {
  const nodes = ["a", "b", "c"].map((n) => nodeInfo(makeNode(n)));
  const examined: string[] = [];
  const fwk = fwkWith(() => undefined, examined);
  const pod = makePod("p");
  pod.status = { nominatedNodeName: "c" };
  const r = new ScheduleAlgorithm(Math.random, undefined).schedulePod(
    fwk,
    new CycleState(),
    pod,
    Snapshot.of(nodes),
  );
  t.equal(r.suggestedHost, "c");
  t.same(examined, ["c"]);
});
