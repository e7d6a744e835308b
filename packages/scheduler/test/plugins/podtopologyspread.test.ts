/**
 * PodTopologySpread, table-driven in the manner of kube's podtopologyspread filtering_test.go and
 * scoring_test.go: skew per zone and per node, minDomains, node inclusion policies, missing
 * topology labels, matchLabelKeys, PreFilter extensions, ScheduleAnyway scoring and the system
 * default constraints for controller-owned pods.
 */
import type { Pod, Taint, TopologySpreadConstraint } from "@skiff/api";
import t from "tap";
import { CycleState } from "../../src/framework/cycle-state.js";
import { PodInfo } from "../../src/framework/pod-info.js";
import {
  ErrReasonConstraintsNotMatch,
  ErrReasonNodeLabelNotMatch,
  New,
  type PodTopologySpread,
  podTopologySpreadArgs,
} from "../../src/plugins/podtopologyspread/index.js";
import { fakeHandle, makeNode, makePod, nodeInfo } from "../fixtures.js";
import { HOST, runFilter, runScore, ZONE } from "./topology-helpers.js";

const SKEW = `Unschedulable: ${ErrReasonConstraintsNotMatch}`;
const LABEL = `UnschedulableAndUnresolvable: ${ErrReasonNodeLabelNotMatch}`;

type Spec = { zone?: string; taints?: Taint[] };
/** kube's test cluster: node-a and node-b in zone1, node-x and node-y in zone2. */
const fourNodes: Record<string, Spec> = {
  "node-a": { zone: "zone1" },
  "node-b": { zone: "zone1" },
  "node-x": { zone: "zone2" },
  "node-y": { zone: "zone2" },
};

/** A cluster whose nodes hold `counts[node]` pods labelled foo (plus `extra` pods). */
function cluster(
  nodes: Record<string, Spec>,
  counts: Record<string, number>,
  extra: Record<string, Pod[]> = {},
) {
  return Object.entries(nodes).map(([name, spec]) => {
    const pods: Pod[] = [];
    for (let i = 0; i < (counts[name] ?? 0); i++)
      pods.push(makePod(`${name}-p${i}`, { labels: { foo: "" }, nodeName: name }));
    for (const p of extra[name] ?? []) pods.push({ ...p, spec: { ...p.spec, nodeName: name } });
    return nodeInfo(
      makeNode(name, {
        labels: spec.zone === undefined ? {} : { [ZONE]: spec.zone },
        ...(spec.taints === undefined ? {} : { taints: spec.taints }),
      }),
      ...pods,
    );
  });
}

const spread = (
  topologyKey: string,
  maxSkew: number,
  extra: Partial<TopologySpreadConstraint> = {},
): TopologySpreadConstraint => ({
  maxSkew,
  topologyKey,
  whenUnsatisfiable: "DoNotSchedule",
  labelSelector: { matchExpressions: [{ key: "foo", operator: "Exists" }] },
  ...extra,
});

const terminating = (name: string): Pod => {
  const p = makePod(name, { labels: { foo: "" } });
  p.metadata.deletionTimestamp = "2024-01-01T00:00:00Z";
  return p;
};

const incoming = (constraints: TopologySpreadConstraint[], opts: Parameters<typeof makePod>[1] = {}) =>
  makePod("p", {
    labels: { foo: "" },
    ...opts,
    spec: { topologySpreadConstraints: constraints, ...opts.spec },
  });

