/**
 * The event recorders on a fake clock with sinks that record every call: kube's names and
 * fields, a repeat becomes a PATCH of count and lastTimestamp, ten similar events become one
 * "(combined from similar events)" event, the spam filter's 25-event burst and 5-minute refill,
 * retries on network errors only, a full queue drops and counts without blocking the caller,
 * events.k8s.io/v1 series; then both recorders against the real API server, reading the Events
 * back as kubectl would see them.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KubeObject } from "@skiff/api";
import { startServer } from "@skiff/apiserver";
import t from "tap";
import {
  ApiError,
  type CoreEvent,
  configFromKubeconfig,
  EventBroadcaster,
  type EventSink,
  type EventsV1Event,
  FakeClock,
  KubeClient,
} from "../src/index.js";

type Call<E> = { verb: "create"; event: E } | { verb: "patch"; event: E; patch: Record<string, unknown> };

/** A sink that records its calls; `fail` makes the next calls throw what it returns. */
class FakeSink<E extends KubeObject> implements EventSink<E> {
  readonly calls: Call<E>[] = [];
  fail: (() => unknown) | undefined;
  /** Holds every call until released (a slow server). */
  gate: Promise<void> | undefined;
  private rv = 0;

  async create(event: E): Promise<E> {
    await this.gate;
    this.calls.push({ verb: "create", event: structuredClone(event) });
    const f = this.fail?.();
    if (f !== undefined) throw f;
    return { ...event, metadata: { ...event.metadata, resourceVersion: String(++this.rv) } };
  }

  async patch(event: E, patch: Record<string, unknown>): Promise<E> {
    await this.gate;
    this.calls.push({ verb: "patch", event: structuredClone(event), patch });
    const f = this.fail?.();
    if (f !== undefined) throw f;
    return { ...event, ...patch, metadata: { ...event.metadata, resourceVersion: String(++this.rv) } };
  }
}

const START = Date.UTC(2025, 0, 1);
const pod = (name = "web-0"): KubeObject => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace: "apps", uid: `uid-${name}`, resourceVersion: "7" },
});
const network = () =>
  Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:6443"), { code: "ECONNREFUSED" });

function setup(opts: { maxQueuedEvents?: number } = {}) {
  const clock = new FakeClock(START);
  const core = new FakeSink<CoreEvent>();
  const events = new FakeSink<EventsV1Event>();
  const b = new EventBroadcaster({ coreSink: core, eventsSink: events, clock, random: () => 0.5, ...opts });
  return { clock, core, events, b };
}

t.test("core/v1: kube's Event, then a PATCH of count and lastTimestamp for a repeat", async (t) => {
  const { clock, core, b } = setup();
  const r = b.newRecorder({ component: "default-scheduler", host: "node-a" });
  r.eventf(pod(), "Normal", "Scheduled", "Successfully assigned %s/%s to %s", "apps", "web-0", "node-a");
  await b.flush();
  t.equal(core.calls.length, 1);
  const first = core.calls[0] as Call<CoreEvent>;
  t.equal(first.verb, "create");
  t.match(first.event, {
    apiVersion: "v1",
    kind: "Event",
    metadata: { namespace: "apps" },
    involvedObject: {
      apiVersion: "v1",
      kind: "Pod",
      namespace: "apps",
      name: "web-0",
      uid: "uid-web-0",
      resourceVersion: "7",
    },
    reason: "Scheduled",
    message: "Successfully assigned apps/web-0 to node-a",
    source: { component: "default-scheduler", host: "node-a" },
    firstTimestamp: "2025-01-01T00:00:00Z",
    lastTimestamp: "2025-01-01T00:00:00Z",
    count: 1,
    type: "Normal",
    reportingComponent: "default-scheduler",
    reportingInstance: "node-a",
  });
  const name = first.event.metadata.name as string;
  t.match(name, /^web-0\.[0-9a-f]{16}$/, "<object name>.<unix nanos in hex>");
  t.equal(BigInt(`0x${name.split(".")[1]}`), BigInt(START) * 1_000_000n);
  clock.step(1000);
  r.eventf(pod(), "Normal", "Scheduled", "Successfully assigned %s/%s to %s", "apps", "web-0", "node-a");
  await b.flush();
  const second = core.calls[1] as Call<CoreEvent>;
  t.equal(second.verb, "patch");
  t.equal(second.event.metadata.name, name, "the same Event");
  t.same((second as { patch: unknown }).patch, {
    count: 2,
    lastTimestamp: "2025-01-01T00:00:01Z",
    message: "Successfully assigned apps/web-0 to node-a",
  });
  t.equal(second.event.firstTimestamp, "2025-01-01T00:00:00Z");
  // Invalid types and objects without a kind are dropped, without throwing into the caller.
  r.event(pod(), "Bogus", "X", "y");
  r.event({ apiVersion: "v1", metadata: { name: "x" } } as unknown as KubeObject, "Normal", "X", "y");
  await b.flush();
  t.equal(core.calls.length, 2);
  await b.shutdown();
});

