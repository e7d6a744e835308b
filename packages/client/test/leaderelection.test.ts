/**
 * Leader election: on a fake clock over an in-memory Lease client with optimistic concurrency
 * (one leads and the other waits; a crashed leader is replaced once the lease duration passed
 * since its last renewal; a released lease is taken at once; a leader whose renewals fail stops
 * leading by the renew deadline, its signal aborts and its write guard refuses writes), then
 * two electors against the real API server.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Lease } from "@skiff/api";
import { startServer } from "@skiff/apiserver";
import { waitFor } from "@skiff/testkit";
import { Registry } from "prom-client";
import t from "tap";
import {
  ApiError,
  type Clock,
  configFromKubeconfig,
  FakeClock,
  KubeClient,
  type LeaderElectionConfig,
  LeaderElector,
  NotLeaderError,
  type ObjectList,
  type ResourceClient,
  type Watch,
} from "../src/index.js";

const clone = <T>(o: T): T => structuredClone(o);

/** An in-memory Lease client: resourceVersions, 409 on a stale update, and an outage switch. */
class FakeLeases implements ResourceClient<Lease> {
  readonly apiVersion = "coordination.k8s.io/v1";
  readonly resource = "leases";
  readonly namespace = "kube-system";
  lease: Lease | undefined;
  private rv = 0;
  /** Every call fails as an unreachable server would while set. */
  down = false;
  /** Clock time of each successful write, with the holder it wrote. */
  readonly writes: { at: number; holder: string }[] = [];

  constructor(private readonly clock: Clock) {}

  private reach(): void {
    if (this.down)
      throw Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:6443"), { code: "ECONNREFUSED" });
  }

  private store(obj: Lease): Lease {
    this.lease = clone({ ...obj, metadata: { ...obj.metadata, resourceVersion: String(++this.rv) } });
    this.writes.push({ at: this.clock.now(), holder: obj.spec?.holderIdentity ?? "" });
    return clone(this.lease);
  }

  async get(name: string): Promise<Lease> {
    this.reach();
    if (this.lease === undefined) throw new ApiError(404, undefined, `get ${name}`);
    return clone(this.lease);
  }

  async create(obj: Lease): Promise<Lease> {
    this.reach();
    if (this.lease !== undefined)
      throw new ApiError(409, { kind: "Status", reason: "AlreadyExists", code: 409 });
    return this.store(obj);
  }

  async update(obj: Lease): Promise<Lease> {
    this.reach();
    if (this.lease === undefined) throw new ApiError(404, undefined, "update");
    if (obj.metadata.resourceVersion !== this.lease.metadata.resourceVersion)
      throw new ApiError(409, { kind: "Status", reason: "Conflict", code: 409 });
    return this.store(obj);
  }

  list(): Promise<ObjectList<Lease>> {
    throw new Error("not used");
  }
  listAll(): Promise<ObjectList<Lease>> {
    throw new Error("not used");
  }
  updateStatus(): Promise<Lease> {
    throw new Error("not used");
  }
  patch(): Promise<Lease> {
    throw new Error("not used");
  }
  delete(): Promise<Lease> {
    throw new Error("not used");
  }
  watch(): Watch {
    throw new Error("not used");
  }
}

/** Lets the in-memory client's promises and the electors' continuations run. */
const settle = async () => {
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
};

/** Moves the fake clock by `ms` in steps, letting the electors run between them. */
async function advance(clock: FakeClock, ms: number, step = 100, until?: () => boolean): Promise<void> {
  for (let done = 0; done < ms && until?.() !== true; done += step) {
    clock.step(step);
    await settle();
  }
}

interface Candidate {
  elector: LeaderElector;
  started: AbortSignal[];
  stopped: number;
  newLeaders: string[];
}

function candidate(
  identity: string,
  leases: ResourceClient<Lease>,
  clock: FakeClock,
  extra: Partial<LeaderElectionConfig> = {},
): Candidate {
  const c: Candidate = {
    elector: undefined as unknown as LeaderElector,
    started: [],
    stopped: 0,
    newLeaders: [],
  };
  c.elector = new LeaderElector({
    lock: { namespace: "kube-system", name: "kube-scheduler" },
    client: leases,
    identity,
    clock,
    random: () => 0,
    callbacks: {
      onStartedLeading: (signal) => {
        c.started.push(signal);
      },
      onStoppedLeading: () => {
        c.stopped++;
      },
      onNewLeader: (id) => {
        c.newLeaders.push(id);
      },
    },
    ...extra,
  });
  return c;
}

const START = Date.UTC(2025, 0, 1);

