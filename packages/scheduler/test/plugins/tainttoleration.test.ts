/** TaintToleration, as kube's tainttoleration/taint_toleration_test.go. */
import type { Taint, Toleration } from "@skiff/api";
import t from "tap";
import {
  isSchedulableAfterNodeChange,
  isSchedulableAfterPodTolerationChange,
  New,
  type TaintToleration,
} from "../../src/plugins/tainttoleration/index.js";
import { fakeHandle, makeNode, makePod, nodeInfo } from "../fixtures.js";
import { describe, runFilter, runScore, success, unresolvable } from "./util.js";

const plugin = New(undefined, fakeHandle([])) as TaintToleration;

t.test("Filter", async (t) => {
  const cases: { name: string; tolerations?: Toleration[]; taints: Taint[]; want: unknown }[] = [
    {
      name: "A pod having no tolerations can't be scheduled onto a node with nonempty taints",
      taints: [{ key: "dedicated", value: "user1", effect: "NoSchedule" }],
      want: unresolvable("node(s) had untolerated taint {dedicated: user1}"),
    },
    {
      name: "A pod which can be scheduled on a dedicated node assigned to user1 with effect NoSchedule",
      tolerations: [{ key: "dedicated", value: "user1", effect: "NoSchedule" }],
      taints: [{ key: "dedicated", value: "user1", effect: "NoSchedule" }],
      want: success,
    },
    {
      name: "A pod which can't be scheduled on a dedicated node assigned to user2 with effect NoSchedule",
      tolerations: [{ key: "dedicated", operator: "Equal", value: "user2", effect: "NoSchedule" }],
      taints: [{ key: "dedicated", value: "user1", effect: "NoSchedule" }],
      want: unresolvable("node(s) had untolerated taint {dedicated: user1}"),
    },
    {
      name: "A pod can be scheduled onto the node, with a toleration uses operator Exists that tolerates the taints on the node",
      tolerations: [{ key: "foo", operator: "Exists", effect: "NoSchedule" }],
      taints: [{ key: "foo", value: "bar", effect: "NoSchedule" }],
      want: success,
    },
    {
      name: "A pod has multiple tolerations, node has multiple taints, all the taints are tolerated, pod can be scheduled onto the node",
      tolerations: [
        { key: "dedicated", operator: "Equal", value: "user2", effect: "NoSchedule" },
        { key: "foo", operator: "Exists", effect: "NoSchedule" },
      ],
      taints: [
        { key: "dedicated", value: "user2", effect: "NoSchedule" },
        { key: "foo", value: "bar", effect: "NoSchedule" },
      ],
      want: success,
    },
    {
      name: "A pod has a toleration that keys and values match the taint on the node, but (non-empty) effect doesn't match, can't be scheduled onto the node",
      tolerations: [{ key: "foo", operator: "Equal", value: "bar", effect: "PreferNoSchedule" }],
      taints: [{ key: "foo", value: "bar", effect: "NoSchedule" }],
      want: unresolvable("node(s) had untolerated taint {foo: bar}"),
    },
    {
      name: "The pod has a toleration that keys and values match the taint on the node, the effect of toleration is empty, and the effect of taint is NoSchedule. Pod can be scheduled onto the node",
      tolerations: [{ key: "foo", operator: "Equal", value: "bar" }],
      taints: [{ key: "foo", value: "bar", effect: "NoSchedule" }],
      want: success,
    },
    {
      name: "The pod has a toleration that key and value don't match the taint on the node, but the effect of taint on node is PreferNoSchedule. Pod can be scheduled onto the node",
      tolerations: [{ key: "dedicated", operator: "Equal", value: "user2", effect: "NoSchedule" }],
      taints: [{ key: "dedicated", value: "user1", effect: "PreferNoSchedule" }],
      want: success,
    },
    {
      name: "The pod has no toleration, but the effect of taint on node is PreferNoSchedule. Pod can be scheduled onto the node",
      taints: [{ key: "dedicated", value: "user1", effect: "PreferNoSchedule" }],
      want: success,
    },
    {
      name: "an untolerated NoExecute taint (with an empty value) is reported too",
      taints: [
        { key: "soft", effect: "PreferNoSchedule" },
        { key: "node.kubernetes.io/not-ready", effect: "NoExecute" },
      ],
      want: unresolvable("node(s) had untolerated taint {node.kubernetes.io/not-ready: }"),
    },
  ];
  for (const tc of cases) {
    const pod = makePod("p", tc.tolerations === undefined ? {} : { tolerations: tc.tolerations });
    const { statuses } = runFilter(plugin, pod, [nodeInfo(makeNode("n", { taints: tc.taints }))]);
    t.same(describe(statuses.get("n")), tc.want, tc.name);
  }
});