t.test("core/v1: ten similar events within ten minutes are combined", async (t) => {
  const { clock, core, b } = setup();
  const r = b.newRecorder({ component: "kubelet", host: "node-a" });
  for (let i = 1; i <= 11; i++) {
    r.event(pod(), "Warning", "BackOff", `message ${i}`);
    clock.step(10_000);
  }
  await b.flush();
  t.same(
    core.calls.map((c) => c.verb),
    [...Array(10).fill("create"), "patch"],
  );
  t.equal(core.calls[8]?.event.message, "message 9", "nine go through as they are");
  const combined = core.calls[9]?.event as CoreEvent;
  t.equal(combined.message, "(combined from similar events): message 10");
  t.equal(combined.count, 1);
  t.equal(core.calls[10]?.event.metadata.name, combined.metadata.name, "later similar ones count on it");
  t.match((core.calls[10] as { patch: unknown }).patch, {
    count: 2,
    message: "(combined from similar events): message 11",
  });
  // After ten quiet minutes the count starts over.
  clock.step(601_000);
  r.event(pod(), "Warning", "BackOff", "message 12");
  await b.flush();
  t.equal(core.calls[11]?.event.message, "message 12");
  await b.shutdown();
});

t.test("core/v1: the spam filter allows a burst of 25 per object, then one per 5 minutes", async (t) => {
  const { clock, core, b } = setup();
  const r = b.newRecorder({ component: "kubelet", host: "node-a" });
  for (let i = 0; i < 30; i++) r.event(pod(), "Normal", `Reason${i}`, "m");
  await b.flush();
  t.equal(core.calls.length, 25);
  r.event(pod("other"), "Normal", "Reason", "m");
  await b.flush();
  t.equal(core.calls.length, 26, "another object has its own bucket");
  clock.step(299_000);
  r.event(pod(), "Normal", "Late", "m");
  await b.flush();
  t.equal(core.calls.length, 26);
  clock.step(1000);
  r.event(pod(), "Normal", "Later", "m");
  await b.flush();
  t.equal(core.calls.length, 27, "one token after 300 s");
  await b.shutdown();
});

t.test("writes are retried on network errors, never on the server's refusal", async (t) => {
  const { clock, core, b } = setup();
  const r = b.newRecorder({ component: "c", host: "h" });
  let failures = 2;
  core.fail = () => (failures-- > 0 ? network() : undefined);
  r.event(pod(), "Normal", "A", "m");
  const done = b.flush();
  // First sleep: random (0.5) * 10 s, then 10 s.
  for (let i = 0; i < 200 && core.calls.length < 3; i++) {
    await new Promise((resolve) => setImmediate(resolve));
    if (clock.pendingTimers > 0) clock.step((clock.nextTimerAt() as number) - clock.now());
  }
  await done;
  t.equal(core.calls.length, 3);
  t.equal(clock.now() - START, 5000 + 10_000);
  core.fail = () => new ApiError(422, { kind: "Status", reason: "Invalid", code: 422 });
  r.event(pod(), "Normal", "B", "m");
  await b.flush();
  t.equal(core.calls.length, 4, "a refusal is not retried");
  t.equal(clock.pendingTimers, 0);
  await b.shutdown();
});

t.test("a full queue drops and counts; the caller never waits", async (t) => {
  const { core, b } = setup({ maxQueuedEvents: 5 });
  let release = () => {};
  core.gate = new Promise((resolve) => {
    release = resolve;
  });
  const r = b.newRecorder({ component: "c", host: "h" });
  // The first is taken by the worker at once; five wait; the rest are dropped.
  for (let i = 0; i < 20; i++) r.event(pod(`p${i}`), "Normal", "R", "m");
  t.equal(b.droppedEvents, 14);
  release();
  await b.flush();
  t.equal(core.calls.length, 6);
  await b.shutdown();
  r.event(pod(), "Normal", "R", "m");
  await b.flush();
  t.equal(core.calls.length, 6, "nothing after shutdown");
});

