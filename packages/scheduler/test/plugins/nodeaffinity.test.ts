/** NodeAffinity, as kube's nodeaffinity/node_affinity_test.go (TestNodeAffinity, TestNodeAffinityPriority). */
import type { Affinity, NodeAffinity as NodeAffinitySpec, NodeSelectorTerm, Pod } from "@skiff/api";
import t from "tap";
import { CycleState } from "../../src/framework/cycle-state.js";
import {
  ErrReasonConflict,
  ErrReasonEnforced,
  ErrReasonPod,
  New,
  type NodeAffinity,
} from "../../src/plugins/nodeaffinity/index.js";
import { fakeHandle, makeNode, makePod, nodeInfo } from "../fixtures.js";
import { describe, runFilter, runScore, success, unresolvable } from "./util.js";

const handle = fakeHandle([]);
const plugin = (addedAffinity?: NodeAffinitySpec) =>
  New(addedAffinity === undefined ? undefined : { addedAffinity }, handle) as NodeAffinity;

const required = (...terms: NodeSelectorTerm[]): Affinity => ({
  nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } },
});
const podWith = (opts: { nodeSelector?: Record<string, string>; affinity?: Affinity }) =>
  makePod("p", { spec: { ...opts } });

t.test("Filter", async (t) => {
  const cases: {
    name: string;
    pod: Pod;
    labels?: Record<string, string>;
    nodeName?: string;
    want: unknown;
    preFilter?: unknown;
    nodeNames?: string[];
  }[] = [
    {
      name: "missing labels",
      pod: podWith({ nodeSelector: { foo: "bar" } }),
      want: unresolvable(ErrReasonPod),
    },
    {
      name: "same labels",
      pod: podWith({ nodeSelector: { foo: "bar" } }),
      labels: { foo: "bar" },
      want: success,
    },
    {
      name: "node labels are superset",
      pod: podWith({ nodeSelector: { foo: "bar" } }),
      labels: { foo: "bar", baz: "blah" },
      want: success,
    },
    {
      name: "node labels are subset",
      pod: podWith({ nodeSelector: { foo: "bar", baz: "blah" } }),
      labels: { foo: "bar" },
      want: unresolvable(ErrReasonPod),
    },
    {
      name: "a label key named like an Object.prototype member is not present",
      pod: podWith({
        affinity: required({ matchExpressions: [{ key: "constructor", operator: "Exists" }] }),
      }),
      want: unresolvable(ErrReasonPod),
    },
    {
      name: "Pod with matchExpressions using In operator that matches the existing node",
      pod: podWith({
        affinity: required({ matchExpressions: [{ key: "foo", operator: "In", values: ["bar", "value2"] }] }),
      }),
      labels: { foo: "bar" },
      want: success,
    },
    {
      name: "Pod with matchExpressions using Gt operator that matches the existing node",
      pod: podWith({
        affinity: required({
          matchExpressions: [{ key: "kernel-version", operator: "Gt", values: ["0204"] }],
        }),
      }),
      labels: { "kernel-version": "0206" },
      want: success,
    },
    {
      name: "Pod with matchExpressions using NotIn operator that matches the existing node",
      pod: podWith({
        affinity: required({
          matchExpressions: [{ key: "mem-type", operator: "NotIn", values: ["DDR", "DDR2"] }],
        }),
      }),
      labels: { "mem-type": "DDR3" },
      want: success,
    },
    {
      name: "Pod with matchExpressions using Exists operator that matches the existing node",
      pod: podWith({ affinity: required({ matchExpressions: [{ key: "GPU", operator: "Exists" }] }) }),
      labels: { GPU: "NVIDIA-GRID-K1" },
      want: success,
    },
    {
      name: "Pod with affinity that don't match node's labels won't schedule onto the node",
      pod: podWith({
        affinity: required({
          matchExpressions: [{ key: "foo", operator: "In", values: ["value1", "value2"] }],
        }),
      }),
      labels: { foo: "bar" },
      want: unresolvable(ErrReasonPod),
    },
    {
      name: "Pod with a Gt value that is not an integer matches nothing",
      pod: podWith({
        affinity: required({ matchExpressions: [{ key: "kernel-version", operator: "Gt", values: ["x"] }] }),
      }),
      labels: { "kernel-version": "0206" },
      want: unresolvable(ErrReasonPod),
    },
    {
      name: "Pod with a nil []NodeSelectorTerm in affinity, can't match the node's labels and won't schedule onto the node",
      pod: podWith({ affinity: required() }),
      labels: { foo: "bar" },
      want: unresolvable(ErrReasonPod),
    },
    {
      name: "Pod with an empty []NodeSelectorRequirement in affinity, can't match the node's labels and won't schedule onto the node",
      pod: podWith({ affinity: required({ matchExpressions: [] }) }),
      labels: { foo: "bar" },
      want: unresolvable(ErrReasonPod),
    },
    {
      name: "Pod with multiple matchExpressions ANDed that doesn't match the existing node",
      pod: podWith({
        affinity: required({
          matchExpressions: [
            { key: "GPU", operator: "Exists" },
            { key: "GPU", operator: "NotIn", values: ["AMD", "INTER"] },
          ],
        }),
      }),
      labels: { GPU: "AMD" },
      want: unresolvable(ErrReasonPod),
    },
    {
      name: "Pod with multiple NodeSelectorTerms ORed in affinity, matches the node's labels and will schedule onto the node",
      pod: podWith({
        affinity: required(
          { matchExpressions: [{ key: "foo", operator: "In", values: ["bar", "value2"] }] },
          { matchExpressions: [{ key: "diffkey", operator: "In", values: ["wrong", "value2"] }] },
        ),
      }),
      labels: { foo: "bar" },
      want: success,
    },
    {
      name: "Pod with an Affinity and a PodSpec.NodeSelector(the old thing that we are deprecating) both are satisfied, will schedule onto the node",
      pod: podWith({
        nodeSelector: { foo: "bar" },
        affinity: required({ matchExpressions: [{ key: "foo", operator: "Exists" }] }),
      }),
      labels: { foo: "bar" },
      want: success,
    },
    {
      name: "Pod with an Affinity matches node's labels but the PodSpec.NodeSelector(the old thing that we are deprecating) is not satisfied, won't schedule onto the node",
      pod: podWith({
        nodeSelector: { foo: "bar" },
        affinity: required({ matchExpressions: [{ key: "foo", operator: "Exists" }] }),
      }),
      labels: { foo: "barrrrrr" },
      want: unresolvable(ErrReasonPod),
    },
    {
      name: "Pod with an invalid value in Affinity term won't be scheduled onto the node",
      pod: podWith({
        affinity: required({
          matchExpressions: [{ key: "foo", operator: "NotIn", values: ["invalid value: ___@#$%^"] }],
        }),
      }),
      labels: { foo: "bar" },
      want: unresolvable(ErrReasonPod),
    },
    {
      name: "Pod with matchFields using In operator that matches the existing node",
      pod: podWith({
        affinity: required({ matchFields: [{ key: "metadata.name", operator: "In", values: ["node1"] }] }),
      }),
      nodeName: "node1",
      want: success,
      nodeNames: ["node1"],
    },
    {
      name: "Pod with matchFields using In operator that does not match the existing node",
      pod: podWith({
        affinity: required({ matchFields: [{ key: "metadata.name", operator: "In", values: ["node1"] }] }),
      }),
      nodeName: "node2",
      want: unresolvable(ErrReasonPod),
      nodeNames: ["node1"],
    },
    {
      name: "Pod with two terms: matchFields does not match, but matchExpressions matches",
      pod: podWith({
        affinity: required(
          { matchFields: [{ key: "metadata.name", operator: "In", values: ["node1"] }] },
          { matchExpressions: [{ key: "foo", operator: "In", values: ["bar"] }] },
        ),
      }),
      nodeName: "node2",
      labels: { foo: "bar" },
      want: success,
    },
    {
      name: "Pod with one term: matchFields does not match, but matchExpressions matches",
      pod: podWith({
        affinity: required({
          matchFields: [{ key: "metadata.name", operator: "In", values: ["node1"] }],
          matchExpressions: [{ key: "foo", operator: "In", values: ["bar"] }],
        }),
      }),
      nodeName: "node2",
      labels: { foo: "bar" },
      want: unresolvable(ErrReasonPod),
      nodeNames: ["node1"],
    },
    {
      name: "Pod with two terms: both matchFields and matchExpressions match",
      pod: podWith({
        affinity: required(
          { matchFields: [{ key: "metadata.name", operator: "In", values: ["node1"] }] },
          { matchFields: [{ key: "metadata.name", operator: "In", values: ["node2"] }] },
        ),
      }),
      nodeName: "node2",
      want: success,
      nodeNames: ["node1", "node2"],
    },
    {
      name: "Pod with two terms of node.Name affinity: ANDed requirements that exclude each other",
      pod: podWith({
        affinity: required({
          matchFields: [
            { key: "metadata.name", operator: "In", values: ["node1"] },
            { key: "metadata.name", operator: "In", values: ["node2"] },
          ],
        }),
      }),
      nodeName: "node2",
      want: unresolvable(ErrReasonPod),
      preFilter: unresolvable(ErrReasonConflict),
    },
  ];
  for (const tc of cases) {
    const node = makeNode(tc.nodeName ?? "n", {});
    node.metadata.labels = tc.labels ?? {};
    const { preFilter, statuses } = runFilter(plugin(), tc.pod, [nodeInfo(node)]);
    t.same(describe(preFilter?.status), tc.preFilter ?? success, `${tc.name}: PreFilter status`);
    t.same(
      preFilter?.result?.nodeNames === undefined ? undefined : [...preFilter.result.nodeNames].sort(),
      tc.nodeNames,
      `${tc.name}: PreFilterResult`,
    );
    t.same(describe(statuses.get(tc.nodeName ?? "n")), tc.want, tc.name);
  }
});

