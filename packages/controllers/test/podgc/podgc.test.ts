/**
 * The pod garbage collector on a fake client and a fake clock (kube's gc_controller_test.go
 * cases): terminated pods beyond the threshold (evicted, then oldest first), orphans after the
 * quarantine and a fresh GET, terminating pods never scheduled or on out-of-service nodes.
 */
import type { Node } from "@skiff/api";
import type { FakeClient } from "@skiff/client";
import t from "tap";
import { byEvictionAndCreationTimestamp, PodGCController } from "../../src/podgc/controller.js";
import { conditions, harness, node, pod, T0 } from "../node-harness.js";

const deletes = (c: FakeClient) =>
  c
    .writes()
    .filter((a) => a.verb === "delete")
    .map((a) => a.name)
    .sort();

t.test("evicted pods sort first, then the oldest", async (t) => {
  const a = pod("a", { phase: "Failed", creationMs: T0 + 3_000 });
  const b = pod("b", { phase: "Failed", creationMs: T0 + 5_000, reason: "Evicted" });
  const c = pod("c", { phase: "Succeeded", creationMs: T0 + 1_000 });
  const d = pod("d", { phase: "Succeeded", creationMs: T0 + 1_000 });
  t.same(
    [a, d, c, b].sort(byEvictionAndCreationTimestamp).map((p) => p.metadata.name),
    ["b", "c", "d", "a"],
  );
});

t.test("terminated pods above --terminated-pod-gc-threshold are force deleted", async (t) => {
  const h = harness(
    [
      node("n1"),
      pod("old", { nodeName: "n1", phase: "Succeeded", creationMs: T0 - 3_000 }),
      pod("older", { nodeName: "n1", phase: "Failed", creationMs: T0 - 4_000 }),
      pod("new", { nodeName: "n1", phase: "Succeeded", creationMs: T0 - 1_000 }),
      pod("evicted", { nodeName: "n1", phase: "Failed", creationMs: T0, reason: "Evicted" }),
      pod("running", { nodeName: "n1", phase: "Running", creationMs: T0 - 9_000 }),
    ],
    { terminatedPodGcThreshold: 2 },
  );
  t.teardown(() => h.stop());
  const gc = new PodGCController(h.ctx);
  await h.start();
  await gc.gc();
  t.same(deletes(h.client), ["evicted", "older"]);
  for (const a of h.client.writes())
    t.same(
      a.deleteOptions,
      { gracePeriodSeconds: 0 },
      `${a.name}: grace 0, no status patch (already terminal)`,
    );
  h.client.clearActions();
  await gc.gc();
  t.same(deletes(h.client), [], "at the threshold: nothing more");
});

t.test("a threshold of 0 keeps every terminated pod", async (t) => {
  const h = harness([node("n1"), pod("done", { nodeName: "n1", phase: "Succeeded" })], {
    terminatedPodGcThreshold: 0,
  });
  t.teardown(() => h.stop());
  const gc = new PodGCController(h.ctx);
  await h.start();
  await gc.gc();
  t.same(h.client.writes(), []);
});

t.test("orphans: deleted after the quarantine, only if a fresh GET finds the node gone", async (t) => {
  const h = harness([
    node("n1"),
    pod("kept", { nodeName: "n1" }),
    pod("orphan", { nodeName: "gone", ready: true }),
    pod("lagging-pod", { nodeName: "lagging" }),
  ]);
  t.teardown(() => h.stop());
  // A node the API server has but the cache has not seen yet.
  h.client.prependReactor("get", "nodes", (a) =>
    a.name === "lagging" ? { handled: true, result: node("lagging") } : undefined,
  );
  const gc = new PodGCController(h.ctx, { quarantineTimeMs: 40_000 });
  await h.start();
  await gc.gc();
  t.same(h.client.writes(), [], "quarantined first");
  h.clock.step(39_000);
  await gc.gc();
  t.same(h.client.writes(), []);
  h.clock.step(1_000);
  await gc.gc();
  t.same(deletes(h.client), ["orphan"]);
  const [patch, del] = h.client.writes();
  t.match(patch, { verb: "patch", subresource: "status", name: "orphan" });
  t.match(patch?.patch, {
    status: {
      phase: "Failed",
      conditions: [
        {
          type: "DisruptionTarget",
          status: "True",
          reason: "DeletionByPodGC",
          message: "PodGC: node no longer exists",
        },
      ],
    },
  });
  t.same(del?.deleteOptions, { gracePeriodSeconds: 0 });
  t.ok(
    h.client.actions.some((a) => a.verb === "get" && a.resource === "nodes" && a.name === "lagging"),
    "the lagging node was checked",
  );
});

t.test(
  "terminating pods: unscheduled ones, and those on out-of-service nodes that are not Ready",
  async (t) => {
    const down = node("down", {
      conditions: conditions(T0, "False"),
      taints: [{ key: "node.kubernetes.io/out-of-service", effect: "NoExecute" }],
    });
    const h = harness([
      down,
      node("up", { taints: [{ key: "node.kubernetes.io/out-of-service", effect: "NoExecute" }] }),
      pod("unscheduled", { deleting: true, phase: "Pending" }),
      pod("on-down", { nodeName: "down", deleting: true }),
      pod("on-up", { nodeName: "up", deleting: true }),
      pod("alive-on-down", { nodeName: "down" }),
    ]);
    t.teardown(() => h.stop());
    const gc = new PodGCController(h.ctx);
    await h.start();
    await gc.gc();
    t.same(deletes(h.client), ["on-down", "unscheduled"]);
    const patches = h.client.writes().filter((a) => a.verb === "patch");
    t.same(
      patches.map((a) => (a.patch as { status: { phase: string } }).status.phase),
      ["Failed", "Failed"],
    );
    t.equal(h.get<Node>("v1", "nodes", undefined, "down").metadata.name, "down");
  },
);
