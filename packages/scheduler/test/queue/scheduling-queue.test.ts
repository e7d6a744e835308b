/**
 * PriorityQueue scenarios in the spirit of kube's scheduling_queue_test.go: order, backoff,
 * event-driven moves, the leftover flush, in-flight events, gated pods, update/delete/activate,
 * assigned pods and metrics. All timing runs on a FakeClock.
 */
import type { Pod } from "@skiff/api";
import { Registry } from "prom-client";
import t from "tap";
import { ActionType, type ClusterEvent, type ClusterEventWithHint } from "../../src/framework/interface.js";
import type { QueuedPodInfo } from "../../src/framework/pod-info.js";
import { PrioritySort } from "../../src/plugins/queuesort/index.js";
import { SchedulingGates } from "../../src/plugins/schedulinggates/index.js";
import type { PriorityQueueOptions } from "../../src/queue/options.js";
import { PriorityQueue } from "../../src/queue/scheduling-queue.js";
import { makePod } from "../fixtures.js";
import { FakeClock } from "./fake-clock.js";

const NodeAdd: ClusterEvent = { resource: "Node", actionType: ActionType.Add };
const NodeLabel: ClusterEvent = { resource: "Node", actionType: ActionType.UpdateNodeLabel };
const NodeAllocatable: ClusterEvent = { resource: "Node", actionType: ActionType.UpdateNodeAllocatable };

/** NodeResourcesFit's registrations (kube 1.32, without hints). */
const eventMap = new Map<string, ClusterEventWithHint[]>([
  [
    "NodeResourcesFit",
    [
      { event: { resource: "Node", actionType: ActionType.Add | ActionType.UpdateNodeAllocatable } },
      { event: { resource: "Pod", actionType: ActionType.Delete | ActionType.UpdatePodScaleDown } },
    ],
  ],
  [
    "InterPodAffinity",
    [{ event: { resource: "Pod", actionType: ActionType.Add | ActionType.UpdatePodLabel } }],
  ],
  ["SchedulingGates", new SchedulingGates().eventsToRegister()],
  [
    "NodeAffinity",
    [
      {
        event: NodeAdd,
        queueingHintFn: (_pod, _old, n) => ((n as { ok?: boolean })?.ok ? "Queue" : "QueueSkip"),
      },
    ],
  ],
]);

function setup(opts: Partial<PriorityQueueOptions> = {}) {
  const clock = new FakeClock();
  const registry = new Registry();
  const q = new PriorityQueue({
    less: (a, b) => new PrioritySort().less(a, b),
    clock,
    registry,
    clusterEventMap: eventMap,
    preEnqueuePlugins: [new SchedulingGates()],
    ...opts,
  });
  return { q, clock, registry };
}

const uid = (p: Pod) => p.metadata.uid as string;

/** Pops the next pod, which must be there already. */
async function popNow(q: PriorityQueue): Promise<QueuedPodInfo> {
  const qpi = await q.pop();
  if (qpi === undefined) throw new Error("queue closed");
  return qpi;
}

/** The scheduling cycle's failure path: rejecting plugins (none: an error), then back to the queue. */
function fail(q: PriorityQueue, qpi: QueuedPodInfo, ...plugins: string[]): void {
  qpi.unschedulablePlugins = new Set(plugins);
  q.addUnschedulableIfNotPresent(qpi, q.schedulingCycle());
}

async function metric(registry: Registry, name: string, labels: string): Promise<number | undefined> {
  const text = await registry.metrics();
  const line = text.split("\n").find((l) => l.startsWith(`${name}{${labels}}`));
  return line === undefined ? undefined : Number(line.split(" ").pop());
}

t.test("pop order: higher priority first, then earlier queueing time", async (t) => {
  const { q, clock } = setup();
  const low = makePod("low", { priority: 1 });
  const highLate = makePod("high-late", { priority: 100 });
  const mid = makePod("mid", { priority: 50 });
  const highEarly = makePod("high-early", { priority: 100 });
  q.add(low);
  clock.step(1);
  q.add(highEarly);
  clock.step(1);
  q.add(mid);
  clock.step(1);
  q.add(highLate);
  const order: string[] = [];
  for (let i = 0; i < 4; i++) order.push((await popNow(q)).podInfo.pod.metadata.name);
  t.same(order, ["high-early", "high-late", "mid", "low"]);
  t.equal(q.schedulingCycle(), 4);
  q.close();
});

