/**
 * The node eligibility and pod shaping of kube's daemon/util (daemonset_util_test.go cases):
 * NodeShouldRunDaemonPod over node selectors, node affinity, node names and taints; the daemon
 * tolerations; the node affinity that binds a pod to its node; GetTargetNodeName; the budgets.
 */
import type { Node, Pod } from "@skiff/api";
import { FakeClock } from "@skiff/client";
import t from "tap";
import { Backoff } from "../../src/daemonset/backoff.js";
import type { DaemonSet } from "../../src/daemonset/types.js";
import { findUpdatedPodsOnNode } from "../../src/daemonset/update.js";
import {
  addOrUpdateDaemonPodTolerations,
  createPodTemplate,
  getTargetNodeName,
  nodeShouldRunDaemonPod,
  replaceDaemonSetPodNodeNameNodeAffinity,
  surgeCount,
  unavailableCount,
} from "../../src/daemonset/util.js";
import { newDaemonPod, newDS, newNode } from "./fixtures.js";

const withSpec = (spec: Partial<Pod["spec"]>): DaemonSet => {
  const ds = newDS();
  ds.spec.template.spec = { ...(ds.spec.template.spec as Pod["spec"]), ...spec };
  return ds;
};
const run = (node: Node, ds: DaemonSet) => {
  const r = nodeShouldRunDaemonPod(node, ds);
  return [r.shouldRun, r.shouldContinueRunning];
};

t.test("node selector, required node affinity (labels and metadata.name) and node name", async (t) => {
  const ssd = newNode("a", { labels: { disk: "ssd", cores: "8" } });
  const hdd = newNode("b", { labels: { disk: "hdd", cores: "2" } });
  t.same(run(ssd, withSpec({ nodeSelector: { disk: "ssd" } })), [true, true]);
  t.same(run(hdd, withSpec({ nodeSelector: { disk: "ssd" } })), [false, false]);
  const affinity = (expr: object) =>
    withSpec({
      affinity: {
        nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [expr] } },
      },
    });
  t.same(run(ssd, affinity({ matchExpressions: [{ key: "cores", operator: "Gt", values: ["4"] }] })), [
    true,
    true,
  ]);
  t.same(run(hdd, affinity({ matchExpressions: [{ key: "cores", operator: "Gt", values: ["4"] }] })), [
    false,
    false,
  ]);
  t.same(run(hdd, affinity({ matchExpressions: [{ key: "disk", operator: "NotIn", values: ["ssd"] }] })), [
    true,
    true,
  ]);
  t.same(run(ssd, affinity({ matchExpressions: [{ key: "gpu", operator: "DoesNotExist" }] })), [true, true]);
  t.same(run(ssd, affinity({ matchFields: [{ key: "metadata.name", operator: "In", values: ["a"] }] })), [
    true,
    true,
  ]);
  t.same(run(hdd, affinity({ matchFields: [{ key: "metadata.name", operator: "In", values: ["a"] }] })), [
    false,
    false,
  ]);
  t.same(run(ssd, affinity({})), [false, false], "an empty term selects nothing");
  t.same(run(ssd, withSpec({ nodeName: "b" })), [false, false]);
  t.same(run(hdd, withSpec({ nodeName: "b" })), [true, true]);
});