t.test("PreFilter skips a pod without node selector or required affinity", async (t) => {
  t.equal(describe(plugin().preFilter(new CycleState(), makePod("p")).status).code, "Skip");
  const preferredOnly = podWith({
    affinity: { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [] } },
  });
  t.equal(describe(plugin().preFilter(new CycleState(), preferredOnly).status).code, "Skip");
});

t.test("Filter without PreFilter parses the pod itself", async (t) => {
  const s = plugin().filter(
    new CycleState(),
    podWith({ nodeSelector: { foo: "bar" } }),
    nodeInfo(makeNode("n")),
  );
  t.same(describe(s), unresolvable(ErrReasonPod));
});

t.test("addedAffinity (the profile's NodeAffinityArgs)", async (t) => {
  const added: NodeAffinitySpec = {
    requiredDuringSchedulingIgnoredDuringExecution: {
      nodeSelectorTerms: [{ matchExpressions: [{ key: "zone", operator: "In", values: ["foo"] }] }],
    },
  };
  const p = plugin(added);
  const zone = (z: string) => nodeInfo(makeNode("n", { labels: { zone: z } }));
  t.equal(describe(p.preFilter(new CycleState(), makePod("p")).status).code, "Success", "not skipped");
  t.same(describe(runFilter(p, makePod("p"), [zone("foo")]).statuses.get("n")), success);
  t.same(
    describe(runFilter(p, makePod("p"), [zone("bar")]).statuses.get("n")),
    unresolvable(ErrReasonEnforced),
  );
  const both = podWith({ nodeSelector: { foo: "bar" } });
  t.same(describe(runFilter(p, both, [zone("foo")]).statuses.get("n")), unresolvable(ErrReasonPod));
  t.throws(
    () =>
      plugin({
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchExpressions: [{ key: "zone", operator: "Gt", values: ["a", "b"] }] }],
        },
      }),
    /NodeAffinity args: addedAffinity\.requiredDuringSchedulingIgnoredDuringExecution\.nodeSelectorTerms\[0\]\.matchExpressions\[0\]\.values/,
  );
  t.throws(
    () =>
      plugin({
        preferredDuringSchedulingIgnoredDuringExecution: [
          {
            weight: 1,
            preference: { matchFields: [{ key: "metadata.uid", operator: "In", values: ["x"] }] },
          },
        ],
      }),
    /not a valid field selector key/,
  );
});