t.test("pop waits for a pod; close() wakes it with undefined", async (t) => {
  const { q } = setup();
  let got: QueuedPodInfo | undefined | "pending" = "pending";
  const p = q.pop().then((v) => {
    got = v;
  });
  await new Promise(setImmediate);
  t.equal(got, "pending", "nothing to pop yet");
  const pod = makePod("a");
  q.add(pod);
  await p;
  t.equal((got as unknown as QueuedPodInfo).podInfo.pod, pod, "the waiting pop gets the added pod");
  t.equal(q.whereIs(uid(pod)), "inFlight");

  const waiting = q.pop();
  q.close();
  t.equal(await waiting, undefined, "close wakes a waiting pop");
  t.equal(await q.pop(), undefined, "pop after close");
});

t.test("backoff: 1, 2, 4, 8, 10, 10 s for attempts 1..6", async (t) => {
  const { q, clock } = setup();
  const pod = makePod("b");
  q.add(pod);
  const seen: number[] = [];
  for (let attempt = 1; attempt <= 6; attempt++) {
    const qpi = await popNow(q);
    t.equal(qpi.attempts, attempt);
    fail(q, qpi); // an Error: no rejecting plugin
    t.equal(q.whereIs(uid(pod)), "backoff", "an error goes to the backoffQ");
    const failedAt = clock.now();
    while (q.whereIs(uid(pod)) === "backoff") {
      clock.step(250);
      q.flushBackoffQCompleted();
    }
    t.equal(q.whereIs(uid(pod)), "active");
    seen.push((clock.now() - failedAt) / 1000);
  }
  t.same(seen, [1, 2, 4, 8, 10, 10]);
  q.close();
});

t.test("backoff is configurable and flushed every second by run()", async (t) => {
  const { q, clock } = setup({ podInitialBackoffSeconds: 2, podMaxBackoffSeconds: 3 });
  const pod = makePod("c");
  q.add(pod);
  q.run();
  fail(q, await popNow(q));
  clock.step(1999);
  t.equal(q.whereIs(uid(pod)), "backoff");
  const next = q.pop();
  clock.step(1);
  const qpi = await next;
  t.equal(qpi?.podInfo.pod, pod, "the 1 s timer moved it to the activeQ at the end of its 2 s backoff");
  q.close();
  t.equal(clock.pendingTimers, 0, "close clears the timers");
});

t.test("events move only the pods whose rejecting plugins registered them", async (t) => {
  const { q, clock, registry } = setup();
  const pod = makePod("fit");
  q.add(pod);
  fail(q, await popNow(q), "NodeResourcesFit");
  t.equal(q.whereIs(uid(pod)), "unschedulable", "rejected, no event meanwhile");

  q.moveAllToActiveOrBackoffQueue(NodeLabel);
  t.equal(q.whereIs(uid(pod)), "unschedulable", "NodeResourcesFit did not register Node/UpdateNodeLabel");
  q.moveAllToActiveOrBackoffQueue({ resource: "Node", actionType: ActionType.Update });
  t.equal(q.whereIs(uid(pod)), "unschedulable", "a generic Node/Update is broader than its registration");

  q.moveAllToActiveOrBackoffQueue(NodeAdd);
  t.equal(q.whereIs(uid(pod)), "backoff", "Node/Add moves it; still backing off");
  t.equal(
    await metric(registry, "scheduler_queue_incoming_pods_total", 'queue="backoff",event="NodeAdd"'),
    1,
  );
  clock.step(1000);
  q.flushBackoffQCompleted();
  t.equal(q.whereIs(uid(pod)), "active");
  t.equal(
    await metric(registry, "scheduler_queue_incoming_pods_total", 'queue="active",event="BackoffComplete"'),
    1,
  );

  // Once the backoff is over, an event sends it straight to the activeQ.
  fail(q, await popNow(q), "NodeResourcesFit");
  clock.step(5000);
  q.moveAllToActiveOrBackoffQueue(NodeAllocatable, undefined, undefined, (p) => p.metadata.name === "other");
  t.equal(q.whereIs(uid(pod)), "unschedulable", "preCheck filtered it out");
  q.moveAllToActiveOrBackoffQueue(NodeAllocatable);
  t.equal(q.whereIs(uid(pod)), "active", "backoff (2 s) already over");
  q.close();
});

