/**
 * The node lifecycle controller on a fake client and a fake clock, as kube's
 * node_lifecycle_controller_test.go drives it: monitorNodeHealth passes with the clock stepped
 * in between, Lease renewals, NoSchedule and NoExecute taints, zone rates and disruption.
 */
import type { Node, Pod, Taint } from "@skiff/api";
import { FakeClock } from "@skiff/client";
import t from "tap";
import { NodeLifecycleController } from "../../src/nodelifecycle/controller.js";
import { RateLimitedTimedQueue } from "../../src/nodelifecycle/rate-limited-queue.js";
import { computeZoneState, getZoneKey } from "../../src/nodelifecycle/zone.js";
import { conditions, harness, lease, node, pod, T0 } from "../node-harness.js";

const unreachableNoExecute = { key: "node.kubernetes.io/unreachable", effect: "NoExecute" };
const notReadyNoExecute = { key: "node.kubernetes.io/not-ready", effect: "NoExecute" };

const taintsOf = (n: Node) => (n.spec?.taints ?? []).map((x) => ({ key: x.key, effect: x.effect }));
const has = (n: Node, taint: Taint | { key: string; effect: string }) =>
  taintsOf(n).some((x) => x.key === taint.key && x.effect === taint.effect);

async function setup(objects: Parameters<typeof harness>[0], config: Parameters<typeof harness>[1] = {}) {
  const h = harness(objects, config);
  const c = new NodeLifecycleController(h.ctx);
  await h.start();
  const nodeNamed = (name: string) => h.get<Node>("v1", "nodes", undefined, name);
  return { h, c, nodeNamed };
}

t.test("zone keys and zone states as kube computes them", async (t) => {
  t.equal(getZoneKey(node("a")), "");
  t.equal(getZoneKey(node("a", { zone: "z1" })), ":\x00:z1");
  const ready = { type: "Ready", status: "True" as const };
  const unknown = { type: "Ready", status: "Unknown" as const };
  t.same(computeZoneState([ready, unknown], 0.55), { unhealthy: 1, state: "Normal" });
  t.same(computeZoneState([unknown, undefined], 0.55), { unhealthy: 2, state: "FullDisruption" });
  t.same(computeZoneState([unknown, unknown, unknown, ready], 0.55), {
    unhealthy: 3,
    state: "PartialDisruption",
  });
  t.same(
    computeZoneState([unknown, unknown, ready], 0.55),
    { unhealthy: 2, state: "Normal" },
    "at most 2 is Normal",
  );
});

t.test("the rate-limited timed queue: once per value, at the limiter's rate, swappable", async (t) => {
  const clock = new FakeClock(T0);
  const q = new RateLimitedTimedQueue(0.1, clock);
  t.ok(q.add("a", "1"));
  t.ok(q.add("b", "2"));
  t.notOk(q.add("a", "1"), "no second add while present");
  const seen: string[] = [];
  const take = () =>
    q.tryProcess(async (v) => {
      seen.push(v.value);
      return { done: true };
    });
  await take();
  t.same(seen, ["a"], "burst 1: one value now");
  clock.step(5_000);
  await take();
  t.same(seen, ["a"], "half a token later: none");
  clock.step(5_000);
  await take();
  t.same(seen, ["a", "b"]);
  t.notOk(q.add("a", "1"), "a processed value stays known until removed");
  t.ok(q.remove("a"));
  t.ok(q.add("a", "1"));
  q.swapLimiter(0);
  clock.step(60_000);
  await take();
  t.same(seen, ["a", "b"], "rate 0 stops the queue");
  q.swapLimiter(1);
  clock.step(1_000);
  await take();
  t.same(seen, ["a", "b", "a"]);
  t.ok(q.add("c", "3"));
  clock.step(1_000);
  let tried = 0;
  await q.tryProcess(async () => {
    tried++;
    return { done: false, waitMs: 2_000 };
  });
  t.equal(tried, 1);
  clock.step(1_000);
  await take();
  t.same(seen, ["a", "b", "a"], "a retried value waits");
  clock.step(1_001);
  await take();
  t.same(seen, ["a", "b", "a", "c"]);
});

