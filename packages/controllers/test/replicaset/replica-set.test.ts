/**
 * The ReplicaSet controller's sync in client-go's style: fixture caches, sync(key), then the
 * actions recorded by the fake client and the objects left in its tracker.
 */
import type { Pod } from "@skiff/api";
import { ApiError } from "@skiff/client";
import { waitFor } from "@skiff/testkit";
import t from "tap";
import {
  compareActivePods,
  POD_DELETION_COST_ANNOTATION,
  sortActivePodsWithRanks,
} from "../../src/util/active-pods.js";
import { EXPECTATIONS_TIMEOUT_MS } from "../../src/util/expectations.js";
import { newFixture, newPod, newRS, T0 } from "./fixtures.js";

const creates = (f: ReturnType<typeof newFixture>) =>
  f.client.actions.filter((a) => a.verb === "create" && a.resource === "pods");

t.test("scale up creates the missing pods, owned and labelled as the template", async (t) => {
  const f = newFixture();
  const rs = newRS("web", 5);
  f.seed(rs);
  await f.c.sync("ns/web");
  t.equal(creates(f).length, 5);
  for (const p of f.pods()) {
    t.match(p.metadata.name, /^web-/);
    t.same(p.metadata.labels, { app: "web", tier: "fe" });
    t.match(p.metadata.ownerReferences, [
      { kind: "ReplicaSet", name: "web", uid: "uid-web", controller: true },
    ]);
  }
  t.same(f.c.expectations.get("ns/web")?.add, 5, "5 creations expected until the informer sees them");
  const status = f.rs().status;
  t.equal(status?.replicas, 0, "the status counts the pods the cache shows");
  t.equal(status?.observedGeneration, 1);
  await f.flushEvents();
  t.equal(f.events.filter((e) => e.reason === "SuccessfulCreate").length, 5);
});

t.test("creates go out in slow-start batches that stop at the first failure", async (t) => {
  const f = newFixture();
  f.seed(newRS("web", 10));
  let calls = 0;
  f.client.prependReactor("create", "pods", () => {
    calls++;
    // Batches are 1, 2, 4, ...: the 4th call is in the third batch, which then ends the run.
    if (calls === 4) return { handled: true, error: new ApiError(403, { kind: "Status", message: "quota" }) };
    return undefined;
  });
  await t.rejects(f.c.sync("ns/web"), /quota/);
  t.equal(calls, 7, "batches of 1, 2 and 4, none after the failing batch");
  t.equal(f.pods().length, 6);
  t.equal(f.c.expectations.get("ns/web")?.add, 6, "the 4 skipped or failed creates are not expected");
});

t.test("expectations hold off a second round of creates while the cache lags", async (t) => {
  const f = newFixture();
  f.seed(newRS("web", 3));
  await f.c.sync("ns/web");
  t.equal(creates(f).length, 3);
  f.client.clearActions();
  await f.c.sync("ns/web");
  t.equal(creates(f).length, 0, "the cache shows no pods yet, but 3 are expected");
  // The informer sees two of them: still one expected, still no action.
  const made = f.pods();
  for (const p of made.slice(0, 2)) {
    f.c.podInformer.indexer.add(p);
    f.c.expectations.creationObserved("ns/web");
  }
  await f.c.sync("ns/web");
  t.equal(creates(f).length, 0);
  // Expectations expire (a lost watch event): the RS acts on what it sees again.
  f.clock.step(EXPECTATIONS_TIMEOUT_MS + 1);
  await f.c.sync("ns/web");
  t.equal(creates(f).length, 1);
});

t.test(
  "pod events through running informers lower the expectations; a deleted pod is replaced",
  async (t) => {
    const f = newFixture();
    const rs = newRS("web", 3);
    f.client.tracker.add(rs);
    const ac = new AbortController();
    const informers = f.c.context.informers;
    informers.start();
    t.teardown(async () => {
      ac.abort();
      await informers.shutdown();
    });
    await informers.waitForCacheSync(ac.signal);
    await f.c.sync("ns/web");
    t.equal(creates(f).length, 3);
    await waitFor(() => f.c.expectations.satisfiedExpectations("ns/web"), {
      what: "the 3 creations observed",
      timeoutMs: 10_000,
    });
    f.client.clearActions();
    await f.c.sync("ns/web");
    t.equal(creates(f).length, 0, "3 pods in the cache: nothing to create");
    t.equal(f.rs().status?.replicas, 3);
    // A pod being deleted counts as gone at once: a replacement is made.
    const victim = f.pods()[0] as Pod;
    await f.c.context.client.resource("v1", "pods", "ns").delete(victim.metadata.name);
    await waitFor(() => f.c.podInformer.indexer.size === 2, { what: "the delete seen", timeoutMs: 10_000 });
    await f.c.sync("ns/web");
    t.equal(creates(f).length, 1);
  },
);

