/**
 * The disruption controller's sync on fixture caches (kube's disruption_test shapes): the status
 * of a budget from its pods and their controllers' scale, percentages, disruptedPods, the
 * fail-safe, and the stale DisruptionTarget condition.
 */
import type { KubeObject, Pod } from "@skiff/api";
import t, { type Test } from "tap";
import { DisruptionController } from "../../src/disruption/controller.js";
import type { PodDisruptionBudget } from "../../src/disruption/types.js";
import { getScaledValueFromIntOrPercent } from "../../src/util/intstr.js";
import { pod } from "../endpointslice/fixtures.js";
import { type Harness, harness } from "../endpointslice/harness.js";

function setup(t: Test): { h: Harness; c: DisruptionController } {
  const h = harness();
  t.teardown(() => h.close());
  return { h, c: new DisruptionController(h.ctx) };
}

function pdb(
  spec: PodDisruptionBudget["spec"],
  status: PodDisruptionBudget["status"] = {},
): PodDisruptionBudget {
  return {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: { name: "budget", namespace: "ns", uid: "pdb-uid", generation: 3, resourceVersion: "1" },
    spec: { selector: { matchLabels: { app: "web" } }, ...spec },
    status,
  };
}

function owner(kind: string, name: string, uid: string, apiVersion = "apps/v1") {
  return { apiVersion, kind, name, uid, controller: true };
}

function workload(
  kind: string,
  name: string,
  replicas: number,
  ownerRef?: ReturnType<typeof owner>,
): KubeObject {
  return {
    apiVersion: "apps/v1",
    kind,
    metadata: {
      name,
      namespace: "ns",
      uid: `${kind}-${name}`,
      ...(ownerRef === undefined ? {} : { ownerReferences: [ownerRef] }),
    },
    spec: { replicas },
  };
}

function owned(p: Pod, ref: ReturnType<typeof owner>): Pod {
  return { ...p, metadata: { ...p.metadata, ownerReferences: [ref] } };
}

/** The budget as the controller last wrote it (seeded in the tracker first). */
async function syncBudget(
  h: Harness,
  c: DisruptionController,
  b: PodDisruptionBudget,
): Promise<PodDisruptionBudget> {
  h.client.tracker.add(b);
  h.cache(b);
  await c.sync("ns/budget");
  return h.stored<PodDisruptionBudget>("PodDisruptionBudget")[0] as PodDisruptionBudget;
}

t.test("minAvailable as a number counts the pods found", async (t) => {
  const { h, c } = setup(t);
  h.cache(pod("a"), pod("b"), pod("c"), pod("slow", { ready: false }), pod("going", { deleting: true }));
  const got = await syncBudget(h, c, pdb({ minAvailable: 2 }));
  t.match(got.status, {
    expectedPods: 5,
    currentHealthy: 3,
    desiredHealthy: 2,
    disruptionsAllowed: 1,
    observedGeneration: 3,
    disruptedPods: {},
  });
  t.match(got.status?.conditions, [
    { type: "DisruptionAllowed", status: "True", reason: "SufficientPods", observedGeneration: 3 },
  ]);
  h.cache(got);
  h.client.clearActions();
  await c.sync("ns/budget");
  t.same(h.writes("poddisruptionbudgets"), [], "an up-to-date status is not written again");
});

t.test("maxUnavailable and percentages count against the controllers' scale", async (t) => {
  const { h, c } = setup(t);
  const dep = workload("Deployment", "web", 4);
  const rs = workload("ReplicaSet", "web-1", 4, owner("Deployment", "web", "Deployment-web"));
  const ss = workload("StatefulSet", "db", 2);
  h.cache(dep, rs, ss);
  const rsRef = owner("ReplicaSet", "web-1", "ReplicaSet-web-1");
  const ssRef = owner("StatefulSet", "db", "StatefulSet-db");
  // 3 of the Deployment's 4 pods and both of the StatefulSet's exist, all ready.
  h.cache(owned(pod("w1"), rsRef), owned(pod("w2"), rsRef), owned(pod("w3"), rsRef));
  h.cache(owned(pod("d1"), ssRef), owned(pod("d2"), ssRef));
  let got = await syncBudget(h, c, pdb({ maxUnavailable: "34%" }));
  // expected 6; 34% of 6 rounded up is 3 unavailable; 3 desired; 5 healthy.
  t.match(got.status, { expectedPods: 6, desiredHealthy: 3, currentHealthy: 5, disruptionsAllowed: 2 });
  got = await syncBudget(h, c, pdb({ minAvailable: "90%" }));
  t.match(got.status, { expectedPods: 6, desiredHealthy: 6, currentHealthy: 5, disruptionsAllowed: 0 });
  t.match(got.status?.conditions, [
    { type: "DisruptionAllowed", status: "False", reason: "InsufficientPods" },
  ]);
});