t.test("Score: fewer intolerable PreferNoSchedule taints is better", async (t) => {
  const cases: { name: string; tolerations: Toleration[]; nodes: Taint[][]; want: number[] }[] = [
    {
      name: "node with taints tolerated by the pod, gets a higher score than those node with intolerable taints",
      tolerations: [{ key: "foo", operator: "Equal", value: "bar", effect: "PreferNoSchedule" }],
      nodes: [
        [{ key: "foo", value: "bar", effect: "PreferNoSchedule" }],
        [{ key: "foo", value: "blah", effect: "PreferNoSchedule" }],
      ],
      want: [100, 0],
    },
    {
      name: "the nodes that all of their taints are tolerated by the pod, get the same score, no matter how many tolerable taints a node has",
      tolerations: [
        { key: "cpu-type", operator: "Equal", value: "arm64", effect: "PreferNoSchedule" },
        { key: "disk-type", operator: "Equal", value: "ssd", effect: "PreferNoSchedule" },
      ],
      nodes: [
        [],
        [{ key: "cpu-type", value: "arm64", effect: "PreferNoSchedule" }],
        [
          { key: "cpu-type", value: "arm64", effect: "PreferNoSchedule" },
          { key: "disk-type", value: "ssd", effect: "PreferNoSchedule" },
        ],
      ],
      want: [100, 100, 100],
    },
    {
      name: "the more intolerable taints a node has, the lower score it gets",
      tolerations: [{ key: "foo", operator: "Equal", value: "bar", effect: "PreferNoSchedule" }],
      nodes: [
        [],
        [{ key: "cpu-type", value: "arm64", effect: "PreferNoSchedule" }],
        [
          { key: "cpu-type", value: "arm64", effect: "PreferNoSchedule" },
          { key: "disk-type", value: "ssd", effect: "PreferNoSchedule" },
        ],
      ],
      want: [100, 50, 0],
    },
    {
      name: "only taints and tolerations that have effect PreferNoSchedule are checked by prioritizer function",
      tolerations: [
        { key: "cpu-type", operator: "Equal", value: "arm64", effect: "NoSchedule" },
        { key: "disk-type", operator: "Equal", value: "ssd", effect: "NoSchedule" },
      ],
      nodes: [
        [],
        [{ key: "cpu-type", value: "arm64", effect: "NoSchedule" }],
        [{ key: "cpu-type", value: "arm64", effect: "PreferNoSchedule" }],
      ],
      want: [100, 100, 0],
    },
    {
      name: "Default behaviour No taints and tolerations results in max score",
      tolerations: [],
      nodes: [[], []],
      want: [100, 100],
    },
  ];
  for (const tc of cases) {
    const pod = makePod("p", { tolerations: tc.tolerations });
    const nis = tc.nodes.map((taints, i) => nodeInfo(makeNode(`n${i}`, { taints })));
    const { preScore, scores } = runScore(plugin, pod, nis);
    t.equal(preScore, undefined, `${tc.name}: PreScore`);
    t.same(
      scores.map((s) => s.score),
      tc.want,
      tc.name,
    );
  }
});

t.test("queueing hints", async (t) => {
  const pod = makePod("p", { tolerations: [{ key: "foo", operator: "Exists", effect: "NoSchedule" }] });
  const tainted = makeNode("n", { taints: [{ key: "bar", effect: "NoSchedule" }] });
  const tolerated = makeNode("n", { taints: [{ key: "foo", effect: "NoSchedule" }] });
  t.equal(isSchedulableAfterNodeChange(pod, undefined, tolerated), "Queue", "added with tolerated taints");
  t.equal(
    isSchedulableAfterNodeChange(pod, undefined, tainted),
    "QueueSkip",
    "added with an untolerated taint",
  );
  t.equal(isSchedulableAfterNodeChange(pod, tainted, tolerated), "Queue", "untolerated taint removed");
  t.equal(isSchedulableAfterNodeChange(pod, tolerated, tolerated), "QueueSkip", "nothing changed");
  t.equal(isSchedulableAfterPodTolerationChange(pod, pod, pod), "Queue", "the pod's own tolerations changed");
  t.equal(
    isSchedulableAfterPodTolerationChange(pod, undefined, makePod("other")),
    "QueueSkip",
    "another pod",
  );
  t.same(
    plugin.eventsToRegister().map((e) => [e.event.resource, e.event.actionType]),
    [
      ["Node", 1 | 16],
      ["Pod", 512],
    ],
  );
});
