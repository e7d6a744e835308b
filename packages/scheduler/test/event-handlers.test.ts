/**
 * The informer handlers with a recording queue: unassigned pods go to the queue, assigned ones to
 * the cache, a bind moves a pod from one to the other, node changes become kube's ClusterEvents,
 * and a node or pod with a malformed quantity is skipped with a Warning event, never a crash.
 */
import type { Node, Pod } from "@skiff/api";
import t from "tap";
import { SchedulerCache } from "../src/cache/cache.js";
import { type QueueForEvents, SchedulerEventHandlers } from "../src/event-handlers.js";
import { ActionType, type ClusterEvent } from "../src/framework/interface.js";
import { makeNode, makePod } from "./fixtures.js";

function setup() {
  const calls: string[] = [];
  const events: string[] = [];
  const moves: ClusterEvent[] = [];
  const queue: QueueForEvents = {
    add: (p) => calls.push(`add ${p.metadata.name}`),
    update: (_o, p) => calls.push(`update ${p.metadata.name}`),
    delete: (p) => calls.push(`delete ${p.metadata.name}`),
    moveAllToActiveOrBackoffQueue: (e) => moves.push(e),
    assignedPodAdded: (p) => calls.push(`assigned ${p.metadata.name}`),
    assignedPodUpdated: (_o, p) => calls.push(`assignedUpdate ${p.metadata.name}`),
  };
  const cache = new SchedulerCache();
  const h = new SchedulerEventHandlers(
    cache,
    queue,
    (p) => (p.spec.schedulerName ?? "default-scheduler") === "default-scheduler",
    {
      eventf: (r, _rel, type, reason, _a, note) =>
        events.push(`${r.kind}/${r.name} ${type} ${reason}: ${note}`),
    },
    (e) => {
      throw e;
    },
  );
  return { calls, events, moves, cache, h };
}

t.test(
  "unassigned pods are queued, other schedulers' pods are not; a bind moves a pod to the cache",
  async (t) => {
    const { calls, cache, h } = setup();
    const p = makePod("p");
    h.onPodAdd(p);
    h.onPodAdd(makePod("other", { spec: { schedulerName: "my-scheduler" } as Pod["spec"] }));
    t.same(calls, ["add p"]);
    h.onNodeAdd(makeNode("n1"));
    const bound: Pod = { ...p, spec: { ...p.spec, nodeName: "n1" } };
    h.onPodUpdate(p, bound);
    t.same(calls.slice(1), ["delete p", "assigned p"], "left the queue, told the queue an assigned pod came");
    t.equal(cache.podCount(), 1);
    h.onPodDelete(bound);
    t.equal(cache.podCount(), 0);
  },
);

t.test("node changes become kube's cluster events", async (t) => {
  const { moves, h } = setup();
  const n = makeNode("n1");
  h.onNodeAdd(n);
  const tainted: Node = { ...n, spec: { taints: [{ key: "k", effect: "NoSchedule" }] } };
  h.onNodeUpdate(n, tainted);
  const relabeled: Node = { ...tainted, metadata: { ...tainted.metadata, labels: { a: "b" } } };
  h.onNodeUpdate(tainted, relabeled);
  t.same(
    moves.map((m) => [m.resource, m.actionType]),
    [
      ["Node", ActionType.Add],
      ["Node", ActionType.UpdateNodeTaint],
      ["Node", ActionType.UpdateNodeLabel],
    ],
  );
});

t.test("malformed quantities are skipped with a Warning event", async (t) => {
  const { calls, events, cache, h } = setup();
  h.onNodeAdd(makeNode("bad", { allocatable: { cpu: "four" } }));
  t.equal(cache.nodeCount(), 0, "the node is not in the cache");
  t.match(
    events[0],
    /^Node\/bad Warning InvalidResources: skipped by the scheduler: invalid quantity "four" for cpu/,
  );
  const good = makeNode("good");
  h.onNodeAdd(good);
  h.onNodeUpdate(good, makeNode("good", { allocatable: { memory: "lots" } }));
  t.equal(cache.nodeCount(), 0, "a node updated to a bad quantity leaves the cache");
  const badPod = makePod("bp", { nodeName: "good", requests: { cpu: "1x" } });
  t.doesNotThrow(() => h.onPodAdd(badPod));
  t.match(
    events.at(-1),
    /^Pod\/bp Warning FailedScheduling: skipped by the scheduler: invalid quantity "1x" for cpu/,
  );
  t.same(calls, [], "nothing reached the queue");
});
