/**
 * ProberManager's workers on a FakeClock with a scripted execSync: initial results, failure
 * and success thresholds, initial delay, startup gating, hold after a liveness failure until a
 * new container id, updatePodStatus's started/ready, events, and worker clean-up.
 */
import type { Pod } from "@skiff/api";
import { FakeClock } from "@skiff/client";
import t from "tap";
import type { KubeletContainer, KubeletPodStatus, Probe } from "../src/api-types.js";
import { ProberManager } from "../src/prober/manager.js";
import type { ProbeResultEvent } from "../src/prober/prober.js";
import type { ExecSync } from "../src/prober/types.js";

const START = Date.parse("2026-01-01T00:00:00Z");
const rfc3339 = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

/** Lets the probe's promise chain (execSync, prober, worker) run to its end. */
const settle = () => new Promise((r) => setImmediate(r));

function exec(cmd: string[], more: Partial<Probe> = {}): Probe {
  return {
    exec: { command: cmd },
    periodSeconds: 10,
    timeoutSeconds: 1,
    successThreshold: 1,
    failureThreshold: 3,
    ...more,
  };
}

function setup(container: KubeletContainer) {
  const clock = new FakeClock(START);
  const outcomes: number[] = [];
  const calls: string[][] = [];
  const execSync: ExecSync = async (_id, cmd) => {
    calls.push([...cmd]);
    const code = outcomes.shift() ?? 0;
    return { exitCode: code, stdout: code === 0 ? "" : `exit ${code}`, stderr: "", timedOut: false };
  };
  const pod: Pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "p", namespace: "default", uid: "uid-1" },
    spec: { containers: [container], restartPolicy: "Always" },
  };
  const status: KubeletPodStatus = {
    phase: "Running",
    conditions: [],
    podIP: "10.244.0.5",
    containerStatuses: [
      {
        name: container.name,
        containerID: "containerd://aaa",
        state: { running: { startedAt: rfc3339(START) } },
        lastState: {},
        ready: false,
        restartCount: 0,
        image: "img",
        imageID: "",
      },
    ],
  };
  const recorded: string[] = [];
  const manager = new ProberManager({
    dial: () => Promise.reject(new Error("no network in this test")),
    execSync,
    getPodStatus: (uid) => (uid === "uid-1" ? status : undefined),
    clock,
    random: () => 0,
    recorder: { event: (_ref, _type, reason, message) => recorded.push(`${reason}: ${message}`) },
  });
  const events: ProbeResultEvent[] = [];
  manager.onResult((e) => events.push(e));
  /** The kubelet's status sync (started/ready from the probes), then time passes. */
  const step = async (ms: number) => {
    manager.updatePodStatus(pod, status);
    clock.step(ms);
    await settle();
  };
  const cs = () =>
    status.containerStatuses?.[0] as NonNullable<KubeletPodStatus["containerStatuses"]>[number];
  return { clock, outcomes, calls, pod, status, manager, events, recorded, step, settle, cs };
}

t.test("liveness: initial success, failure after the threshold, hold until a new container", async (t) => {
  const s = setup({ name: "c", livenessProbe: exec(["check"]) });
  t.teardown(() => s.manager.stop());
  s.outcomes.push(1, 1, 1, 1);
  s.manager.addPod(s.pod);
  await s.step(0);
  t.same(
    s.events.map((e) => [e.probeType, e.result]),
    [["liveness", "success"]],
    "initial result success",
  );
  t.equal(s.calls.length, 1, "first probe at once (jitter 0)");
  await s.step(10_000);
  t.equal(s.events.length, 1, "two failures are below the threshold");
  await s.step(10_000);
  t.equal(s.calls.length, 3);
  t.same(s.events.at(-1), {
    podUID: "uid-1",
    containerName: "c",
    containerID: "containerd://aaa",
    probeType: "liveness",
    result: "failure",
    message: "Liveness probe failed: exit 1",
  });
  t.equal(s.recorded.at(-1), "Unhealthy: Liveness probe failed: exit 1");
  t.equal(s.manager.getResult("liveness", "containerd://aaa"), "failure");
  await s.step(30_000);
  t.equal(s.calls.length, 3, "on hold: no probes of a failed container");
  // The kubelet restarts the container: a new id resets the result and resumes probing.
  s.cs().containerID = "containerd://bbb";
  await s.step(10_000);
  t.same(s.events.at(-1)?.containerID, "containerd://bbb");
  t.equal(s.events.at(-1)?.result, "success");
  t.equal(s.manager.getResult("liveness", "containerd://aaa"), undefined, "old id removed");
  t.equal(s.calls.length, 4);
});