t.test("scale down deletes unassigned, pending, unready, then recently ready pods", async (t) => {
  const f = newFixture();
  const rs = newRS("web", 2);
  f.seed(
    rs,
    newPod("ready-old", { owner: rs, node: "n1", readySince: T0 - 86_400_000 }),
    newPod("restarting", { owner: rs, node: "n2", readySince: T0 - 86_400_000, restarts: 4 }),
    newPod("ready-new", { owner: rs, node: "n3", readySince: T0 - 60_000 }),
    newPod("unready", { owner: rs, node: "n1" }),
    newPod("pending", { owner: rs, node: "n2", phase: "Pending" }),
    newPod("unassigned", { owner: rs, phase: "Pending" }),
  );
  await f.c.sync("ns/web");
  const deleted = f.client.actions.filter((a) => a.verb === "delete").map((a) => a.name);
  t.same(deleted.sort(), ["pending", "ready-new", "unassigned", "unready"]);
  t.same(
    f.pods().map((p) => p.metadata.name),
    ["ready-old", "restarting"],
  );
  t.same([...(f.c.expectations.getUIDs("ns/web") ?? [])].sort(), [
    "ns/pending",
    "ns/ready-new",
    "ns/unassigned",
    "ns/unready",
  ]);
  await f.flushEvents();
  t.equal(f.events.filter((e) => e.reason === "SuccessfulDelete").length, 4);
});

t.test("scale down prefers pods on nodes crowded with the same owner's pods", async (t) => {
  const f = newFixture();
  const owner = { apiVersion: "apps/v1", kind: "Deployment", name: "d", uid: "uid-d", controller: true };
  const rs = newRS("web", 1);
  rs.metadata.ownerReferences = [owner];
  const old = newRS("old", 3);
  old.metadata.ownerReferences = [owner];
  const ready = T0 - 3_600_000;
  f.seed(
    rs,
    old,
    newPod("a", { owner: rs, node: "n1", readySince: ready }),
    newPod("b", { owner: rs, node: "n2", readySince: ready }),
    ...[1, 2, 3].map((i) => newPod(`old-${i}`, { owner: old, node: "n2", readySince: ready })),
  );
  await f.c.sync("ns/web");
  t.same(
    f.client.actions.filter((a) => a.verb === "delete").map((a) => a.name),
    ["b"],
  );
});

t.test("claims adopt matching orphans and release pods that stopped matching", async (t) => {
  const f = newFixture();
  const rs = newRS("web", 2);
  const other = newRS("other", 1);
  f.seed(
    rs,
    other,
    newPod("orphan", { labels: { app: "web" } }),
    newPod("owned", { owner: rs }),
    newPod("relabelled", { owner: rs, labels: { app: "db" } }),
    newPod("others", { owner: other, labels: { app: "web" } }),
    newPod("orphan-other-labels", { labels: { app: "db" } }),
  );
  await f.c.sync("ns/web");
  const patches = f.client.actions.filter((a) => a.verb === "patch").map((a) => a.name);
  t.same(patches.sort(), ["orphan", "relabelled"]);
  t.ok(
    f.client.actions.some((a) => a.verb === "get" && a.resource === "replicasets"),
    "adoption first reads the RS afresh",
  );
  const byName = new Map(f.pods().map((p) => [p.metadata.name, p]));
  t.match(byName.get("orphan")?.metadata.ownerReferences, [{ uid: "uid-web", controller: true }]);
  t.same(byName.get("relabelled")?.metadata.ownerReferences ?? [], []);
  t.match(byName.get("others")?.metadata.ownerReferences, [{ uid: "uid-other" }]);
  t.equal(creates(f).length, 0, "owned + adopted = 2 = replicas");
});