t.test("Score (kube's TestNodeAffinityPriority)", async (t) => {
  const label1 = { foo: "bar" };
  const label2 = { key: "value" };
  const label3 = { az: "az1" };
  const label5 = { foo: "bar", key: "value", az: "az1" };
  const affinity1: Affinity = {
    nodeAffinity: {
      preferredDuringSchedulingIgnoredDuringExecution: [
        { weight: 2, preference: { matchExpressions: [{ key: "foo", operator: "In", values: ["bar"] }] } },
      ],
    },
  };
  const affinity2: Affinity = {
    nodeAffinity: {
      preferredDuringSchedulingIgnoredDuringExecution: [
        { weight: 2, preference: { matchExpressions: [{ key: "foo", operator: "In", values: ["bar"] }] } },
        { weight: 4, preference: { matchExpressions: [{ key: "key", operator: "In", values: ["value"] }] } },
        {
          weight: 5,
          preference: {
            matchExpressions: [
              { key: "foo", operator: "In", values: ["bar"] },
              { key: "key", operator: "In", values: ["value"] },
              { key: "az", operator: "In", values: ["az1"] },
            ],
          },
        },
      ],
    },
  };
  const nodes = (...labels: Record<string, string>[]) =>
    labels.map((l, i) => {
      const n = makeNode(`node${i + 1}`);
      n.metadata.labels = l;
      return nodeInfo(n);
    });
  const cases: {
    name: string;
    affinity?: Affinity;
    added?: NodeAffinitySpec;
    nis: ReturnType<typeof nodes>;
    want: number[];
  }[] = [
    {
      name: "no node affinity: every node scores 0",
      affinity: { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [] } },
      nis: nodes(label1, label2, label3),
      want: [0, 0, 0],
    },
    {
      name: "only node1 matches the preferred term",
      affinity: affinity1,
      nis: nodes(label1, label2, label3),
      want: [100, 0, 0],
    },
    {
      name: "all nodes match some preferred term, with different weights",
      affinity: affinity2,
      nis: nodes(label1, label5, label2),
      want: [18, 100, 36],
    },
    {
      name: "added affinity adds its weights",
      affinity: affinity1,
      added: {
        preferredDuringSchedulingIgnoredDuringExecution: [
          { weight: 3, preference: { matchExpressions: [{ key: "az", operator: "In", values: ["az1"] }] } },
        ],
      },
      nis: nodes(label1, label2, label5),
      // raw: 2, 0, 5
      want: [40, 0, 100],
    },
    {
      name: "terms of weight 0 are dropped",
      affinity: {
        nodeAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            { weight: 0, preference: { matchExpressions: [{ key: "foo", operator: "Exists" }] } },
            { weight: 1, preference: { matchExpressions: [{ key: "key", operator: "Exists" }] } },
          ],
        },
      },
      nis: nodes(label1, label2),
      want: [0, 100],
    },
  ];
  for (const tc of cases) {
    const pod = makePod("p", tc.affinity === undefined ? {} : { spec: { affinity: tc.affinity } });
    const { preScore, scores } = runScore(plugin(tc.added), pod, tc.nis);
    t.equal(preScore, undefined, `${tc.name}: PreScore`);
    t.same(
      scores.map((s) => s.score),
      tc.want,
      tc.name,
    );
  }
  t.equal(describe(plugin().preScore(new CycleState(), makePod("p"))).code, "Skip", "nothing to score");
  const bad = makePod("p", {
    spec: {
      affinity: {
        nodeAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            { weight: 1, preference: { matchExpressions: [{ key: "a", operator: "Gt", values: ["x"] }] } },
          ],
        },
      },
    },
  });
  t.equal(describe(plugin().preScore(new CycleState(), bad)).code, "Error", "a malformed preferred term");
});

