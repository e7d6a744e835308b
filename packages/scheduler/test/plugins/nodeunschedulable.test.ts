/** NodeUnschedulable, as kube's nodeunschedulable/node_unschedulable_test.go. */
import type { Toleration } from "@skiff/api";
import t from "tap";
import {
  ErrReasonUnschedulable,
  isSchedulableAfterNodeChange,
  isSchedulableAfterPodTolerationChange,
  New,
  NodeUnschedulable,
} from "../../src/plugins/nodeunschedulable/index.js";
import { fakeHandle, makeNode, makePod, nodeInfo } from "../fixtures.js";
import { describe, runFilter, success, unresolvable } from "./util.js";

const unschedulableKey = "node.kubernetes.io/unschedulable";

t.test("Filter", async (t) => {
  const cases: { name: string; unschedulable?: boolean; tolerations?: Toleration[]; want: unknown }[] = [
    {
      name: "Does not schedule pod to unschedulable node (node.Spec.Unschedulable==true)",
      unschedulable: true,
      want: unresolvable(ErrReasonUnschedulable),
    },
    { name: "Schedule pod to normal node", unschedulable: false, want: success },
    { name: "Schedule pod with default node spec", want: success },
    {
      name: "Schedule pod with toleration to unschedulable node (node.Spec.Unschedulable==true)",
      unschedulable: true,
      tolerations: [{ key: unschedulableKey, effect: "NoSchedule" }],
      want: success,
    },
    {
      name: "an Exists toleration of the key with any effect tolerates it",
      unschedulable: true,
      tolerations: [{ key: unschedulableKey, operator: "Exists" }],
      want: success,
    },
    {
      name: "a toleration of every taint tolerates it",
      unschedulable: true,
      tolerations: [{ operator: "Exists" }],
      want: success,
    },
    {
      name: "a NoExecute toleration does not",
      unschedulable: true,
      tolerations: [{ key: unschedulableKey, operator: "Exists", effect: "NoExecute" }],
      want: unresolvable(ErrReasonUnschedulable),
    },
  ];
  const plugin = New(undefined, fakeHandle([])) as NodeUnschedulable;
  t.equal(plugin.name, "NodeUnschedulable");
  for (const tc of cases) {
    const node = makeNode("n", tc.unschedulable === undefined ? {} : { unschedulable: tc.unschedulable });
    const pod = makePod("p", tc.tolerations === undefined ? {} : { tolerations: tc.tolerations });
    t.same(describe(runFilter(plugin, pod, [nodeInfo(node)]).statuses.get("n")), tc.want, tc.name);
  }
  t.equal(ErrReasonUnschedulable, "node(s) were unschedulable");
});

t.test("queueing hints", async (t) => {
  const pod = makePod("p");
  const cordoned = makeNode("n", { unschedulable: true });
  const open = makeNode("n");
  t.equal(isSchedulableAfterNodeChange(pod, undefined, open), "Queue", "schedulable node added");
  t.equal(isSchedulableAfterNodeChange(pod, undefined, cordoned), "QueueSkip", "cordoned node added");
  t.equal(isSchedulableAfterNodeChange(pod, cordoned, open), "Queue", "node uncordoned");
  t.equal(isSchedulableAfterNodeChange(pod, open, open), "QueueSkip", "was schedulable already");
  const tolerating = {
    ...pod,
    spec: { ...pod.spec, tolerations: [{ key: unschedulableKey, effect: "NoSchedule" as const }] },
  };
  t.equal(isSchedulableAfterPodTolerationChange(pod, pod, tolerating), "Queue", "the pod now tolerates it");
  t.equal(isSchedulableAfterPodTolerationChange(pod, pod, pod), "QueueSkip", "still does not");
  t.equal(
    isSchedulableAfterPodTolerationChange(
      pod,
      undefined,
      makePod("other", { tolerations: tolerating.spec.tolerations }),
    ),
    "QueueSkip",
    "another pod",
  );
  t.same(
    new NodeUnschedulable().eventsToRegister().map((e) => e.event.resource),
    ["Node", "Pod"],
  );
});