t.test("a node whose Lease and status go silent turns Unknown, tainted, its pods not Ready", async (t) => {
  const { h, c, nodeNamed } = await setup(
    [
      node("n1", { zone: "z" }),
      node("n2", { zone: "z" }),
      lease("n1", T0),
      lease("n2", T0),
      pod("p1", { nodeName: "n1", ready: true }),
      pod("p2", { nodeName: "n2", ready: true }),
    ],
    { nodeMonitorGracePeriodMs: 40_000 },
  );
  t.teardown(() => h.stop());
  await c.monitorNodeHealth();
  t.same(h.client.writes(), [], "healthy nodes: no writes");
  // n2 keeps renewing its Lease; n1 falls silent.
  for (let s = 0; s < 4; s++) {
    h.clock.step(10_000);
    h.client.tracker.add(lease("n2", h.clock.now()));
    await c.monitorNodeHealth();
  }
  t.equal(
    nodeNamed("n1").status?.conditions?.find((x) => x.type === "Ready")?.status,
    "True",
    "40 s: not yet",
  );
  h.clock.step(1_000);
  h.client.tracker.add(lease("n2", h.clock.now()));
  await c.monitorNodeHealth();
  const n1 = nodeNamed("n1");
  for (const type of ["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"]) {
    const cond = n1.status?.conditions?.find((x) => x.type === type);
    t.match(
      cond,
      { status: "Unknown", reason: "NodeStatusUnknown", message: "Kubelet stopped posting node status." },
      type,
    );
  }
  t.equal(
    nodeNamed("n2").status?.conditions?.find((x) => x.type === "Ready")?.status,
    "True",
    "the renewing node stays Ready",
  );
  const p1 = h.get<Pod>("v1", "pods", "default", "p1");
  t.equal(p1.status?.conditions?.find((x) => x.type === "Ready")?.status, "False", "MarkPodsNotReady");
  t.equal(h.get<Pod>("v1", "pods", "default", "p2").status?.conditions?.[0]?.status, "True");
  const events = await h.events();
  t.ok(
    events.some(
      (e) =>
        e.reason === "NodeNotReady" &&
        e.involvedObject.kind === "Node" &&
        e.message === "Node n1 status is now: NodeNotReady",
    ),
  );
  t.ok(
    events.some((e) => e.reason === "NodeNotReady" && e.involvedObject.name === "p1" && e.type === "Warning"),
  );
  t.ok(
    events.some(
      (e) => e.reason === "RegisteredNode" && e.message === "Node n1 event: Registered Node n1 in Controller",
    ),
  );

  // The node queue's NoSchedule pass mirrors Ready=Unknown.
  await c.sync("n1");
  t.ok(has(nodeNamed("n1"), { key: "node.kubernetes.io/unreachable", effect: "NoSchedule" }));
  t.notOk(has(nodeNamed("n1"), unreachableNoExecute), "NoExecute waits for the queue");
  // The next pass sees Unknown as observed and queues the node; the tainting pass taints it.
  await c.monitorNodeHealth();
  await c.noExecute.doNoExecuteTaintingPass();
  t.ok(has(nodeNamed("n1"), unreachableNoExecute));
  t.notOk(has(nodeNamed("n2"), unreachableNoExecute));
  const taint = nodeNamed("n1").spec?.taints?.find((x) => x.effect === "NoExecute");
  t.ok(taint?.timeAdded, "timeAdded stamped");
});

t.test(
  "a Lease renewal alone keeps a node healthy; a status of its own Ready False gets not-ready",
  async (t) => {
    const { h, c, nodeNamed } = await setup([
      node("n1"),
      node("n2", { conditions: conditions(T0, "False") }),
      lease("n1", T0),
      lease("n2", T0),
    ]);
    t.teardown(() => h.stop());
    await c.monitorNodeHealth();
    for (let s = 0; s < 10; s++) {
      h.clock.step(10_000);
      h.client.tracker.add(lease("n1", h.clock.now()));
      h.client.tracker.add(lease("n2", h.clock.now()));
      await c.monitorNodeHealth();
      await c.noExecute.doNoExecuteTaintingPass();
    }
    t.equal(
      nodeNamed("n1").status?.conditions?.find((x) => x.type === "Ready")?.status,
      "True",
      "100 s on leases alone",
    );
    t.ok(has(nodeNamed("n2"), notReadyNoExecute), "Ready=False posted by the kubelet: not-ready NoExecute");
    t.notOk(has(nodeNamed("n2"), unreachableNoExecute));
    // It comes back: a status with Ready True and a new heartbeat takes the taint off.
    h.client.tracker.add({ ...nodeNamed("n2"), status: { conditions: conditions(h.clock.now(), "True") } });
    await c.monitorNodeHealth();
    await c.monitorNodeHealth();
    t.notOk(has(nodeNamed("n2"), notReadyNoExecute), "Ready again: the NoExecute taint is removed");
  },
);

t.test("a node that never posted status gets the startup grace period", async (t) => {
  const fresh = node("new", { conditions: [] });
  const { h, c, nodeNamed } = await setup([fresh], { nodeStartupGracePeriodMs: 60_000 });
  t.teardown(() => h.stop());
  await c.monitorNodeHealth();
  h.clock.step(50_000);
  await c.monitorNodeHealth();
  t.same(nodeNamed("new").status?.conditions ?? [], [], "within the startup grace");
  h.clock.step(11_000);
  await c.monitorNodeHealth();
  const ready = nodeNamed("new").status?.conditions?.find((x) => x.type === "Ready");
  t.match(ready, {
    status: "Unknown",
    reason: "NodeStatusNeverUpdated",
    message: "Kubelet never posted node status.",
  });
});