t.test("initialDelaySeconds counts from the container's start", async (t) => {
  const s = setup({
    name: "c",
    livenessProbe: exec(["check"], { initialDelaySeconds: 25, periodSeconds: 10 }),
  });
  t.teardown(() => s.manager.stop());
  s.manager.addPod(s.pod);
  await s.step(0);
  await s.step(20_000);
  t.equal(s.calls.length, 0, "nothing before 25 s");
  await s.step(10_000);
  t.equal(s.calls.length, 1, "probed at 30 s");
});

t.test("readiness: initial failure, success threshold, updatePodStatus ready", async (t) => {
  const s = setup({ name: "c", readinessProbe: exec(["ready"], { successThreshold: 2 }) });
  t.teardown(() => s.manager.stop());
  s.manager.addPod(s.pod);
  s.manager.updatePodStatus(s.pod, s.status);
  t.equal(s.cs().started, true, "no startup probe: started once running");
  t.equal(s.cs().ready, false);
  s.clock.step(0);
  await s.settle();
  // That updatePodStatus asked for a manual readiness run; like kube's buffered trigger it
  // runs right after the first probe, without waiting for the period.
  t.equal(s.calls.length, 2, "first probe and the manual run");
  t.same(
    s.events.map((e) => e.result),
    ["failure", "success"],
    "readiness starts failed; the second success crosses successThreshold 2",
  );
  s.manager.updatePodStatus(s.pod, s.status);
  t.equal(s.cs().ready, true);
  s.cs().state = { terminated: { exitCode: 1 } };
  s.manager.updatePodStatus(s.pod, s.status);
  t.same([s.cs().started, s.cs().ready], [false, false], "not running: neither started nor ready");
});

t.test("no probes: started and ready once running", async (t) => {
  const s = setup({ name: "c" });
  s.manager.addPod(s.pod);
  t.equal(s.manager.workerCount, 0);
  s.manager.updatePodStatus(s.pod, s.status);
  t.same([s.cs().started, s.cs().ready], [true, true]);
});

t.test("startup probe gates liveness and readiness", async (t) => {
  const s = setup({
    name: "c",
    startupProbe: exec(["startup"], { periodSeconds: 5, failureThreshold: 10 }),
    livenessProbe: exec(["live"]),
    readinessProbe: exec(["ready"]),
  });
  t.teardown(() => s.manager.stop());
  s.outcomes.push(1, 1);
  s.manager.addPod(s.pod);
  await s.step(0);
  s.manager.updatePodStatus(s.pod, s.status);
  t.same([s.cs().started, s.cs().ready], [false, false], "startup probe has not succeeded");
  await s.step(10_000);
  t.same(
    s.calls.map((c) => c[0]),
    ["startup", "startup", "startup"],
    "only the startup probe runs before the container has started",
  );
  t.equal(s.manager.getResult("startup", "containerd://aaa"), "success");
  s.manager.updatePodStatus(s.pod, s.status);
  t.equal(s.cs().started, true);
  await s.step(10_000);
  const after = s.calls.slice(3).map((c) => c[0]);
  t.ok(after.includes("live") && after.includes("ready"), "liveness and readiness run once started");
  t.notOk(after.includes("startup"), "startup no longer probed once started");
  s.manager.updatePodStatus(s.pod, s.status);
  t.equal(s.cs().ready, true);
});

t.test("workers end with the pod: removePod and a terminal phase", async (t) => {
  const s = setup({ name: "c", livenessProbe: exec(["check"]), readinessProbe: exec(["ready"]) });
  s.manager.addPod(s.pod);
  await s.step(0);
  t.equal(s.manager.workerCount, 2);
  s.manager.removePod(s.pod);
  t.equal(s.manager.workerCount, 0);
  t.equal(s.clock.pendingTimers, 0, "no timers left");
  t.equal(s.manager.getResult("readiness", "containerd://aaa"), undefined, "results removed");

  s.manager.addPod(s.pod);
  await s.step(0);
  t.equal(s.manager.workerCount, 2, "added again");
  s.status.phase = "Succeeded";
  await s.step(10_000);
  t.equal(s.manager.workerCount, 0, "a finished pod stops its workers");
  t.equal(s.clock.pendingTimers, 0);
});

t.test("graceful deletion quiets liveness", async (t) => {
  const s = setup({ name: "c", livenessProbe: exec(["check"], { failureThreshold: 1 }) });
  t.teardown(() => s.manager.stop());
  s.manager.addPod(s.pod);
  await s.step(0);
  s.manager.addPod({ ...s.pod, metadata: { ...s.pod.metadata, deletionTimestamp: rfc3339(START) } });
  s.outcomes.push(1);
  await s.step(10_000);
  t.equal(s.calls.length, 1, "no probe once the pod is being deleted");
  t.equal(s.manager.getResult("liveness", "containerd://aaa"), undefined, "worker gone with its result");
  t.notOk(s.events.some((e) => e.result === "failure"));
});
