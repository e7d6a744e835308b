/**
 * The hollow nodes' parts on a manual clock: CIDR arithmetic, the pod IP allocator, the timer
 * wheel, the request limiter (concurrency, qps, lanes), the work queue (dedup, one sync per key at
 * a time, backoff), the flags, and the pod status patch.
 */
import type { Pod } from "@skiff/api";
import t from "tap";
import {
  type Clock,
  formatCidr,
  LimiterClosed,
  PodIPAllocator,
  parseCidr,
  parseHollowNodesFlags,
  podAddresses,
  RequestLimiter,
  subnet,
  Wheel,
  WorkQueue,
} from "../src/index.js";
import { exitPlan, isRunningAndReady, runningStatusPatch, terminatedStatusPatch } from "../src/pod-status.js";

/** Timers that fire only when the test moves time on. */
class ManualClock implements Clock {
  private t = 1_000_000;
  private seq = 0;
  private timers = new Map<number, { at: number; f: () => void }>();
  now(): number {
    return this.t;
  }
  monotonic(): number {
    return this.t;
  }
  setTimeout(f: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + ms, f });
    return id;
  }
  clearTimeout(h: unknown): void {
    this.timers.delete(h as number);
  }
  get pending(): number {
    return this.timers.size;
  }
  /** Moves time on, firing due timers in time order (and those they set, if due). */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      const due = [...this.timers.entries()]
        .filter(([, x]) => x.at <= end)
        .sort((a, b) => a[1].at - b[1].at)[0];
      if (due === undefined) break;
      this.timers.delete(due[0]);
      this.t = Math.max(this.t, due[1].at);
      due[1].f();
      await flush();
    }
    this.t = end;
    await flush();
  }
}

const flush = async () => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

t.test("CIDRs: node i gets the i-th /24 of the base", async (t) => {
  const base = parseCidr("10.64.0.0/10");
  t.equal(formatCidr(subnet(base, 24, 0)), "10.64.0.0/24");
  t.equal(formatCidr(subnet(base, 24, 257)), "10.65.1.0/24");
  t.equal(formatCidr(subnet(base, 24, 16383)), "10.127.255.0/24");
  t.throws(() => subnet(base, 24, 16384), /no subnet/);
  t.equal(formatCidr(parseCidr("10.64.3.7/10")), "10.64.0.0/10", "host bits cleared");
  t.throws(() => parseCidr("10.64.0.300/10"), /invalid CIDR/);
  t.throws(() => parseCidr("10.64.0.0"), /invalid CIDR/);
});

t.test("pod IPs: unique, inside the CIDR, round robin, reused once released", async (t) => {
  const a = new PodIPAllocator(parseCidr("10.64.5.0/29"));
  t.equal(podAddresses(29), 5, "a /29 holds .2 to .6");
  const got = [a.allocate(), a.allocate(), a.allocate()];
  t.same(got, ["10.64.5.2", "10.64.5.3", "10.64.5.4"]);
  a.release("10.64.5.3");
  t.equal(a.allocate(), "10.64.5.5", "the search goes on past the last address given");
  t.equal(a.allocate(), "10.64.5.6");
  t.equal(a.allocate(), "10.64.5.3", "then wraps round to the released one");
  t.equal(a.inUse, 5);
  t.throws(() => a.allocate(), /no free pod IP/);
  t.notOk(a.claim("10.64.5.4"), "a taken address cannot be claimed");
  t.notOk(a.claim("10.64.6.9"), "nor one outside the CIDR");
  a.release("10.64.5.4");
  t.ok(a.claim("10.64.5.4"), "a free one can");
  t.notOk(a.claim("10.64.5.1"), "the gateway is never a pod's");
});

t.test("the wheel visits every member once per period, spread over it", async (t) => {
  const w = new Wheel<number>(1000, 100, 0);
  for (let i = 0; i < 50; i++) w.add(i, i / 50);
  const visits: number[][] = [];
  for (let now = 100; now <= 2000; now += 100) {
    const batch: number[] = [];
    w.advance(now, (i) => batch.push(i));
    visits.push(batch);
  }
  t.ok(
    visits.every((b) => b.length === 5),
    "5 of 50 per tick",
  );
  const firstPeriod = visits
    .slice(0, 10)
    .flat()
    .sort((a, b) => a - b);
  t.same(
    firstPeriod,
    Array.from({ length: 50 }, (_, i) => i),
    "each once per period",
  );
  const late: number[] = [];
  w.advance(5000, (i) => late.push(i));
  t.equal(late.length, 50, "a tick three periods late visits each member once, not three times");
});