t.test("Filter: skew, minDomains, inclusion policies and labels", async (t) => {
  const cases: {
    name: string;
    pod: Pod;
    nodes?: Record<string, Spec>;
    counts: Record<string, number>;
    extra?: Record<string, Pod[]>;
    want: Record<string, string>;
  }[] = [
    {
      name: "no existing pods: every node fits",
      pod: incoming([spread(ZONE, 1)]),
      counts: {},
      want: { "node-a": "ok", "node-b": "ok", "node-x": "ok", "node-y": "ok" },
    },
    {
      name: "pods spread across zones as 3/3: every node fits",
      pod: incoming([spread(ZONE, 1)]),
      counts: { "node-a": 1, "node-b": 2, "node-x": 3 },
      want: { "node-a": "ok", "node-b": "ok", "node-x": "ok", "node-y": "ok" },
    },
    {
      name: "pods spread across zones as 3/1: only zone2 fits",
      pod: incoming([spread(ZONE, 1)]),
      counts: { "node-a": 1, "node-b": 2, "node-x": 1 },
      want: { "node-a": SKEW, "node-b": SKEW, "node-x": "ok", "node-y": "ok" },
    },
    {
      name: "pods in other namespaces and terminating pods are not counted",
      pod: incoming([spread(ZONE, 1)]),
      counts: {},
      // Counted, they would make zone1 2/0 and reject node-a and node-b.
      extra: {
        "node-a": [makePod("other-ns", { labels: { foo: "" }, namespace: "other" }), terminating("gone")],
      },
      want: { "node-a": "ok", "node-b": "ok", "node-x": "ok", "node-y": "ok" },
    },
    {
      name: "a node without the zone label: missing required label; its pods are not counted",
      pod: incoming([spread(ZONE, 1)]),
      nodes: { ...fourNodes, "node-b": {} },
      counts: { "node-a": 1, "node-b": 5, "node-x": 2 },
      want: { "node-a": "ok", "node-b": LABEL, "node-x": SKEW, "node-y": SKEW },
    },
    {
      name: "pods spread across nodes as 2/1/0/3 (hostname, maxSkew 1): only node-x fits",
      pod: incoming([spread(HOST, 1)]),
      counts: { "node-a": 2, "node-b": 1, "node-y": 3 },
      want: { "node-a": SKEW, "node-b": SKEW, "node-x": "ok", "node-y": SKEW },
    },
    {
      name: "2/1/0/3 with maxSkew 2: node-b and node-x fit",
      pod: incoming([spread(HOST, 2)]),
      counts: { "node-a": 2, "node-b": 1, "node-y": 3 },
      want: { "node-a": SKEW, "node-b": "ok", "node-x": "ok", "node-y": SKEW },
    },
    {
      name: "2/1/0/3, the pod does not match itself: node-b and node-x fit",
      pod: incoming([spread(HOST, 1)], { labels: { bar: "" } }),
      counts: { "node-a": 2, "node-b": 1, "node-y": 3 },
      want: { "node-a": SKEW, "node-b": "ok", "node-x": "ok", "node-y": SKEW },
    },
    {
      name: "zones 2/1 without minDomains: zone2 fits",
      pod: incoming([spread(ZONE, 1)]),
      counts: { "node-a": 2, "node-x": 1 },
      want: { "node-a": SKEW, "node-b": SKEW, "node-x": "ok", "node-y": "ok" },
    },
    {
      name: "zones 2/1 with minDomains 3: two domains < 3, so the global minimum is 0 and nothing fits",
      pod: incoming([spread(ZONE, 1, { minDomains: 3 })]),
      counts: { "node-a": 2, "node-x": 1 },
      want: { "node-a": SKEW, "node-b": SKEW, "node-x": SKEW, "node-y": SKEW },
    },
    {
      name: "zones 0/0 with minDomains 3 and maxSkew 1: every node still fits (0 + 1 - 0)",
      pod: incoming([spread(ZONE, 1, { minDomains: 3 })]),
      counts: {},
      want: { "node-a": "ok", "node-b": "ok", "node-x": "ok", "node-y": "ok" },
    },
    {
      name: "nodeAffinityPolicy Honor: only zone1 is a domain for a pod selecting zone1 (1/- : skew 2)",
      pod: incoming([spread(HOST, 1)], { spec: { nodeSelector: { [ZONE]: "zone1" } } }),
      counts: { "node-a": 1, "node-x": 0 },
      want: { "node-a": SKEW, "node-b": "ok", "node-x": "ok", "node-y": "ok" },
    },
    {
      name: "nodeAffinityPolicy Honor counts only the selected nodes' pods",
      pod: incoming([spread(ZONE, 1)], { spec: { nodeSelector: { [ZONE]: "zone2" } } }),
      counts: { "node-a": 3, "node-x": 1 },
      // Only zone2 is a domain (count 1, minimum 1): 1 + 1 - 1 = 1.
      want: { "node-a": "ok", "node-b": "ok", "node-x": "ok", "node-y": "ok" },
    },
    {
      name: "nodeAffinityPolicy Ignore counts every node's pods",
      pod: incoming([spread(ZONE, 1, { nodeAffinityPolicy: "Ignore" })], {
        spec: { nodeSelector: { [ZONE]: "zone2" } },
      }),
      counts: { "node-a": 3, "node-x": 1 },
      // zone1 = 3 counts now: 3 + 1 - 1 > 1.
      want: { "node-a": SKEW, "node-b": SKEW, "node-x": "ok", "node-y": "ok" },
    },
    {
      name: "nodeTaintsPolicy Honor: a tainted node's domain is not counted",
      pod: incoming([spread(HOST, 1, { nodeTaintsPolicy: "Honor" })]),
      nodes: { ...fourNodes, "node-y": { zone: "zone2", taints: [{ key: "k", effect: "NoSchedule" }] } },
      counts: { "node-a": 1, "node-b": 1, "node-x": 1 },
      want: { "node-a": "ok", "node-b": "ok", "node-x": "ok", "node-y": "ok" },
    },
    {
      name: "nodeTaintsPolicy Ignore (default): the empty tainted node is the minimum",
      pod: incoming([spread(HOST, 1)]),
      nodes: { ...fourNodes, "node-y": { zone: "zone2", taints: [{ key: "k", effect: "NoSchedule" }] } },
      counts: { "node-a": 1, "node-b": 1, "node-x": 1 },
      want: { "node-a": SKEW, "node-b": SKEW, "node-x": SKEW, "node-y": "ok" },
    },
    {
      name: "two constraints: zone and hostname must both hold",
      pod: incoming([spread(ZONE, 1), spread(HOST, 1)]),
      counts: { "node-a": 1, "node-x": 1, "node-y": 1 },
      // zone1 = 1, zone2 = 2: zone2 fails; in zone1 node-a has 1 and the minimum per node is 0.
      want: { "node-a": SKEW, "node-b": "ok", "node-x": SKEW, "node-y": SKEW },
    },
    {
      name: "matchLabelKeys narrows the selector to the pod's own value",
      pod: incoming([spread(HOST, 1, { matchLabelKeys: ["rev"] })], { labels: { foo: "", rev: "2" } }),
      counts: { "node-a": 2, "node-b": 2, "node-x": 2 },
      extra: { "node-y": [makePod("r2", { labels: { foo: "", rev: "2" } })] },
      // Only node-y's pod has rev=2: 0/0/0/1.
      want: { "node-a": "ok", "node-b": "ok", "node-x": "ok", "node-y": SKEW },
    },
    {
      name: "ScheduleAnyway constraints only: PreFilter skips",
      pod: incoming([spread(ZONE, 1, { whenUnsatisfiable: "ScheduleAnyway" })]),
      counts: { "node-a": 5 },
      want: { "node-a": "skip", "node-b": "skip", "node-x": "skip", "node-y": "skip" },
    },
  ];
  for (const c of cases) {
    const handle = fakeHandle(cluster(c.nodes ?? fourNodes, c.counts, c.extra));
    const { outcome } = runFilter(New(undefined, handle) as PodTopologySpread, handle, c.pod);
    t.same(Object.fromEntries(outcome), c.want, c.name);
  }
});

