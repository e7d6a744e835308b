/**
 * The taint eviction controller on a fake client and a fake clock (kube's
 * taint_eviction_test.go cases): immediate deletion of pods that do not tolerate a NoExecute
 * taint, deletion after the shortest tolerationSeconds, cancellation when the taint goes, and the
 * DisruptionTarget condition written before the delete.
 */
import type { Node, Pod, Taint, Toleration } from "@skiff/api";
import { ApiError, isNotFound } from "@skiff/client";
import t from "tap";
import { getMinTolerationTime, TaintEvictionController } from "../../src/tainteviction/controller.js";
import { harness, node, pod } from "../node-harness.js";

const unreachable: Taint = { key: "node.kubernetes.io/unreachable", effect: "NoExecute" };
const notReady: Taint = { key: "node.kubernetes.io/not-ready", effect: "NoExecute" };
const tolerate = (seconds?: number, key = unreachable.key): Toleration => ({
  key,
  operator: "Exists",
  effect: "NoExecute",
  ...(seconds === undefined ? {} : { tolerationSeconds: seconds }),
});

async function setup(objects: Parameters<typeof harness>[0]) {
  const h = harness(objects);
  const c = new TaintEvictionController(h.ctx);
  await h.start();
  /** Runs what the informers queued, then the deletions that fell due. */
  const drain = async () => {
    while (c.queue.len() > 0) await c.processNextWorkItem();
    while (c.podUpdateQueue.len() > 0) await c.processNextPodItem();
    await c.taintEvictionQueue.idle();
  };
  const exists = (name: string) => {
    try {
      h.get<Pod>("v1", "pods", "default", name);
      return true;
    } catch (e) {
      if (isNotFound(e)) return false;
      throw e;
    }
  };
  const taint = (name: string, taints: Taint[]) => {
    const n = h.get<Node>("v1", "nodes", undefined, name);
    h.client.tracker.add({ ...n, spec: { ...n.spec, taints } });
  };
  t.teardown(() => h.stop());
  return { h, c, drain, exists, taint };
}

t.test("getMinTolerationTime", async (t) => {
  t.equal(getMinTolerationTime([]), 0, "no toleration used: now");
  t.equal(getMinTolerationTime([tolerate()]), -1, "unlimited: forever");
  t.equal(getMinTolerationTime([tolerate(30), tolerate(), tolerate(10)]), 10_000);
  t.equal(getMinTolerationTime([tolerate(30), tolerate(-5)]), 0, "<= 0: now");
});

t.test("a pod not tolerating a NoExecute taint is marked and deleted at once", async (t) => {
  const { h, c, drain, exists, taint } = await setup([
    node("n1"),
    node("n2"),
    pod("victim", { nodeName: "n1" }),
    pod("elsewhere", { nodeName: "n2" }),
    pod("tolerant", { nodeName: "n1", tolerations: [tolerate()] }),
  ]);
  await drain();
  t.ok(exists("victim"), "no taint yet: nothing happens");
  h.client.clearActions();
  taint("n1", [{ ...unreachable, timeAdded: "2026-03-01T12:00:00Z" }]);
  await drain();
  t.notOk(exists("victim"));
  t.ok(exists("elsewhere"));
  t.ok(exists("tolerant"), "tolerated forever");
  const writes = h.client
    .writes()
    .map((a) => `${a.verb} ${a.resource}${a.subresource ? `/${a.subresource}` : ""} ${a.name}`);
  t.same(writes, ["patch pods/status victim", "delete pods victim"], "condition first, then delete");
  const patch = h.client.writes()[0]?.patch as {
    status: { conditions: unknown[] };
    metadata: { uid: string };
  };
  t.match(patch.status.conditions, [
    {
      type: "DisruptionTarget",
      status: "True",
      reason: "DeletionByTaintManager",
      message: "Taint manager: deleting due to NoExecute taint",
    },
  ]);
  t.ok(patch.metadata.uid, "the status patch carries the uid");
  const events = await h.events();
  t.ok(
    events.some(
      (e) => e.reason === "TaintManagerEviction" && e.message === "Marking for deletion Pod default/victim",
    ),
  );
  t.equal(c.taintEvictionQueue.keys().length, 0);
});

t.test("tolerationSeconds: deleted once the shortest has passed, not before", async (t) => {
  const { h, drain, exists, taint } = await setup([
    node("n1"),
    pod("short", { nodeName: "n1", tolerations: [tolerate(300), tolerate(30, notReady.key)] }),
    pod("long", {
      nodeName: "n1",
      tolerations: [tolerate(300), tolerate(600, ""), tolerate(5, notReady.key)],
    }),
  ]);
  await drain();
  taint("n1", [unreachable, notReady]);
  await drain();
  h.clock.step(29_000);
  await drain();
  t.ok(exists("short"), "29 s: tolerated");
  h.clock.step(1_000);
  await drain();
  t.notOk(exists("short"), "30 s: deleted (the shortest of the tolerations used)");
  h.clock.step(269_000);
  await drain();
  t.ok(exists("long"));
  h.clock.step(1_000);
  await drain();
  t.notOk(exists("long"), "300 s: for each taint the first toleration matching it counts");
});

t.test("the taint removed in time cancels the deletion, with an event", async (t) => {
  const { h, drain, exists, taint } = await setup([
    node("n1"),
    pod("p", { nodeName: "n1", tolerations: [tolerate(60)] }),
  ]);
  await drain();
  taint("n1", [unreachable]);
  await drain();
  h.clock.step(30_000);
  taint("n1", []);
  await drain();
  h.clock.step(60_000);
  await drain();
  t.ok(exists("p"), "not deleted");
  const events = await h.events();
  t.ok(
    events.some(
      (e) => e.reason === "TaintManagerEviction" && e.message === "Cancelling deletion of Pod default/p",
    ),
  );
});

t.test("a pod bound to an already tainted node is decided by the pod handler", async (t) => {
  const { h, drain, exists } = await setup([node("n1", { taints: [unreachable] })]);
  await drain();
  h.client.tracker.add(pod("late", { nodeName: "n1", tolerations: [tolerate(5)] }));
  h.client.tracker.add(pod("bare", { nodeName: "n1" }));
  await drain();
  t.notOk(exists("bare"), "not tolerated: at once");
  t.ok(exists("late"));
  h.clock.step(5_000);
  await drain();
  t.notOk(exists("late"), "after its 5 s");
});

t.test("a NoSchedule taint evicts nothing; a pod already gone is no error", async (t) => {
  const { h, c, drain, exists, taint } = await setup([node("n1"), pod("p", { nodeName: "n1" })]);
  await drain();
  taint("n1", [{ key: "x", effect: "NoSchedule" }]);
  await drain();
  t.ok(exists("p"));
  const gone = new ApiError(404, {
    kind: "Status",
    status: "Failure",
    reason: "NotFound",
    code: 404,
    message: "gone",
  });
  h.client.prependReactor("get", "pods", () => ({ handled: true, error: gone }));
  h.client.clearActions();
  taint("n1", [{ key: "x", effect: "NoExecute" }]);
  await drain();
  t.equal(c.taintEvictionQueue.keys().length, 0, "work finished");
  t.same(
    h.client.actions.filter((a) => a.resource === "pods").map((a) => a.verb),
    ["get"],
    "one read, no retries, no delete",
  );
});