t.test("the limiter: concurrency, qps and the node lane first", async (t) => {
  const clock = new ManualClock();
  const l = new RequestLimiter({ qps: 10, burst: 2, concurrency: 2, clock });
  const started: string[] = [];
  const gates = new Map<string, () => void>();
  const job = (lane: "node" | "pod", name: string) =>
    l.run(lane, () => {
      started.push(name);
      return new Promise<void>((resolve) => gates.set(name, resolve));
    });
  const all = [job("pod", "p1"), job("pod", "p2"), job("pod", "p3"), job("node", "n1")];
  await flush();
  t.same(started, ["p1", "p2"], "two in flight (the burst of 2 tokens)");
  gates.get("p1")?.();
  await flush();
  t.same(started, ["p1", "p2"], "a free slot waits for a token");
  await clock.advance(100);
  t.same(started, ["p1", "p2", "n1"], "after 100 ms at 10 qps: the node lane goes first");
  gates.get("p2")?.();
  await clock.advance(100);
  t.same(started, ["p1", "p2", "n1", "p3"]);
  gates.get("n1")?.();
  gates.get("p3")?.();
  await Promise.all(all);
  await clock.advance(1000);
  const inFlight = [job("pod", "p4"), job("pod", "p5")];
  const queued = job("pod", "p6");
  await flush();
  t.same(started.slice(4), ["p4", "p5"], "the bucket refilled to its burst");
  l.close();
  await t.rejects(queued, LimiterClosed, "closed: what waits is refused");
  await t.rejects(job("pod", "p7"), LimiterClosed, "and so is new work");
  gates.get("p4")?.();
  gates.get("p5")?.();
  await Promise.all(inFlight);
  await l.idle();
  t.equal(clock.pending, 0, "no timer left");
});

t.test("the work queue: dedup, one sync per key at a time, backoff on failure", async (t) => {
  const clock = new ManualClock();
  const calls: string[] = [];
  let running = 0;
  let maxRunning = 0;
  const release: (() => void)[] = [];
  let failures = 2;
  const q = new WorkQueue(
    async (key) => {
      calls.push(key);
      running++;
      maxRunning = Math.max(maxRunning, running);
      await new Promise<void>((resolve) => release.push(resolve));
      running--;
      if (key === "r" && failures-- > 0) throw new Error("try again");
    },
    { workers: 4, clock },
  );
  const finish = async () => {
    for (const r of release.splice(0)) r();
    await flush();
  };
  q.add("a");
  q.add("a");
  q.add("b");
  await flush();
  t.same(calls, ["a", "b"], "a key queued twice is synced once");
  q.add("a");
  await flush();
  t.same(calls, ["a", "b"], "a key added while syncing waits for the sync");
  await finish();
  t.same(calls, ["a", "b", "a"], "then runs again");
  t.equal(maxRunning, 2, "never two syncs of one key at once");
  await finish();
  calls.length = 0;
  q.add("r");
  await flush();
  await finish(); // first failure: retry after 5 ms
  await clock.advance(4);
  t.same(calls, ["r"], "the first retry waits 5 ms");
  await clock.advance(1);
  t.same(calls, ["r", "r"]);
  await finish(); // second failure: retry after 10 ms
  await clock.advance(9);
  t.same(calls, ["r", "r"], "the second waits 10 ms");
  await clock.advance(1);
  t.same(calls, ["r", "r", "r"]);
  await finish();
  t.equal(q.retries, 2, "two failures counted");
  const stopped = q.shutDown();
  q.add("c");
  await stopped;
  t.same(calls, ["r", "r", "r"], "nothing after shutDown");
  t.equal(clock.pending, 0, "no timer left");
});