t.test("PreFilterExtensions: removing a matching pod lowers its domain's count", async (t) => {
  const handle = fakeHandle(cluster(fourNodes, { "node-a": 2, "node-x": 1 }));
  const pl = New(undefined, handle) as PodTopologySpread;
  const pod = incoming([spread(ZONE, 1)]);
  const { state, outcome } = runFilter(pl, handle, pod);
  t.equal(outcome.get("node-a"), SKEW);
  const a = handle.snapshotSharedLister().nodeInfos().get("node-a");
  if (a === undefined) throw new Error("node-a");
  const copy = state.clone();
  const ni = a.clone();
  const victim = ni.pods[0] as PodInfo;
  ni.removePod(victim.uid);
  t.equal(pl.removePod(copy, pod, victim, ni), undefined);
  t.equal(pl.filter(copy, pod, ni), undefined, "zone1 holds 1 now: 1 + 1 - 1 <= 1");
  t.equal(
    pl.filter(state, pod, a)?.message(),
    ErrReasonConstraintsNotMatch,
    "the original state is untouched",
  );
  ni.addPod(victim);
  pl.addPod(copy, pod, victim, ni);
  t.equal(pl.filter(copy, pod, ni)?.message(), ErrReasonConstraintsNotMatch);
  // A pod of another namespace changes nothing.
  const other = makePod("o", { labels: { foo: "" }, namespace: "other", nodeName: "node-x" });
  const x = handle.snapshotSharedLister().nodeInfos().get("node-x") ?? ni;
  pl.addPod(copy, pod, new PodInfo(other), x);
  t.equal(pl.filter(copy, pod, x), undefined);
  t.equal(pl.addPod(new CycleState(), pod, victim, ni)?.codeName(), "Error", "PreFilter did not run");
});