t.test(
  "taints follow conditions and unschedulable (doNoScheduleTaintingPass), others are left alone",
  async (t) => {
    const conds = conditions(T0).map((x) =>
      x.type === "MemoryPressure" ? { ...x, status: "True" as const } : x,
    );
    const other = { key: "example.com/dedicated", value: "x", effect: "NoSchedule" as const };
    const stale = { key: "node.kubernetes.io/disk-pressure", effect: "NoSchedule" as const };
    const { h, c, nodeNamed } = await setup([
      node("n1", { conditions: conds, unschedulable: true, taints: [other, stale] }),
    ]);
    t.teardown(() => h.stop());
    await c.sync("n1");
    t.same(
      taintsOf(nodeNamed("n1")).sort((a, b) => a.key.localeCompare(b.key)),
      [
        { key: "example.com/dedicated", effect: "NoSchedule" },
        { key: "node.kubernetes.io/memory-pressure", effect: "NoSchedule" },
        { key: "node.kubernetes.io/unschedulable", effect: "NoSchedule" },
      ],
    );
    const labels = nodeNamed("n1").metadata.labels ?? {};
    t.equal(labels["beta.kubernetes.io/os"], undefined, "no stable os label: nothing to mirror");
    h.client.clearActions();
    await c.sync("n1");
    t.same(h.client.writes(), [], "nothing to change: no writes");
  },
);

t.test("evictions in a zone go at --node-eviction-rate", async (t) => {
  const names = Array.from({ length: 10 }, (_, i) => `n${i}`);
  const { h, c, nodeNamed } = await setup(
    [...names.map((n) => node(n, { zone: "z" })), ...names.map((n) => lease(n, T0))],
    { nodeEvictionRate: 0.1, nodeMonitorGracePeriodMs: 40_000 },
  );
  t.teardown(() => h.stop());
  await c.monitorNodeHealth();
  h.clock.step(41_000);
  for (const n of names.slice(2)) h.client.tracker.add(lease(n, h.clock.now()));
  await c.monitorNodeHealth(); // n0, n1 turn Unknown
  await c.monitorNodeHealth(); // and are queued
  await c.noExecute.doNoExecuteTaintingPass();
  const tainted = () => names.filter((n) => has(nodeNamed(n), unreachableNoExecute));
  t.equal(tainted().length, 1, "one token: one node");
  h.clock.step(5_000);
  await c.noExecute.doNoExecuteTaintingPass();
  t.equal(tainted().length, 1);
  h.clock.step(5_000);
  await c.noExecute.doNoExecuteTaintingPass();
  t.same(tainted(), ["n0", "n1"], "10 s later the second");
  t.equal(c.zones.zoneStates.get(":\x00:z"), "Normal");
});

t.test("a small zone in partial disruption stops tainting; all zones down stops and untaints", async (t) => {
  const names = ["a", "b", "c", "d"];
  const { h, c, nodeNamed } = await setup([
    ...names.map((n) => node(n, { zone: "z" })),
    ...names.map((n) => lease(n, T0)),
  ]);
  t.teardown(() => h.stop());
  await c.monitorNodeHealth();
  h.clock.step(41_000);
  h.client.tracker.add(lease("d", h.clock.now()));
  await c.monitorNodeHealth();
  await c.monitorNodeHealth();
  await c.noExecute.doNoExecuteTaintingPass();
  t.equal(c.zones.zoneStates.get(":\x00:z"), "PartialDisruption", "3 of 4 not ready");
  t.equal(c.zones.tainter(":\x00:z").rate, 0, "a zone under --large-cluster-size-threshold: rate 0");
  t.notOk(
    names.some((n) => has(nodeNamed(n), unreachableNoExecute)),
    "nothing tainted",
  );
  // The last node goes silent too: every zone is fully disrupted.
  h.clock.step(41_000);
  await c.monitorNodeHealth();
  await c.monitorNodeHealth();
  await c.noExecute.doNoExecuteTaintingPass();
  t.equal(c.zones.zoneStates.get(":\x00:z"), "FullDisruption");
  t.notOk(
    names.some((n) => has(nodeNamed(n), unreachableNoExecute)),
    "still nothing tainted",
  );
  // One node back: disruption mode ends, probes are reset, rates follow the new states.
  h.client.tracker.add({ ...nodeNamed("a"), status: { conditions: conditions(h.clock.now()) } });
  h.client.tracker.add(lease("a", h.clock.now()));
  await c.monitorNodeHealth();
  t.equal(c.zones.zoneStates.get(":\x00:z"), "PartialDisruption");
});

t.test("a pod bound to a node already not Ready is marked not Ready (processPod)", async (t) => {
  const { h, c } = await setup([node("n1"), lease("n1", T0)]);
  t.teardown(() => h.stop());
  await c.monitorNodeHealth();
  h.clock.step(41_000);
  await c.monitorNodeHealth();
  h.client.tracker.add(pod("late", { nodeName: "n1", ready: true }));
  t.equal(c.podUpdateQueue.len(), 1, "the new binding is queued");
  await c.processNextPodItem();
  t.equal(h.get<Pod>("v1", "pods", "default", "late").status?.conditions?.[0]?.status, "False");
});
