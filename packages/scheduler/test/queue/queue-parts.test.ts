/**
 * The scheduling queue's parts on their own: the heap, event matching and pod-change events, the
 * backoff formula, queueing hints and the nominator.
 */
import type { Pod } from "@skiff/api";
import t from "tap";
import { ActionType, type ClusterEvent, type ClusterEventWithHint } from "../../src/framework/interface.js";
import { PodInfo, type QueuedPodInfo } from "../../src/framework/pod-info.js";
import type { RecordedEvent } from "../../src/queue/active-queue.js";
import { BackoffQueue } from "../../src/queue/backoff-queue.js";
import {
  clusterEventLabel,
  EventForceActivate,
  EventUnschedulableTimeout,
  isPodUpdated,
  matchClusterEvents,
  nodeSchedulingPropertiesChange,
  podSchedulingPropertiesChange,
} from "../../src/queue/events.js";
import { Heap } from "../../src/queue/heap.js";
import { Nominator } from "../../src/queue/nominator.js";
import { ClusterEventMap, isPodWorthRequeuing, QueueingStrategy } from "../../src/queue/queueing-hint.js";
import { makeNode, makePod } from "../fixtures.js";
import { FakeClock } from "./fake-clock.js";

function qpi(pod: Pod, opts: Partial<QueuedPodInfo> = {}): QueuedPodInfo {
  return {
    podInfo: new PodInfo(pod),
    timestamp: 0,
    initialAttemptTimestamp: undefined,
    attempts: 0,
    unschedulablePlugins: new Set(),
    pendingPlugins: new Set(),
    gated: false,
    ...opts,
  };
}

t.test("heap: pops in order under adds, updates and deletes", async (t) => {
  // A small deterministic generator: the same sequence every run.
  let seed = 42;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const h = new Heap<{ k: string; v: number }>(
    (x) => x.k,
    (a, b) => a.v < b.v,
  );
  const model = new Map<string, number>();
  const wrong: string[] = [];
  const check = (got: unknown, want: unknown, what: string) => {
    if (got !== want) wrong.push(`${what}: got ${got}, want ${want}`);
  };
  for (let i = 0; i < 2000; i++) {
    const k = `k${rand(50)}`;
    const op = rand(4);
    if (op < 2) {
      const v = rand(1000);
      h.addOrUpdate({ k, v });
      model.set(k, v);
    } else if (op === 2) {
      check(h.delete(k)?.v, model.get(k), `delete ${k}`);
      model.delete(k);
    } else {
      const top = h.pop();
      const min = Math.min(...model.values());
      if (model.size === 0) check(top, undefined, "pop of empty");
      else {
        check(top?.v, min, "pop");
        model.delete(top?.k as string);
      }
    }
    check(h.length, model.size, "length");
  }
  t.same(wrong, [], "every pop is the minimum, every delete the item");
  const rest: number[] = [];
  for (let x = h.pop(); x !== undefined; x = h.pop()) rest.push(x.v);
  t.same(
    rest,
    [...model.values()].sort((a, b) => a - b),
  );
});

t.test("backoff duration: initial doubled per attempt, capped", async (t) => {
  const b = new BackoffQueue(new FakeClock(), 1000, 10_000);
  const d = [0, 1, 2, 3, 4, 5, 6, 40].map((attempts) => b.backoffDuration(qpi(makePod("p"), { attempts })));
  t.same(d, [0, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000]);
  const c = new BackoffQueue(new FakeClock(), 3000, 5000);
  t.same(
    [1, 2, 3].map((attempts) => c.backoffDuration(qpi(makePod("p"), { attempts }))),
    [3000, 5000, 5000],
  );
});

t.test("backoffQ pops expired pods in expiry order", async (t) => {
  const clock = new FakeClock(0);
  const b = new BackoffQueue(clock, 1000, 10_000);
  const slow = qpi(makePod("slow"), { attempts: 3, timestamp: 0 }); // 4 s
  const fast = qpi(makePod("fast"), { attempts: 1, timestamp: 500 }); // 1.5 s
  b.add(slow);
  b.add(fast);
  clock.step(1499);
  t.same(b.popAllBackoffCompleted(), []);
  clock.step(1);
  t.same(b.popAllBackoffCompleted(), [fast]);
  clock.step(10_000);
  t.same(b.popAllBackoffCompleted(), [slow]);
  t.equal(b.length, 0);
});