const owned = (name: string, uid: string, kind = "ReplicaSet", apiVersion = "apps/v1") => {
  const p = makePod(name, { labels: { app: "web" } });
  p.metadata.ownerReferences = [{ apiVersion, kind, name: "rs", uid, controller: true }];
  return p;
};

t.test("Score: ScheduleAnyway constraints and the system defaults", async (t) => {
  const soft = (key: string, maxSkew: number) =>
    spread(key, maxSkew, { whenUnsatisfiable: "ScheduleAnyway" });
  const cases: {
    name: string;
    pod: Pod;
    nodes?: Record<string, Spec>;
    counts?: Record<string, number>;
    extra?: Record<string, Pod[]>;
    args?: Record<string, unknown>;
    want: Record<string, number> | undefined;
  }[] = [
    {
      name: "one constraint on node, no existing pods: all score 100",
      pod: incoming([soft(HOST, 1)]),
      want: { "node-a": 100, "node-b": 100, "node-x": 100, "node-y": 100 },
    },
    {
      name: "one constraint on node, 2/1/0/3 (kube's scoring_test figures)",
      pod: incoming([soft(HOST, 1)]),
      counts: { "node-a": 2, "node-b": 1, "node-y": 3 },
      want: { "node-a": 20, "node-b": 60, "node-x": 100, "node-y": 0 },
    },
    {
      name: "one constraint on zone, 2/1",
      pod: incoming([soft(ZONE, 1)]),
      counts: { "node-a": 1, "node-b": 1, "node-x": 1 },
      want: { "node-a": 33, "node-b": 33, "node-x": 100, "node-y": 100 },
    },
    {
      name: "a node missing the topology key is ignored (scores 0)",
      pod: incoming([soft(ZONE, 1)]),
      nodes: { ...fourNodes, "node-y": {} },
      counts: { "node-a": 1, "node-b": 1, "node-x": 1 },
      want: { "node-a": 33, "node-b": 33, "node-x": 100, "node-y": 0 },
    },
    {
      name: "system defaults for a ReplicaSet's pod: hostname maxSkew 3 and zone maxSkew 5",
      pod: owned("p", "rs-1"),
      extra: {
        "node-a": [owned("a1", "rs-1"), owned("a2", "rs-1")],
        "node-x": [owned("x1", "rs-1"), owned("x2", "rs-2")],
      },
      want: { "node-a": 58, "node-b": 83, "node-x": 83, "node-y": 100 },
    },
    {
      name: "system defaults: a pod with no controller is not spread",
      pod: makePod("p", { labels: { app: "web" } }),
      extra: { "node-a": [owned("a1", "rs-1")] },
      want: undefined,
    },
    {
      name: "system defaults: a Job's pod is not spread (kube: Services, RC, RS and StatefulSets only)",
      pod: owned("p", "job-1", "Job", "batch/v1"),
      extra: { "node-a": [owned("a1", "job-1", "Job", "batch/v1")] },
      want: undefined,
    },
    {
      name: "system defaults: nodes without a zone label still get hostname spreading",
      pod: owned("p", "ss-1", "StatefulSet"),
      nodes: { "node-a": {}, "node-b": {} },
      extra: { "node-a": [owned("a1", "ss-1", "StatefulSet")] },
      // weight log(4): a = 1.39 + 2 -> 3, b = 2; zone "" unset -> skipped.
      want: { "node-a": 66, "node-b": 100 },
    },
    {
      name: "defaultingType List with custom defaults",
      pod: owned("p", "rs-1"),
      args: {
        defaultingType: "List",
        defaultConstraints: [{ maxSkew: 1, topologyKey: ZONE, whenUnsatisfiable: "ScheduleAnyway" }],
      },
      extra: { "node-a": [owned("a1", "rs-1")] },
      // zone1 = 1 (1.39 -> 1), zone2 = 0.
      want: { "node-a": 0, "node-b": 0, "node-x": 100, "node-y": 100 },
    },
    {
      name: "defaultingType List without defaults: not spread",
      pod: owned("p", "rs-1"),
      args: { defaultingType: "List" },
      extra: { "node-a": [owned("a1", "rs-1")] },
      want: undefined,
    },
  ];
  for (const c of cases) {
    const handle = fakeHandle(cluster(c.nodes ?? fourNodes, c.counts ?? {}, c.extra));
    const got = runScore(New(c.args, handle) as PodTopologySpread, handle, c.pod);
    t.same(got, c.want, c.name);
  }
});