t.test("a pod whose controller cannot be scaled fails safe: SyncFailed", async (t) => {
  const { h, c } = setup(t);
  h.cache(owned(pod("j"), owner("Job", "batch-1", "job-uid", "batch/v1")));
  const got = await syncBudget(h, c, pdb({ maxUnavailable: 1 }, { disruptionsAllowed: 4 }));
  t.equal(got.status?.disruptionsAllowed, 0);
  t.match(got.status?.conditions, [
    {
      type: "DisruptionAllowed",
      status: "False",
      reason: "SyncFailed",
      message: "jobs.batch does not implement the scale subresource",
    },
  ]);
  // A controller that is gone: no scale found.
  h.uncache(owned(pod("j"), owner("Job", "batch-1", "job-uid", "batch/v1")));
  h.cache(owned(pod("r"), owner("ReplicaSet", "gone", "rs-gone")));
  const again = await syncBudget(h, c, pdb({ maxUnavailable: 1 }));
  t.match(again.status?.conditions, [{ reason: "SyncFailed", message: 'found no controllers for pod "r"' }]);
  // An integer minAvailable needs no controller at all.
  const plain = await syncBudget(h, c, pdb({ minAvailable: 0 }));
  t.match(plain.status, { disruptionsAllowed: 1, expectedPods: 1 });
});

t.test("disruptedPods: awaited evictions count as unhealthy, expire after 2 minutes", async (t) => {
  const { h, c } = setup(t);
  h.cache(pod("a"), pod("b"), pod("c"), pod("evicted-gone-already", { deleting: true }));
  const now = h.clock.now();
  const at = new Date(now - 30_000).toISOString().replace(/\.\d{3}Z$/, "Z");
  let got = await syncBudget(
    h,
    c,
    pdb({ minAvailable: 1 }, { disruptedPods: { a: at, "evicted-gone-already": at, absent: at } }),
  );
  t.same(got.status?.disruptedPods, { a: at }, "only the pod still awaited stays");
  t.match(got.status, { currentHealthy: 2, disruptionsAllowed: 1 });
  t.equal(c.queue.waitingLen(), 1, "a recheck when the entry expires");
  h.clock.step(91_000);
  t.equal(c.queue.len(), 1);
  got = await syncBudget(h, c, got);
  t.same(got.status?.disruptedPods, {}, "never deleted: dropped");
  t.match(got.status, { currentHealthy: 3, disruptionsAllowed: 2 });
});

t.test("a budget without pods, or without a selector, allows nothing", async (t) => {
  const { h, c } = setup(t);
  let got = await syncBudget(h, c, pdb({ maxUnavailable: 1 }));
  t.match(got.status, { expectedPods: 0, disruptionsAllowed: 0 });
  h.cache(pod("a"));
  got = await syncBudget(h, c, { ...pdb({ maxUnavailable: 1 }), spec: { maxUnavailable: 1 } });
  t.match(got.status, { expectedPods: 0, currentHealthy: 0, disruptionsAllowed: 0 });
});

t.test("a stale DisruptionTarget condition is reset after 2 minutes", async (t) => {
  const { h, c } = setup(t);
  const since = new Date(h.clock.now() - 60_000).toISOString().replace(/\.\d{3}Z$/, "Z");
  const p = pod("a");
  p.status?.conditions?.push({
    type: "DisruptionTarget",
    status: "True",
    reason: "EvictionByEvictionAPI",
    lastTransitionTime: since,
  });
  h.client.tracker.add(p);
  h.catchUp("Pod");
  await c.syncStalePodDisruption("ns/a");
  t.same(h.writes("pods"), [], "not stale yet");
  t.equal(c.stalePodDisruptionQueue.waitingLen(), 1);
  h.clock.step(60_000);
  t.ok(await c.processNextStalePodDisruptionWorkItem());
  const [after] = h.stored<Pod>("Pod");
  t.match(
    after?.status?.conditions?.find((x) => x.type === "DisruptionTarget"),
    { status: "False" },
  );
});

t.test("getScaledValueFromIntOrPercent", async (t) => {
  t.equal(getScaledValueFromIntOrPercent(3, 10, true), 3);
  t.equal(getScaledValueFromIntOrPercent("25%", 10, true), 3);
  t.equal(getScaledValueFromIntOrPercent("25%", 10, false), 2);
  t.throws(() => getScaledValueFromIntOrPercent("3", 10, true), /not a percentage/);
});