t.test("event matching as kube's MatchClusterEvents", async (t) => {
  const reg = (resource: ClusterEvent["resource"], actionType: ActionType): ClusterEvent => ({
    resource,
    actionType,
  });
  t.ok(matchClusterEvents(reg("Node", ActionType.Add), reg("Node", ActionType.Add)));
  t.notOk(matchClusterEvents(reg("Node", ActionType.Add), reg("Node", ActionType.UpdateNodeLabel)));
  t.ok(matchClusterEvents(reg("Node", ActionType.Update), reg("Node", ActionType.UpdateNodeLabel)));
  t.notOk(
    matchClusterEvents(reg("Node", ActionType.UpdateNodeLabel), reg("Node", ActionType.Update)),
    "a generic update is broader than a specific registration",
  );
  t.ok(matchClusterEvents(reg("Pod", ActionType.Add), reg("AssignedPod", ActionType.Add)));
  t.ok(matchClusterEvents(reg("Pod", ActionType.Delete), reg("UnscheduledPod", ActionType.Delete)));
  t.notOk(matchClusterEvents(reg("AssignedPod", ActionType.Add), reg("Pod", ActionType.Add)));
  t.ok(matchClusterEvents(reg("*", ActionType.Add), reg("PersistentVolume", ActionType.Add)));
  t.ok(matchClusterEvents(reg("*", ActionType.All), reg("Node", ActionType.UpdateNodeTaint)));
  t.notOk(matchClusterEvents(reg("Node", ActionType.All), EventUnschedulableTimeout));
  t.equal(clusterEventLabel(reg("Node", ActionType.Add)), "NodeAdd");
  t.equal(clusterEventLabel(reg("AssignedPod", ActionType.Update)), "AssignedPodUpdate");
  t.equal(
    clusterEventLabel(reg("Node", ActionType.Add | ActionType.UpdateNodeLabel)),
    "NodeAdd|UpdateNodeLabel",
  );
  t.equal(clusterEventLabel(EventUnschedulableTimeout), "UnschedulableTimeout");
});

t.test("pod updates as events, and which updates count", async (t) => {
  const pod = makePod("u", { requests: { cpu: "1" }, spec: { schedulingGates: [{ name: "g" }] } });
  const names = (evs: ClusterEvent[]) => evs.map(clusterEventLabel);
  t.same(names(podSchedulingPropertiesChange(pod, pod)), ["UnscheduledPodUpdate"]);
  const changed: Pod = {
    ...pod,
    metadata: { ...pod.metadata, labels: { a: "b" } },
    spec: {
      ...pod.spec,
      schedulingGates: [],
      tolerations: [{ key: "k", operator: "Exists" }],
      containers: [{ name: "c", image: "busybox", resources: { requests: { cpu: "500m" } } }],
    },
  };
  t.same(names(podSchedulingPropertiesChange(changed, pod)), [
    "UnscheduledPodUpdatePodLabel",
    "UnscheduledPodUpdatePodScaleDown",
    "UnscheduledPodUpdatePodSchedulingGatesEliminated",
    "UnscheduledPodUpdatePodTolerations",
  ]);
  const bound = { ...pod, spec: { ...pod.spec, nodeName: "n1" } };
  t.same(names(podSchedulingPropertiesChange(bound, bound)), ["AssignedPodUpdate"]);

  t.notOk(isPodUpdated(pod, { ...pod, status: { phase: "Pending", nominatedNodeName: "n" } }));
  t.notOk(
    isPodUpdated(pod, { ...pod, metadata: { ...pod.metadata, resourceVersion: "9", finalizers: ["f"] } }),
  );
  t.ok(isPodUpdated(pod, changed));
});

t.test("node updates as events", async (t) => {
  const node = makeNode("n1", { unschedulable: true });
  const names = (evs: ClusterEvent[]) => evs.map(clusterEventLabel);
  t.same(names(nodeSchedulingPropertiesChange(node, node)), []);
  const changed = makeNode("n1", {
    allocatable: { cpu: "8", memory: "16Gi", pods: "110" },
    labels: { zone: "a" },
    taints: [{ key: "k", effect: "NoSchedule" }],
  });
  changed.status = { ...changed.status, conditions: [{ type: "Ready", status: "True" }] };
  changed.metadata.annotations = { a: "b" };
  t.same(names(nodeSchedulingPropertiesChange(changed, node)), [
    "NodeUpdateNodeTaint",
    "NodeUpdateNodeAllocatable",
    "NodeUpdateNodeLabel",
    "NodeUpdateNodeCondition",
    "NodeUpdateNodeAnnotation",
  ]);
  t.ok(
    names(nodeSchedulingPropertiesChange(node, changed)).includes("NodeUpdateNodeTaint"),
    "taints removed",
  );
});