t.test("one leads, the other waits; a crashed leader is replaced after the lease duration", async (t) => {
  const clock = new FakeClock(START);
  const leases = new FakeLeases(clock);
  const registry = new Registry();
  const one = candidate("one", leases, clock, { registry });
  const two = candidate("two", leases, clock);
  const oneRun = one.elector.run();
  await settle();
  t.ok(one.elector.isLeader(), "the first candidate takes the free lease");
  t.equal(one.started.length, 1);
  t.match(leases.lease?.spec, { holderIdentity: "one", leaseDurationSeconds: 15, leaseTransitions: 0 });
  t.match(leases.lease?.spec?.renewTime, /^2025-01-01T00:00:00\.000000Z$/, "MicroTime");
  t.match(
    await registry.getSingleMetricAsString("leader_election_master_status"),
    /name="kube-scheduler"} 1/,
  );
  const twoRun = two.elector.run();
  await advance(clock, 30_000);
  t.ok(one.elector.isLeader(), "the leader keeps leading by renewing");
  t.notOk(two.elector.isLeader(), "the other waits");
  t.same(two.newLeaders, ["one"]);
  t.equal(two.elector.getLeader(), "one");
  t.ok(leases.writes.length >= 15, "renewed every retry period");

  // A crash: "one" stops renewing and releases nothing.
  await one.elector.stop();
  await oneRun;
  t.equal(leases.lease?.spec?.holderIdentity, "one", "not released");
  const lastRenewal = (leases.writes.at(-1) as { at: number }).at;
  await advance(clock, 30_000, 100, () => two.elector.isLeader());
  t.ok(two.elector.isLeader(), "the other took over");
  const took = leases.writes.at(-1) as { at: number; holder: string };
  t.equal(took.holder, "two");
  t.ok(took.at - lastRenewal >= 15_000, `not before the lease duration (${took.at - lastRenewal} ms)`);
  t.ok(took.at - lastRenewal <= 15_000 + 2 * 2000, "within about a retry period after it");
  t.equal(leases.lease?.spec?.leaseTransitions, 1, "a transition");
  t.same(two.newLeaders, ["one", "two"]);
  t.equal(one.stopped, 1, "onStoppedLeading once");
  t.ok(one.started[0]?.aborted, "the old leader's signal aborted");
  t.match(
    await registry.getSingleMetricAsString("leader_election_master_status"),
    /name="kube-scheduler"} 0/,
  );
  await two.elector.stop();
  await twoRun;
  t.equal(clock.pendingTimers, 0, "no timer left");
});

t.test("a released lease is taken at once", async (t) => {
  const clock = new FakeClock(START);
  const leases = new FakeLeases(clock);
  const one = candidate("one", leases, clock, { releaseOnCancel: true });
  const two = candidate("two", leases, clock);
  void one.elector.run();
  await settle();
  void two.elector.run();
  await advance(clock, 5000);
  t.ok(one.elector.isLeader());
  await one.elector.stop();
  t.match(
    leases.lease?.spec,
    { holderIdentity: "", leaseDurationSeconds: 1 },
    "released as client-go's release",
  );
  t.notOk(one.elector.isLeader());
  const released = clock.now();
  await advance(clock, 30_000, 100, () => two.elector.isLeader());
  t.ok(two.elector.isLeader());
  t.ok(clock.now() - released <= 2000 + 100, "at the next retry, not after a lease duration");
  t.equal(leases.lease?.spec?.leaseTransitions, 1);
  await two.elector.stop();
});