t.test("queueing hint: a node that starts to match", async (t) => {
  const pod = podWith({ nodeSelector: { foo: "bar" } });
  const p = plugin();
  const matching = makeNode("n", { labels: { foo: "bar" } });
  const other = makeNode("n", { labels: { foo: "baz" } });
  t.equal(p.isSchedulableAfterNodeChange(pod, undefined, matching), "Queue");
  t.equal(p.isSchedulableAfterNodeChange(pod, undefined, other), "QueueSkip");
  t.equal(p.isSchedulableAfterNodeChange(pod, other, matching), "Queue");
  t.equal(p.isSchedulableAfterNodeChange(pod, matching, matching), "QueueSkip");
  const enforced = plugin({
    requiredDuringSchedulingIgnoredDuringExecution: {
      nodeSelectorTerms: [{ matchExpressions: [{ key: "zone", operator: "Exists" }] }],
    },
  });
  t.equal(
    enforced.isSchedulableAfterNodeChange(pod, undefined, matching),
    "QueueSkip",
    "fails addedAffinity",
  );
  const events = p.eventsToRegister();
  t.same(
    events.map((e) => [e.event.resource, e.event.actionType]),
    [["Node", 1 | 8]],
  );
  t.equal(events[0]?.queueingHintFn?.(pod, other, matching), "Queue");
});