t.test("a queueing hint can skip; a pod rejected by several plugins moves if any says Queue", async (t) => {
  const { q, clock } = setup();
  const a = makePod("hint-a");
  const b = makePod("hint-b");
  q.add(a);
  clock.step(1);
  q.add(b);
  fail(q, await popNow(q), "NodeAffinity");
  fail(q, await popNow(q), "NodeAffinity", "NodeResourcesFit");
  q.moveAllToActiveOrBackoffQueue(NodeAdd, undefined, { ok: false });
  t.equal(q.whereIs(uid(a)), "unschedulable", "NodeAffinity's hint said QueueSkip");
  t.equal(q.whereIs(uid(b)), "backoff", "NodeResourcesFit has no hint: Queue");
  q.moveAllToActiveOrBackoffQueue(NodeAdd, undefined, { ok: true });
  t.equal(q.whereIs(uid(a)), "backoff");
  q.close();
});

t.test("leftover flush: unschedulable for more than 5 min moves back (30 s timer)", async (t) => {
  const { q, clock, registry } = setup();
  const pod = makePod("stale");
  q.add(pod);
  q.run();
  fail(q, await popNow(q), "NodeResourcesFit");
  clock.step(300_000);
  t.equal(q.whereIs(uid(pod)), "unschedulable", "exactly 5 min is not longer than 5 min");
  const next = q.pop();
  clock.step(30_000);
  const qpi = await next;
  t.equal(qpi?.podInfo.pod, pod, "the next 30 s flush moved it and pop got it");
  t.equal(
    await metric(
      registry,
      "scheduler_queue_incoming_pods_total",
      'queue="active",event="UnschedulableTimeout"',
    ),
    1,
  );
  q.close();
});

t.test("in-flight events: a registered event during the attempt sends the pod to backoff", async (t) => {
  const { q } = setup();
  const a = makePod("fly-a");
  const b = makePod("fly-b");
  q.add(a);
  q.add(b);
  const qa = await popNow(q);
  q.moveAllToActiveOrBackoffQueue(NodeLabel); // not registered by NodeResourcesFit
  const qb = await popNow(q);
  q.moveAllToActiveOrBackoffQueue(NodeAdd); // registered, after both pops
  t.equal(q.inFlightEventCount(), 2);
  fail(q, qa, "NodeResourcesFit");
  t.equal(q.whereIs(uid(qa.podInfo.pod)), "backoff", "Node/Add arrived while it was in flight");
  t.equal(q.inFlightEventCount(), 1, "events older than the oldest in-flight pod are pruned");
  fail(q, qb, "InterPodAffinity");
  t.equal(q.whereIs(uid(qb.podInfo.pod)), "unschedulable", "InterPodAffinity registered neither event");
  t.equal(q.inFlightEventCount(), 0);
  t.same(q.inFlightPods(), []);

  // An event before the pop does not count.
  const c = makePod("fly-c");
  q.add(c);
  q.moveAllToActiveOrBackoffQueue(NodeAdd);
  fail(q, await popNow(q), "NodeResourcesFit");
  t.equal(q.whereIs(uid(c)), "unschedulable");
  q.close();
});

t.test("in-flight events are bounded; dropping them requeues conservatively", async (t) => {
  const { q } = setup({ maxInFlightEvents: 2 });
  const pod = makePod("bounded");
  q.add(pod);
  const qpi = await popNow(q);
  for (let i = 0; i < 5; i++) q.moveAllToActiveOrBackoffQueue(NodeLabel);
  t.ok(q.inFlightEventCount() <= 2);
  fail(q, qpi, "NodeResourcesFit");
  t.equal(q.whereIs(uid(pod)), "backoff", "an event may have been missed: retry after backoff");
  q.close();
});