t.test("taints: NoSchedule blocks new pods only, NoExecute both; PreferNoSchedule neither", async (t) => {
  const ds = newDS();
  t.same(run(newNode("a", { taints: [{ key: "k", effect: "NoSchedule" }] }), ds), [false, true]);
  t.same(run(newNode("a", { taints: [{ key: "k", effect: "NoExecute" }] }), ds), [false, false]);
  t.same(run(newNode("a", { taints: [{ key: "k", effect: "PreferNoSchedule" }] }), ds), [true, true]);
  const tolerant = withSpec({
    tolerations: [{ key: "k", operator: "Equal", value: "v", effect: "NoExecute" }],
  });
  t.same(run(newNode("a", { taints: [{ key: "k", value: "v", effect: "NoExecute" }] }), tolerant), [
    true,
    true,
  ]);
  t.same(run(newNode("a", { taints: [{ key: "k", value: "w", effect: "NoExecute" }] }), tolerant), [
    false,
    false,
  ]);
  for (const key of ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"])
    t.same(
      run(newNode("a", { taints: [{ key, effect: "NoExecute" }] }), ds),
      [true, true],
      `${key} is tolerated`,
    );
  t.same(
    run(
      newNode("a", { taints: [{ key: "node.kubernetes.io/network-unavailable", effect: "NoSchedule" }] }),
      ds,
    ),
    [false, true],
  );
  t.same(
    run(
      newNode("a", { taints: [{ key: "node.kubernetes.io/network-unavailable", effect: "NoSchedule" }] }),
      withSpec({ hostNetwork: true }),
    ),
    [true, true],
    "host-network pods tolerate a node without a ready network",
  );
});

t.test("daemon tolerations replace a matching one and keep the others", async (t) => {
  const spec: Pod["spec"] = {
    containers: [],
    tolerations: [
      {
        key: "node.kubernetes.io/not-ready",
        operator: "Exists",
        effect: "NoExecute",
        tolerationSeconds: 300,
      },
      { key: "mine", operator: "Exists" },
    ],
  };
  addOrUpdateDaemonPodTolerations(spec);
  t.same(spec.tolerations?.[0], {
    key: "node.kubernetes.io/not-ready",
    operator: "Exists",
    effect: "NoExecute",
  });
  t.same(spec.tolerations?.[1], { key: "mine", operator: "Exists" });
  t.equal(spec.tolerations?.length, 7);
  const template = createPodTemplate(newDS().spec.template, "h1");
  t.equal(template.metadata?.labels?.["controller-revision-hash"], "h1");
  t.equal(
    newDS().spec.template.metadata?.labels?.["controller-revision-hash"],
    undefined,
    "the DaemonSet's own template untouched",
  );
});

t.test("the node affinity replaces the required terms and keeps the rest", async (t) => {
  const a = replaceDaemonSetPodNodeNameNodeAffinity(
    {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchExpressions: [{ key: "x", operator: "Exists" }] }],
        },
        preferredDuringSchedulingIgnoredDuringExecution: [
          { weight: 1, preference: { matchExpressions: [{ key: "y", operator: "Exists" }] } },
        ],
      },
      podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: "z" }] },
    },
    "n1",
  );
  t.same(a.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution, {
    nodeSelectorTerms: [{ matchFields: [{ key: "metadata.name", operator: "In", values: ["n1"] }] }],
  });
  t.equal(a.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution?.length, 1);
  t.ok(a.podAntiAffinity);
  t.same(
    replaceDaemonSetPodNodeNameNodeAffinity(undefined, "n2").nodeAffinity
      ?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms[0]?.matchFields?.[0]?.values,
    ["n2"],
  );
});

t.test("the target node of a pod: nodeName, else the matchFields term", async (t) => {
  const ds = newDS();
  t.equal(getTargetNodeName(newDaemonPod(ds, "p", "n1")), "n1");
  t.equal(getTargetNodeName(newDaemonPod(ds, "p", "n1", { unbound: true })), "n1");
  const bare = newDaemonPod(ds, "p", "n1", { unbound: true });
  delete bare.spec.affinity;
  t.throws(() => getTargetNodeName(bare), /no spec.affinity.nodeAffinity/);
});

t.test("budgets: maxUnavailable and maxSurge scaled (rounded up) to the desired nodes", async (t) => {
  const ds = newDS({
    updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: "30%", maxSurge: "10%" } },
  });
  t.equal(unavailableCount(ds, 10), 3);
  t.equal(unavailableCount(ds, 11), 4);
  t.equal(surgeCount(ds, 11), 2);
  t.equal(surgeCount(newDS({ updateStrategy: { type: "OnDelete" } }), 10), 0);
  t.throws(() =>
    unavailableCount(
      newDS({ updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: "x" } } }),
      3,
    ),
  );
});

t.test("findUpdatedPodsOnNode: one new and one old at most, deleting pods ignored", async (t) => {
  const ds = newDS();
  const fresh = newDaemonPod(ds, "a", "n1");
  const old = newDaemonPod(ds, "b", "n1", { hash: "old" });
  t.match(findUpdatedPodsOnNode([fresh, old], "x"), { ok: false });
  const hash = fresh.metadata.labels?.["controller-revision-hash"] as string;
  t.match(findUpdatedPodsOnNode([fresh, old], hash), { ok: true, newPod: fresh, oldPod: old });
  t.match(findUpdatedPodsOnNode([fresh, newDaemonPod(ds, "c", "n1")], hash), { ok: false });
  t.match(findUpdatedPodsOnNode([fresh, newDaemonPod(ds, "c", "n1", { deleting: true })], hash), {
    ok: true,
    newPod: fresh,
  });
});

t.test("the failed-pod backoff doubles up to its maximum and expires", async (t) => {
  const clock = new FakeClock(0);
  const b = new Backoff(clock, 1_000, 4_000);
  b.next("k", 0);
  t.ok(b.isInBackOffSinceUpdate("k", 999));
  t.notOk(b.isInBackOffSinceUpdate("k", 1_000));
  b.next("k", 1_000);
  b.next("k", 3_000);
  b.next("k", 7_000);
  t.equal(b.get("k"), 4_000, "capped");
  b.next("k", 7_000 + 8_001);
  t.equal(b.get("k"), 1_000, "idle for twice the maximum: starts over");
  clock.step(30_000);
  b.gc();
  t.equal(b.get("k"), 0);
});