t.test("flags: defaults, and errors naming the flag", async (t) => {
  const o = parseHollowNodesFlags(["--kubeconfig", "k", "--count", "5000"]);
  t.match(o, {
    count: 5000,
    namePrefix: "hollow-",
    cpu: "4",
    memory: "16Gi",
    pods: 110,
    zones: 3,
    podCidrBase: "10.64.0.0/10",
    nodeCidrMaskSize: 24,
    nodeLeaseDurationSeconds: 40,
    leaseRenewIntervalMs: 10_000,
    nodeStatusReportFrequencyMs: 300_000,
    deleteNodesOnExit: false,
  });
  t.throws(() => parseHollowNodesFlags([]), /required flag\(s\) "kubeconfig" not set/);
  t.throws(() => parseHollowNodesFlags(["--kubeconfig", "k", "--count", "20000"]), /--count/);
  t.throws(() => parseHollowNodesFlags(["--kubeconfig", "k", "--memory", "lots"]), /--memory/);
  t.throws(
    () => parseHollowNodesFlags(["--kubeconfig", "k", "--node-cidr-mask-size", "26"]),
    /--pods/,
    "a /26 holds fewer than 110 pods",
  );
  t.equal(
    parseHollowNodesFlags(["--kubeconfig", "k", "--node-lease-renew-interval", "1s"]).leaseRenewIntervalMs,
    1000,
  );
});

t.test("the pod status patch: Running, Ready, IPs, containers, uid precondition", async (t) => {
  const pod: Pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "p", namespace: "ns", uid: "u-1" },
    spec: { nodeName: "n", containers: [{ name: "c", image: "img" }] },
    status: {
      phase: "Pending",
      conditions: [{ type: "PodScheduled", status: "True", lastTransitionTime: "2020-01-01T00:00:00Z" }],
    },
  };
  const patch = runningStatusPatch(pod, { hostIP: "172.16.0.1", podIP: "10.64.0.2", startedAt: 0 }, 1000) as {
    metadata: { uid: string };
    status: Pod["status"] & Record<string, unknown>;
  };
  t.equal(patch.metadata.uid, "u-1");
  t.match(patch.status, {
    phase: "Running",
    podIP: "10.64.0.2",
    podIPs: [{ ip: "10.64.0.2" }],
    hostIP: "172.16.0.1",
    startTime: "1970-01-01T00:00:00Z",
  });
  const scheduled = patch.status.conditions?.find((c) => c.type === "PodScheduled");
  t.equal(
    scheduled?.lastTransitionTime,
    "2020-01-01T00:00:00Z",
    "a True condition keeps its transition time",
  );
  t.notOk(isRunningAndReady(pod));
  t.ok(isRunningAndReady({ ...pod, status: patch.status }), "the patched status reads as done");
});

t.test("the exit knob: a plan only where no restart is due; the terminal status", async (t) => {
  const pod = (restartPolicy: string, annotations: Record<string, string>): Pod => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "p", namespace: "ns", uid: "u-2", annotations },
    spec: { nodeName: "n", restartPolicy, containers: [{ name: "c", image: "img" }] },
  });
  const after = { "hollow.skiff.dev/exit-after-ms": "250" };
  t.same(exitPlan(pod("Never", after)), { afterMs: 250, code: 0 });
  t.same(exitPlan(pod("Never", { ...after, "hollow.skiff.dev/exit-code": "3" })), { afterMs: 250, code: 3 });
  t.same(exitPlan(pod("OnFailure", after)), { afterMs: 250, code: 0 });
  t.equal(
    exitPlan(pod("OnFailure", { ...after, "hollow.skiff.dev/exit-code": "3" })),
    undefined,
    "would restart",
  );
  t.equal(exitPlan(pod("Always", after)), undefined);
  t.equal(exitPlan(pod("Never", {})), undefined);
  t.equal(exitPlan(pod("Never", { "hollow.skiff.dev/exit-after-ms": "soon" })), undefined);

  const failed = terminatedStatusPatch(
    pod("Never", after),
    { hostIP: "h", podIP: "p", startedAt: 0 },
    2000,
    3,
  ) as {
    status: Pod["status"] & { containerStatuses: { state: { terminated: Record<string, unknown> } }[] };
  };
  t.equal(failed.status.phase, "Failed");
  t.match(failed.status.containerStatuses[0]?.state.terminated, {
    exitCode: 3,
    reason: "Error",
    startedAt: "1970-01-01T00:00:00Z",
    finishedAt: "1970-01-01T00:00:02Z",
  });
  t.match(
    failed.status.conditions?.find((c) => c.type === "Ready"),
    { status: "False", reason: "PodFailed" },
  );
  const ok = terminatedStatusPatch(
    pod("Never", after),
    { hostIP: "h", podIP: "p", startedAt: 0 },
    2000,
    0,
  ) as {
    status: Pod["status"];
  };
  t.equal(ok.status?.phase, "Succeeded");
  t.match(
    ok.status?.conditions?.find((c) => c.type === "Ready"),
    { status: "False", reason: "PodCompleted" },
  );
});