t.test("gated pods wait for their gates, not for other events", async (t) => {
  const { q, clock, registry } = setup();
  const gated = makePod("gated", { spec: { schedulingGates: [{ name: "g1" }, { name: "g2" }] } });
  const other = makePod("other", { spec: { schedulingGates: [{ name: "g" }] } });
  q.add(gated);
  q.add(other);
  t.equal(q.whereIs(uid(gated)), "gated");
  t.same([...(q.getQueuedPodInfo(uid(gated))?.unschedulablePlugins ?? [])], ["SchedulingGates"]);
  t.equal(await metric(registry, "scheduler_pending_pods", 'queue="gated"'), 2);
  t.equal(await metric(registry, "scheduler_pending_pods", 'queue="unschedulable"'), 0);

  q.moveAllToActiveOrBackoffQueue(NodeAdd);
  clock.step(600_000);
  q.flushUnschedulablePodsLeftover();
  t.equal(q.whereIs(uid(gated)), "gated", "neither a node event nor the leftover flush lifts a gate");

  const oneGate = { ...gated, spec: { ...gated.spec, schedulingGates: [{ name: "g2" }] } };
  q.update(gated, oneGate);
  t.equal(q.whereIs(uid(gated)), "gated", "one gate left");

  const ungatedOther = { ...other, spec: { ...other.spec, schedulingGates: [] } };
  q.moveAllToActiveOrBackoffQueue(
    { resource: "UnscheduledPod", actionType: ActionType.UpdatePodSchedulingGatesEliminated },
    other,
    ungatedOther,
  );
  t.equal(q.whereIs(uid(gated)), "gated", "another pod's gates going does not help (the hint)");

  const open = { ...oneGate, spec: { ...oneGate.spec, schedulingGates: [] } };
  q.update(oneGate, open);
  t.equal(q.whereIs(uid(gated)), "active", "no gate left: to the activeQ");
  t.equal((await popNow(q)).podInfo.pod, open, "popped as last updated");
  t.equal(await metric(registry, "scheduler_pending_pods", 'queue="gated"'), 1);
  q.close();
});

t.test("update: spec changes move an unschedulable pod back; status changes do not", async (t) => {
  const { q, clock } = setup();
  const pod = makePod("upd");
  q.add(pod);
  fail(q, await popNow(q), "NodeResourcesFit");
  const status = {
    ...pod,
    status: { phase: "Pending" as const, conditions: [{ type: "PodScheduled", status: "False" as const }] },
  };
  q.update(pod, status);
  t.equal(q.whereIs(uid(pod)), "unschedulable", "the scheduler's own condition write changes nothing");
  t.equal(q.getQueuedPodInfo(uid(pod))?.podInfo.pod, status, "but the object is replaced");

  const relabeled = { ...status, metadata: { ...status.metadata, labels: { x: "y" } } };
  q.update(status, relabeled);
  t.equal(q.whereIs(uid(pod)), "backoff", "still within its 1 s backoff");
  clock.step(1000);
  q.flushBackoffQCompleted();
  const qpi = await popNow(q);
  t.equal(qpi.podInfo.pod, relabeled);

  // Updated while in flight: the attempt fails, it comes back as the latest object, to backoff.
  const again = { ...relabeled, metadata: { ...relabeled.metadata, labels: { x: "z" } } };
  q.update(relabeled, again);
  t.equal(q.whereIs(uid(pod)), "inFlight", "not queued twice");
  fail(q, qpi, "NodeResourcesFit");
  t.equal(q.whereIs(uid(pod)), "backoff");
  t.equal(q.getQueuedPodInfo(uid(pod))?.podInfo.pod, again);

  // An update of a pod in the activeQ or backoffQ replaces it there.
  const third = { ...again, metadata: { ...again.metadata, annotations: { a: "b" } } };
  q.update(again, third);
  t.equal(q.whereIs(uid(pod)), "backoff");
  t.equal(q.getQueuedPodInfo(uid(pod))?.podInfo.pod, third);

  // An unknown pod's update adds it; add() of a known pod is an update.
  const fresh = makePod("fresh");
  q.update(fresh, fresh);
  t.equal(q.whereIs(uid(fresh)), "active");
  q.add(fresh);
  t.equal(q.pendingPods().length, 2);
  q.close();
});

t.test("delete removes the pod everywhere, in flight too", async (t) => {
  const { q } = setup();
  const a = makePod("del-a");
  const b = makePod("del-b", { spec: { schedulingGates: [{ name: "g" }] } });
  const c = makePod("del-c");
  q.add(a);
  q.add(b);
  q.add(c);
  const qa = await popNow(q);
  q.delete(qa.podInfo.pod);
  q.delete(b);
  q.delete(c);
  t.same(q.pendingPods(), []);
  fail(q, qa, "NodeResourcesFit");
  t.equal(q.whereIs(uid(a)), undefined, "a pod deleted during its attempt is not queued again");
  q.close();
});