t.test(
  "a leader whose renewals fail stops leading by the renew deadline; the guard refuses writes",
  async (t) => {
    const clock = new FakeClock(START);
    const leases = new FakeLeases(clock);
    const one = candidate("one", leases, clock);
    let requests = 0;
    const server = createServer((req, res) => {
      requests++;
      req.resume();
      res.writeHead(201, { "content-type": "application/json" }).end("{}");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const client = new KubeClient({
      server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      writeGuard: () => one.elector.assertLeader(),
    });
    t.teardown(async () => {
      await client.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    });
    const run = one.elector.run();
    await advance(clock, 6000);
    t.ok(one.elector.isLeader());
    await client.raw("POST", "/api/v1/namespaces/default/configmaps", {});
    t.equal(requests, 1, "the leader writes");
    leases.down = true;
    const lastRenewal = (leases.writes.at(-1) as { at: number }).at;
    await advance(clock, 20_000, 100, () => !one.elector.isLeader());
    t.notOk(one.elector.isLeader());
    t.ok(clock.now() >= lastRenewal + 10_000, "leading held until the renew deadline");
    t.ok(clock.now() < lastRenewal + 10_000 + 100, "and ended as it passed");
    t.ok(one.started[0]?.aborted, "the leader's signal aborted");
    t.ok(one.started[0]?.reason instanceof NotLeaderError);
    await t.rejects(client.raw("POST", "/api/v1/namespaces/default/configmaps", {}), NotLeaderError);
    await t.rejects(client.resource("v1", "configmaps", "default").delete("x"), NotLeaderError);
    t.equal(requests, 1, "refused before anything was sent");
    t.equal((await client.raw("GET", "/version")).status, 201, "reads go on");
    await run;
    t.equal(one.stopped, 1, "run ends after leading ended");
  },
);

t.test("isLeader reads the clock: false past the deadline even before any timer fires", async (t) => {
  const timers = new FakeClock(START);
  let now = START;
  // Time moves; timers never fire (a stalled event loop, say).
  const clock: Clock = {
    now: () => now,
    setTimeout: (fn, ms) => timers.setTimeout(fn, ms),
    clearTimeout: (h) => timers.clearTimeout(h),
  };
  const leases = new FakeLeases(timers);
  let signal: AbortSignal | undefined;
  const e = new LeaderElector({
    lock: { namespace: "kube-system", name: "x" },
    client: leases,
    identity: "me",
    clock,
    callbacks: {
      onStartedLeading: (s) => {
        signal = s;
      },
    },
  });
  void e.run();
  await settle();
  t.ok(e.isLeader());
  now += 9_999;
  t.ok(e.isLeader());
  now += 1;
  t.notOk(e.isLeader(), "at the renew deadline");
  t.throws(() => e.assertLeader(), NotLeaderError);
  t.equal(signal?.aborted, false, "the timer has not fired: only the clock says so");
  await e.stop();
  t.equal(signal?.aborted, true);
});

t.test("configuration checks as client-go's NewLeaderElector", async (t) => {
  const clock = new FakeClock();
  const base = {
    lock: { namespace: "ns", name: "n" },
    client: new FakeLeases(clock),
    callbacks: { onStartedLeading() {} },
  };
  t.throws(
    () => new LeaderElector({ ...base, leaseDurationMs: 10_000 }),
    /leaseDuration must be greater than renewDeadline/,
  );
  t.throws(
    () => new LeaderElector({ ...base, retryPeriodMs: 9000 }),
    /renewDeadline must be greater than retryPeriod\*JitterFactor/,
  );
  t.throws(() => new LeaderElector({ ...base, identity: "" }), /Lock identity is empty/);
  const e = new LeaderElector(base);
  t.match(e.identity, /^.+_[0-9a-f-]{36}$/, "hostname_uuid");
  t.same([e.leaseDurationMs, e.renewDeadlineMs, e.retryPeriodMs], [15_000, 10_000, 2_000]);
});

t.test("two electors against the real API server", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "skiff-election-"));
  const kubeconfig = join(dir, "admin.kubeconfig");
  const server = await startServer(
    [
      ...["--data-dir", join(dir, "data"), "--bind-address", "127.0.0.1", "--secure-port", "0"],
      ...["--write-kubeconfig", kubeconfig],
    ],
    () => {},
  );
  const client = new KubeClient(configFromKubeconfig(kubeconfig));
  t.teardown(async () => {
    await client.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const leading = new Set<string>();
  const make = (identity: string) =>
    new LeaderElector({
      lock: { namespace: "kube-system", name: "test-election" },
      client,
      identity,
      leaseDurationMs: 3000,
      renewDeadlineMs: 2000,
      retryPeriodMs: 200,
      releaseOnCancel: true,
      callbacks: {
        onStartedLeading: () => void leading.add(identity),
        onStoppedLeading: () => void leading.delete(identity),
      },
    });
  const a = make("a");
  const b = make("b");
  // Both at once: the create or update of one of them loses with 409.
  const runs = [a.run(), b.run()];
  const first = await waitFor(() => (a.isLeader() ? a : b.isLeader() ? b : undefined), { what: "a leader" });
  const second = first === a ? b : a;
  t.notOk(second.isLeader(), "only one leads");
  const leases = client.resource<Lease>("coordination.k8s.io/v1", "leases", "kube-system");
  const lease = await leases.get("test-election");
  t.equal(lease.spec?.holderIdentity, first.identity);
  t.equal(lease.spec?.leaseDurationSeconds, 3);
  await first.stop();
  await waitFor(() => second.isLeader(), { what: "the other to take the released lease" });
  const after = await leases.get("test-election");
  t.equal(after.spec?.holderIdentity, second.identity);
  t.equal(after.spec?.leaseTransitions, 1);
  t.same([...leading], [second.identity]);
  await second.stop();
  await Promise.all(runs);
  t.equal((await leases.get("test-election")).spec?.holderIdentity, "", "released on stop");
});