t.test("no adoption by a RS being deleted, and no pod changes by it", async (t) => {
  const f = newFixture();
  const rs = newRS("web", 3);
  rs.metadata.deletionTimestamp = new Date(T0).toISOString();
  rs.metadata.finalizers = ["foregroundDeletion"];
  f.seed(rs, newPod("orphan", { labels: { app: "web" } }));
  await f.c.sync("ns/web");
  t.same(
    f.client.actions.filter((a) => a.verb !== "get" && a.verb !== "update"),
    [],
  );
});

t.test("status: counts, full labels, readiness and availability after minReadySeconds", async (t) => {
  const f = newFixture();
  const rs = newRS("web", 4, { minReadySeconds: 10 });
  rs.metadata.generation = 3;
  f.seed(
    rs,
    newPod("available", { owner: rs, node: "n1", readySince: T0 - 60_000 }),
    newPod("just-ready", { owner: rs, node: "n1", readySince: T0 - 5_000 }),
    newPod("unready", { owner: rs, node: "n1" }),
    newPod("partly-labelled", { owner: rs, node: "n1", labels: { app: "web" }, readySince: T0 - 60_000 }),
    newPod("failed", { owner: rs, node: "n1", phase: "Failed" }),
    newPod("terminating", { owner: rs, node: "n1", deleting: true }),
  );
  await f.c.sync("ns/web");
  t.same(
    f.client.writes().map((a) => [a.verb, a.subresource]),
    [["update", "status"]],
  );
  t.match(f.rs().status, {
    replicas: 4,
    fullyLabeledReplicas: 3,
    readyReplicas: 3,
    availableReplicas: 2,
    observedGeneration: 3,
  });
  // Nothing changed: no write at all.
  f.c.rsInformer.indexer.add(f.rs());
  f.client.clearActions();
  await f.c.sync("ns/web");
  t.same(f.client.writes(), []);
  // Time passes: just-ready turns available, and the status says so.
  f.clock.step(10_000);
  await f.c.sync("ns/web");
  t.equal(f.rs().status?.availableReplicas, 3);
});

t.test("minReadySeconds: all ready but not all available -> a resync after minReadySeconds", async (t) => {
  const f = newFixture();
  const rs = newRS("web", 1, { minReadySeconds: 30 });
  f.seed(rs, newPod("p", { owner: rs, node: "n1", readySince: T0 - 1_000 }));
  await f.c.sync("ns/web");
  t.equal(f.c.queue.len(), 0);
  f.clock.step(30_000);
  await waitFor(() => f.c.queue.len() === 1, { what: "the delayed resync", timeoutMs: 5_000 });
});

t.test("a template that cannot be admitted: ReplicaFailure, FailedCreate events, backoff", async (t) => {
  const f = newFixture();
  f.seed(newRS("web", 3));
  let admit = false;
  f.client.prependReactor("create", "pods", () =>
    admit
      ? undefined
      : {
          handled: true,
          error: new ApiError(403, {
            kind: "Status",
            reason: "Forbidden",
            code: 403,
            message:
              'pods "web-x" is forbidden: exceeded quota: q, requested: pods=1, used: pods=0, limited: pods=0',
          }),
        },
  );
  f.c.queue.add("ns/web");
  await f.c.processNextWorkItem();
  t.equal(creates(f).length, 1, "slow start: one failed create, not three");
  t.equal(f.c.queue.numRequeues("ns/web"), 1, "requeued with backoff");
  t.match(f.rs().status?.conditions, [{ type: "ReplicaFailure", status: "True", reason: "FailedCreate" }]);
  t.match(f.rs().status?.conditions?.[0]?.message, /exceeded quota/);
  t.ok(f.c.expectations.satisfiedExpectations("ns/web"), "the failed create is not expected");
  await f.flushEvents();
  t.match(
    f.events.filter((e) => e.type === "Warning"),
    [{ reason: "FailedCreate", message: /^Error creating: .*exceeded quota/ }],
  );
  const retries = await f.c.context.metrics.getSingleMetric("workqueue_retries_total")?.get();
  t.equal(retries?.values.find((v) => v.labels.name === "replicaset")?.value, 1);

  // Failing again: the condition is already there, so no status write (no update event, no hot loop).
  f.c.rsInformer.indexer.add(f.rs());
  f.client.clearActions();
  await t.rejects(f.c.sync("ns/web"));
  t.same(
    f.client.writes().map((a) => a.verb),
    ["create"],
  );

  // Admitted at last: the pods come and the condition goes.
  admit = true;
  f.client.clearActions();
  await f.c.sync("ns/web");
  t.equal(creates(f).length, 3);
  t.same(f.rs().status?.conditions ?? [], []);
});