t.test("isPodWorthRequeuing asks only the rejecting plugins", async (t) => {
  const calls: string[] = [];
  const map = new ClusterEventMap(
    new Map<string, ClusterEventWithHint[]>([
      ["Fit", [{ event: { resource: "Node", actionType: ActionType.Add } }]],
      [
        "Waiter",
        [
          {
            event: { resource: "Node", actionType: ActionType.Add },
            queueingHintFn: () => {
              calls.push("Waiter");
              return "Queue";
            },
          },
        ],
      ],
      [
        "Broken",
        [
          {
            event: { resource: "Node", actionType: ActionType.Add },
            queueingHintFn: () => {
              throw new Error("bug");
            },
          },
        ],
      ],
      ["Deaf", []],
    ]),
  );
  const nodeAdd = {
    event: { resource: "Node" as const, actionType: ActionType.Add },
    oldObj: undefined,
    newObj: {},
  };
  const nodeDel = {
    event: { resource: "Node" as const, actionType: ActionType.Delete },
    oldObj: {},
    newObj: undefined,
  };
  const pod = makePod("w");
  const is = (opts: Partial<QueuedPodInfo>, e: RecordedEvent = nodeAdd) =>
    isPodWorthRequeuing(map, qpi(pod, opts), e);

  t.equal(is({}, nodeDel), QueueingStrategy.QueueAfterBackoff, "no rejecting plugin: any event");
  t.equal(is({ unschedulablePlugins: new Set(["Fit"]) }), QueueingStrategy.QueueAfterBackoff);
  t.equal(is({ unschedulablePlugins: new Set(["Fit"]) }, nodeDel), QueueingStrategy.QueueSkip);
  t.equal(is({ unschedulablePlugins: new Set(["Deaf"]) }), QueueingStrategy.QueueSkip, "registered nothing");
  t.equal(
    is({ unschedulablePlugins: new Set(["Unknown"]) }, nodeDel),
    QueueingStrategy.QueueAfterBackoff,
    "a plugin without registrations is taken as registered for everything",
  );
  t.equal(
    is({ unschedulablePlugins: new Set(["Broken"]) }),
    QueueingStrategy.QueueAfterBackoff,
    "a throwing hint is Queue",
  );
  t.equal(
    is({ unschedulablePlugins: new Set(["Fit"]), pendingPlugins: new Set(["Waiter"]) }),
    QueueingStrategy.QueueImmediately,
    "Queue from a Pending plugin skips backoff",
  );
  t.same(calls, ["Waiter"], "only rejecting plugins' hints run");
  t.equal(
    is({ unschedulablePlugins: new Set(["Deaf"]) }, { ...nodeAdd, event: EventUnschedulableTimeout }),
    1,
  );
  const other = makePod("other");
  t.equal(
    is(
      { unschedulablePlugins: new Set(["Deaf"]) },
      { event: EventForceActivate, oldObj: undefined, newObj: other },
    ),
    QueueingStrategy.QueueSkip,
    "a wildcard aimed at another pod",
  );
  t.equal(
    is(
      { unschedulablePlugins: new Set(["Deaf"]) },
      { event: EventForceActivate, oldObj: undefined, newObj: pod },
    ),
    QueueingStrategy.QueueAfterBackoff,
  );
});

t.test("nominator: status, overrides, updates that keep a nomination, lookups", async (t) => {
  const live = new Map<string, Pod>();
  const n = new Nominator((ns, name) => live.get(`${ns}/${name}`));
  const a = makePod("a");
  a.status = { phase: "Pending", nominatedNodeName: "n1" };
  const b = makePod("b");
  for (const p of [a, b]) live.set(`default/${p.metadata.name}`, p);
  const namesOn = (node: string) => n.nominatedPodsForNode(node).map((pi) => pi.pod.metadata.name);

  n.addNominatedPod(new PodInfo(a));
  n.addNominatedPod(new PodInfo(b), "n1");
  t.same(namesOn("n1"), ["a", "b"]);
  n.addNominatedPod(new PodInfo(b), "n1");
  t.same(namesOn("n1"), ["a", "b"], "no duplicates");

  // An update that carries no nominatedNodeName keeps the in-memory one (the API write may lag).
  const b2 = { ...b, metadata: { ...b.metadata, labels: { v: "2" } } };
  n.updateNominatedPod(b, new PodInfo(b2));
  t.same(namesOn("n1"), ["a", "b"]);
  t.same(n.nominatedPodsForNode("n1")[1]?.pod.metadata.labels, { v: "2" });
  // An update that changes the status's nomination follows it.
  const a2 = { ...a, status: { phase: "Pending" as const, nominatedNodeName: "n2" } };
  n.updateNominatedPod(a, new PodInfo(a2));
  t.same(namesOn("n1"), ["b"]);
  t.same(namesOn("n2"), ["a"]);

  n.deleteNominatedPodIfExists(b);
  t.same(namesOn("n1"), []);

  const bound = makePod("bound", { nodeName: "n3" });
  live.set("default/bound", bound);
  n.addNominatedPod(new PodInfo(bound), "n3");
  n.addNominatedPod(new PodInfo(makePod("gone")), "n3");
  t.same(namesOn("n3"), [], "bound or deleted pods are not nominated");
});
