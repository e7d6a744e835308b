/**
 * The scheduler cache: assumed pods take room at once, a confirmation replaces the assumption, a
 * failed bind forgets it; snapshots copy only what changed and order nodes zone by zone; the
 * comparer finds what the informers and the cache disagree on; a malformed node is refused
 * without a trace.
 */
import t from "tap";
import { SchedulerCache } from "../../src/cache/cache.js";
import { PodInfo } from "../../src/framework/pod-info.js";
import { QuantityError } from "../../src/framework/resource.js";
import { Snapshot } from "../../src/framework/snapshot.js";
import { makeNode, makePod } from "../fixtures.js";

const zoned = (name: string, zone: string) =>
  makeNode(name, { labels: { "topology.kubernetes.io/zone": zone } });

t.test("assume, confirm, forget", async (t) => {
  const cache = new SchedulerCache();
  cache.addNode(makeNode("n1"));
  const snap = new Snapshot();
  const pod = makePod("a", { requests: { cpu: "1", memory: "1Gi" } });
  const assumed = { ...pod, spec: { ...pod.spec, nodeName: "n1" } };
  cache.assumePod(new PodInfo(assumed));
  t.ok(cache.isAssumedPod(pod));
  cache.updateSnapshot(snap);
  t.equal(snap.get("n1")?.requested.milliCPU, 1000, "the assumed pod's cpu is taken");
  t.throws(() => cache.assumePod(new PodInfo(assumed)), /can't be assumed/);
  // The informer's add of the bound pod confirms the assumption (no double count).
  cache.addPod(assumed);
  t.notOk(cache.isAssumedPod(pod));
  cache.updateSnapshot(snap);
  t.equal(snap.get("n1")?.requested.milliCPU, 1000);
  t.equal(snap.get("n1")?.pods.length, 1);
  // Forget does nothing to a confirmed pod; it undoes an unconfirmed one.
  cache.forgetPod(assumed);
  t.equal(cache.podCount(), 1);
  const b = makePod("b", { requests: { cpu: "500m" } });
  const bAssumed = { ...b, spec: { ...b.spec, nodeName: "n1" } };
  cache.assumePod(new PodInfo(bAssumed));
  cache.updateSnapshot(snap);
  t.equal(snap.get("n1")?.requested.milliCPU, 1500);
  cache.forgetPod(bAssumed);
  cache.updateSnapshot(snap);
  t.equal(snap.get("n1")?.requested.milliCPU, 1000, "a forgotten pod frees its room");
  cache.removePod(assumed);
  cache.updateSnapshot(snap);
  t.equal(snap.get("n1")?.requested.milliCPU, 0);
});

t.test("a snapshot copies only the NodeInfos that changed; a cycle's copy never moves", async (t) => {
  const cache = new SchedulerCache();
  for (let i = 0; i < 5; i++) cache.addNode(makeNode(`n${i}`));
  const snap = new Snapshot();
  cache.updateSnapshot(snap);
  t.equal(snap.numNodes(), 5);
  const before = snap.get("n3");
  const untouched = snap.get("n1");
  cache.addPod(makePod("x", { nodeName: "n3", requests: { cpu: "1" } }));
  cache.updateSnapshot(snap);
  t.not(snap.get("n3"), before, "the changed node is a new copy");
  t.equal(before?.requested.milliCPU, 0, "the old copy a running cycle may hold is unchanged");
  t.equal(snap.get("n1"), untouched, "unchanged nodes are shared");
  t.equal(snap.list().find((n) => n.name === "n3")?.requested.milliCPU, 1000, "the list holds the new copy");
});

t.test("nodes are listed zone by zone (kube's nodeTree)", async (t) => {
  const cache = new SchedulerCache();
  for (const [n, z] of [
    ["a1", "a"],
    ["a2", "a"],
    ["a3", "a"],
    ["b1", "b"],
    ["c1", "c"],
    ["c2", "c"],
  ] as const)
    cache.addNode(zoned(n, z));
  const snap = new Snapshot();
  cache.updateSnapshot(snap);
  t.same(
    snap.list().map((n) => n.name),
    ["a1", "b1", "c1", "a2", "c2", "a3"],
  );
  cache.removeNode(zoned("b1", "b"));
  cache.updateSnapshot(snap);
  t.same(
    snap.list().map((n) => n.name),
    ["a1", "c1", "a2", "c2", "a3"],
  );
});

t.test("pods with affinity are listed for InterPodAffinity", async (t) => {
  const cache = new SchedulerCache();
  cache.addNode(makeNode("n1"));
  cache.addNode(makeNode("n2"));
  const anti = makePod("anti", {
    nodeName: "n2",
    labels: { app: "x" },
    spec: {
      affinity: {
        podAntiAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: [
            { topologyKey: "kubernetes.io/hostname", labelSelector: { matchLabels: { app: "x" } } },
          ],
        },
      },
    },
  });
  cache.addPod(anti);
  const snap = new Snapshot();
  cache.updateSnapshot(snap);
  t.same(
    snap.havePodsWithRequiredAntiAffinityList().map((n) => n.name),
    ["n2"],
  );
  t.same(
    snap.havePodsWithAffinityList().map((n) => n.name),
    ["n2"],
  );
  cache.removePod(anti);
  cache.updateSnapshot(snap);
  t.same(snap.havePodsWithRequiredAntiAffinityList(), []);
});

t.test("a node with a malformed allocatable is refused and leaves no trace", async (t) => {
  const cache = new SchedulerCache();
  t.throws(() => cache.addNode(makeNode("bad", { allocatable: { cpu: "lots" } })), QuantityError);
  t.equal(cache.nodeCount(), 0);
  t.throws(
    () => new PodInfo(makePod("p", { requests: { memory: "1 GB" } })),
    /invalid quantity "1 GB" for memory/,
  );
});

t.test("the comparer reports what the informers and the cache disagree on", async (t) => {
  const cache = new SchedulerCache();
  const n1 = makeNode("n1");
  cache.addNode(n1);
  cache.addNode(makeNode("gone"));
  const p = makePod("p", { nodeName: "n1" });
  cache.addPod(p);
  const other = makePod("q", { nodeName: "n1" });
  const d = cache.compare([n1, makeNode("new")], [other]);
  t.same(d.missedNodes, ["new"]);
  t.same(d.redundantNodes, ["gone"]);
  t.same(d.missedPods, [other.metadata.uid]);
  t.same(d.redundantPods, [p.metadata.uid]);
});