t.test("a failed delete sets ReplicaFailure FailedDelete and lowers its expectation", async (t) => {
  const f = newFixture();
  const rs = newRS("web", 1);
  f.seed(rs, newPod("a", { owner: rs, node: "n1" }), newPod("b", { owner: rs, node: "n1" }));
  f.client.prependReactor("delete", "pods", () => ({ handled: true, error: new ApiError(500, "etcd down") }));
  await t.rejects(f.c.sync("ns/web"), /etcd down/);
  t.match(f.rs().status?.conditions, [{ type: "ReplicaFailure", reason: "FailedDelete" }]);
  t.ok(f.c.expectations.satisfiedExpectations("ns/web"));
});

t.test("burstReplicas bounds one sync's creates", async (t) => {
  const f = newFixture({ burstReplicas: 4 });
  f.seed(newRS("web", 10));
  await f.c.sync("ns/web");
  t.equal(creates(f).length, 4);
});

t.test("a deleted RS: its expectations go, nothing is done", async (t) => {
  const f = newFixture();
  f.c.expectations.expectCreations("ns/gone", 3);
  await f.c.sync("ns/gone");
  t.equal(f.c.expectations.get("ns/gone"), undefined);
  t.same(f.client.actions, []);
});

const day = 86_400_000;
const base = { node: "n1", readySince: T0 - day, created: T0 - 2 * day };
/** Pods that differ in one sort key each from `base`. */
const orderFixtures = () => [
  newPod("oldest", { ...base, created: T0 - 10 * day }),
  newPod("costly-young", {
    ...base,
    readySince: T0 - 1_000,
    annotations: { [POD_DELETION_COST_ANNOTATION]: "100" },
  }),
  newPod("restarts", { ...base, restarts: 3 }),
  newPod("plain", base),
];

t.test("ActivePodsWithRanks: deletion cost, rank, ready time, restarts, then creation time", async (t) => {
  const pods = [
    ...orderFixtures(),
    newPod("cheap", { ...base, annotations: { [POD_DELETION_COST_ANNOTATION]: "-5" } }),
    newPod("crowded", base),
    newPod("young-ready", { ...base, readySince: T0 - 1_000 }),
  ];
  const ranks = pods.map((p) => (p.metadata.name === "crowded" ? 2 : 0));
  const order = sortActivePodsWithRanks(pods, ranks, T0).map((p) => p.metadata.name);
  t.same(order, ["cheap", "crowded", "young-ready", "restarts", "plain", "oldest", "costly-young"]);
  // Ages within one power of two are equal on the logarithmic scale: the uid decides.
  const twins = [
    newPod("b", { ...base, created: T0 - 1000 * 1000 }),
    newPod("a", { ...base, created: T0 - 1001 * 1000 }),
  ];
  t.same(
    sortActivePodsWithRanks(twins, [0, 0], T0).map((p) => p.metadata.name),
    ["a", "b"],
  );
});

t.test("ActivePods (the Job's order): no cost or rank, plain times", async (t) => {
  const pods = [
    ...orderFixtures(),
    newPod("unready", { node: "n1", created: base.created }),
    newPod("unassigned", { readySince: base.readySince, created: base.created }),
    newPod("pending", { ...base, phase: "Pending" }),
    newPod("newer", { ...base, created: T0 - day - 1000 }),
  ];
  t.same(
    [...pods].sort(compareActivePods).map((p) => p.metadata.name),
    ["unassigned", "pending", "unready", "costly-young", "restarts", "newer", "plain", "oldest"],
    "the deletion cost is not read; a second's difference in age counts",
  );
});