t.test("events.k8s.io/v1: isomorphic events within 6 minutes become a series", async (t) => {
  const { clock, events, b } = setup();
  const r = b.newEventsRecorder("default-scheduler", "default-scheduler-node-a");
  const node: KubeObject = { apiVersion: "v1", kind: "Node", metadata: { name: "node-a", uid: "n1" } };
  r.eventf(pod(), node, "Warning", "FailedScheduling", "Scheduling", "%d nodes are available", 0);
  await b.flush();
  const first = events.calls[0] as Call<EventsV1Event>;
  t.equal(first.verb, "create");
  t.match(first.event, {
    apiVersion: "events.k8s.io/v1",
    metadata: { namespace: "apps" },
    eventTime: "2025-01-01T00:00:00.000000Z",
    reportingController: "default-scheduler",
    reportingInstance: "default-scheduler-node-a",
    action: "Scheduling",
    reason: "FailedScheduling",
    regarding: { kind: "Pod", name: "web-0", namespace: "apps" },
    related: { kind: "Node", name: "node-a" },
    note: "0 nodes are available",
    type: "Warning",
  });
  t.notOk("series" in first.event);
  clock.step(60_000);
  r.eventf(pod(), node, "Warning", "FailedScheduling", "Scheduling", "%d nodes are available", 1);
  await b.flush();
  const second = events.calls[1] as Call<EventsV1Event>;
  t.equal(second.verb, "patch");
  t.equal(second.event.metadata.name, first.event.metadata.name);
  t.same((second as { patch: unknown }).patch, {
    series: { count: 2, lastObservedTime: "2025-01-01T00:01:00.000000Z" },
  });
  clock.step(60_000);
  r.eventf(pod(), node, "Warning", "FailedScheduling", "Scheduling", "again");
  await b.flush();
  t.equal(events.calls.length, 2, "later repeats are only counted");
  // The series ends after 6 quiet minutes: its count is written once more, and it is forgotten.
  for (let i = 0; i < 10 && events.calls.length < 3; i++) {
    clock.step(60_000);
    await b.flush();
  }
  t.same((events.calls[2] as { patch: unknown }).patch, {
    series: { count: 3, lastObservedTime: "2025-01-01T00:02:00.000000Z" },
  });
  clock.step(6 * 60_000);
  await b.flush();
  r.eventf(pod(), node, "Warning", "FailedScheduling", "Scheduling", "new");
  await b.flush();
  t.equal(events.calls[3]?.verb, "create", "a new Event once the series ended");
  t.equal(events.calls[3]?.event.note, "new");
  await b.shutdown();
  t.equal(clock.pendingTimers, 0, "shutdown stops the series timer");
});

t.test("both recorders against the real API server", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "skiff-events-"));
  const kubeconfig = join(dir, "admin.kubeconfig");
  const server = await startServer(
    [
      ...["--data-dir", join(dir, "data"), "--bind-address", "127.0.0.1", "--secure-port", "0"],
      ...["--write-kubeconfig", kubeconfig],
    ],
    () => {},
  );
  const client = new KubeClient(configFromKubeconfig(kubeconfig));
  const b = new EventBroadcaster({ client });
  t.teardown(async () => {
    await b.shutdown();
    await client.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  await client
    .resource("v1", "namespaces")
    .create({ apiVersion: "v1", kind: "Namespace", metadata: { name: "ev" } });
  const cm = await client
    .resource("v1", "configmaps", "ev")
    .create({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "settings" }, data: { a: "1" } });
  const r = b.newRecorder({ component: "test-controller", host: "here" });
  r.eventf(cm, "Normal", "Synced", "synced %s", "settings");
  await b.flush();
  r.eventf(cm, "Normal", "Synced", "synced %s", "settings");
  await b.flush();
  const v1 = client.resource<CoreEvent>("v1", "events", "ev");
  const core = (await v1.list()).items.filter((e) => e.reason === "Synced");
  t.equal(core.length, 1, "one Event for the two identical ones");
  t.match(core[0], {
    involvedObject: { kind: "ConfigMap", name: "settings", namespace: "ev", uid: cm.metadata.uid },
    message: "synced settings",
    count: 2,
    source: { component: "test-controller", host: "here" },
    type: "Normal",
  });

  const er = b.newEventsRecorder("skiff.io/test-controller", "test-1");
  er.eventf(cm, undefined, "Warning", "Drifted", "Reconcile", "drift in %s", "a");
  await b.flush();
  er.eventf(cm, undefined, "Warning", "Drifted", "Reconcile", "drift in %s", "a");
  await b.flush();
  const ev1 = client.resource<EventsV1Event>("events.k8s.io/v1", "events", "ev");
  const drifted = (await ev1.list()).items.filter((e) => e.reason === "Drifted");
  t.equal(drifted.length, 1);
  t.match(drifted[0], {
    regarding: { kind: "ConfigMap", name: "settings" },
    reportingController: "skiff.io/test-controller",
    reportingInstance: "test-1",
    action: "Reconcile",
    note: "drift in a",
    type: "Warning",
    series: { count: 2 },
  });
  // What `kubectl get events` lists: both, through core/v1.
  const listed = (await v1.list()).items.map((e) => e.reason).sort();
  t.same(listed, ["Drifted", "Synced"]);
});