t.test("system defaults never filter: defaults are ScheduleAnyway", async (t) => {
  const handle = fakeHandle(cluster(fourNodes, {}, { "node-a": [owned("a1", "rs-1"), owned("a2", "rs-1")] }));
  const { outcome } = runFilter(New(undefined, handle) as PodTopologySpread, handle, owned("p", "rs-1"));
  t.same([...outcome.values()], ["skip", "skip", "skip", "skip"]);
  // A DoNotSchedule default (List) filters a controller's pods.
  const h2 = fakeHandle(cluster(fourNodes, {}, { "node-a": [owned("a1", "rs-1"), owned("a2", "rs-1")] }));
  const pl = New(
    {
      defaultingType: "List",
      defaultConstraints: [{ maxSkew: 1, topologyKey: HOST, whenUnsatisfiable: "DoNotSchedule" }],
    },
    h2,
  );
  const r = runFilter(pl as PodTopologySpread, h2, owned("p", "rs-1"));
  t.same(Object.fromEntries(r.outcome), { "node-a": SKEW, "node-b": "ok", "node-x": "ok", "node-y": "ok" });
});

t.test("args: defaulting and validation as ValidatePodTopologySpreadArgs", async (t) => {
  t.same(podTopologySpreadArgs(undefined), { defaultConstraints: [], defaultingType: "System" });
  t.throws(
    () =>
      podTopologySpreadArgs({
        defaultConstraints: [{ maxSkew: 1, topologyKey: ZONE, whenUnsatisfiable: "ScheduleAnyway" }],
      }),
    /when .defaultConstraints are not empty must be List/,
  );
  t.throws(
    () =>
      podTopologySpreadArgs({
        defaultingType: "List",
        defaultConstraints: [{ maxSkew: 0, topologyKey: ZONE, whenUnsatisfiable: "ScheduleAnyway" }],
      }),
    /must be greater than zero/,
  );
  t.throws(
    () =>
      podTopologySpreadArgs({
        defaultingType: "List",
        defaultConstraints: [
          { maxSkew: 1, topologyKey: ZONE, whenUnsatisfiable: "ScheduleAnyway", labelSelector: {} },
        ],
      }),
    /must not define a selector/,
  );
});

t.test("queueing hints", async (t) => {
  const pl = New(undefined, fakeHandle([])) as PodTopologySpread;
  const [podEv, nodeEv] = pl.eventsToRegister();
  const pod = incoming([spread(ZONE, 1)]);
  const bound = (labels: Record<string, string>) => makePod("e", { labels, nodeName: "n" });
  t.equal(podEv?.queueingHintFn?.(pod, bound({ foo: "" }), undefined), "Queue", "a matching pod was deleted");
  t.equal(
    podEv?.queueingHintFn?.(pod, bound({ bar: "" }), undefined),
    "QueueSkip",
    "an unrelated pod was deleted",
  );
  t.equal(podEv?.queueingHintFn?.(pod, bound({ foo: "" }), bound({ bar: "" })), "Queue", "relabelled");
  t.equal(nodeEv?.queueingHintFn?.(pod, undefined, makeNode("n", { labels: { [ZONE]: "z" } })), "Queue");
  t.equal(nodeEv?.queueingHintFn?.(pod, undefined, makeNode("n")), "QueueSkip");
});

t.test("consecutive pods: per-node counts follow the nodes' pods (NodeMatchCache)", async (t) => {
  const handle = fakeHandle(cluster(fourNodes, { "node-a": 1 }));
  const pl = New(undefined, handle) as PodTopologySpread;
  const pod = () => incoming([spread(HOST, 1)]);
  t.same(Object.fromEntries(runFilter(pl, handle, pod()).outcome), {
    "node-a": SKEW,
    "node-b": "ok",
    "node-x": "ok",
    "node-y": "ok",
  });
  const lister = handle.snapshotSharedLister().nodeInfos();
  for (const n of ["node-b", "node-x"])
    lister.get(n)?.addPod(new PodInfo(makePod(`${n}-new`, { labels: { foo: "" }, nodeName: n })));
  t.same(
    Object.fromEntries(runFilter(pl, handle, pod()).outcome),
    { "node-a": SKEW, "node-b": SKEW, "node-x": SKEW, "node-y": "ok" },
    "the pods added since the last cycle are counted",
  );
  const a = lister.get("node-a");
  a?.removePod(a.pods[0]?.uid ?? "");
  t.same(
    Object.fromEntries(runFilter(pl, handle, pod()).outcome),
    { "node-a": "ok", "node-b": SKEW, "node-x": SKEW, "node-y": "ok" },
    "and the removed one is not",
  );
});