t.test("activate moves unschedulable or backing-off pods; an in-flight one is remembered", async (t) => {
  const { q } = setup();
  const a = makePod("act-a");
  const b = makePod("act-b");
  q.add(a);
  q.add(b);
  fail(q, await popNow(q), "NodeResourcesFit");
  const qb = await popNow(q);
  q.activate([a, b, makePod("unknown")]);
  t.equal(q.whereIs(uid(a)), "active");
  t.equal(q.whereIs(uid(makePod("x"))), undefined);
  fail(q, qb, "NodeResourcesFit");
  t.equal(q.whereIs(uid(b)), "backoff", "activated while in flight");
  q.close();
});

t.test("assigned pods move the pods whose affinity they satisfy", async (t) => {
  const { q, clock } = setup();
  const wantsDb = makePod("wants-db", {
    spec: {
      affinity: {
        podAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: [
            { labelSelector: { matchLabels: { app: "db" } }, topologyKey: "kubernetes.io/hostname" },
          ],
        },
      },
    },
  });
  const plain = makePod("plain");
  q.add(wantsDb);
  q.add(plain);
  fail(q, await popNow(q), "InterPodAffinity");
  fail(q, await popNow(q), "InterPodAffinity");
  q.assignedPodAdded(makePod("web", { labels: { app: "web" }, nodeName: "n1" }));
  t.equal(q.whereIs(uid(wantsDb)), "unschedulable", "labels do not match");
  q.assignedPodAdded(makePod("db", { labels: { app: "db" }, nodeName: "n1" }));
  t.equal(q.whereIs(uid(wantsDb)), "backoff");
  t.equal(q.whereIs(uid(plain)), "unschedulable", "no affinity term: not helped by a pod");

  clock.step(1000);
  q.flushBackoffQCompleted();
  fail(q, await popNow(q), "InterPodAffinity");
  t.equal(q.whereIs(uid(wantsDb)), "unschedulable");
  const web = makePod("web2", { labels: { app: "web" }, nodeName: "n1" });
  q.assignedPodUpdated(web, { ...web, metadata: { ...web.metadata, labels: { app: "db" } } });
  t.equal(q.whereIs(uid(wantsDb)), "backoff", "a relabeled assigned pod (UpdatePodLabel) helps too");
  q.close();
});

t.test("scheduler_pending_pods reflects the queues", async (t) => {
  const { q, registry } = setup();
  const pods = ["m1", "m2", "m3"].map((n) => makePod(n));
  for (const p of pods) q.add(p);
  t.equal(await metric(registry, "scheduler_pending_pods", 'queue="active"'), 3);
  fail(q, await popNow(q));
  fail(q, await popNow(q), "NodeResourcesFit");
  t.equal(await metric(registry, "scheduler_pending_pods", 'queue="active"'), 1);
  t.equal(await metric(registry, "scheduler_pending_pods", 'queue="backoff"'), 1);
  t.equal(await metric(registry, "scheduler_pending_pods", 'queue="unschedulable"'), 1);
  t.equal(await metric(registry, "scheduler_queue_incoming_pods_total", 'queue="active",event="PodAdd"'), 3);
  t.equal(
    await metric(
      registry,
      "scheduler_queue_incoming_pods_total",
      'queue="backoff",event="ScheduleAttemptFailure"',
    ),
    1,
  );
  t.equal(
    await metric(
      registry,
      "scheduler_queue_incoming_pods_total",
      'queue="unschedulable",event="ScheduleAttemptFailure"',
    ),
    1,
  );
  q.close();
});

t.test("nominated pods come from status and from preemption", async (t) => {
  const { q } = setup();
  const nominated = makePod("nom", {});
  nominated.status = { phase: "Pending", nominatedNodeName: "n1" };
  q.add(nominated);
  t.same(
    q.nominatedPodsForNode("n1").map((pi) => pi.pod.metadata.name),
    ["nom"],
    "status.nominatedNodeName on add",
  );
  const qpi = await popNow(q);
  q.addNominatedPod(qpi.podInfo, "n2");
  t.same(q.nominatedPodsForNode("n1"), []);
  t.equal(q.nominatedPodsForNode("n2").length, 1, "preemption's nomination replaces it");
  q.addNominatedPod(qpi.podInfo, "");
  t.same(q.nominatedPodsForNode("n2"), [], "an empty node name clears it");
  q.close();
});
