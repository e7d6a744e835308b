/**
 * The Proxier's pure and clock-driven parts: stale conntrack flows, kube-proxy's flags, the
 * BoundedFrequencyRunner on a FakeClock, the change tracker and the healthz server.
 */
import { FakeClock } from "@skiff/client";
import { FlagError } from "@skiff/component-base";
import t from "tap";
import { ChangeTracker, LAST_CHANGE_TRIGGER_TIME } from "../src/proxier/changes.js";
import { conntrackArgs, staleConntrackFlows } from "../src/proxier/conntrack.js";
import { goTimeString, ProxierHealthServer } from "../src/proxier/healthz.js";
import { parseProxyFlags } from "../src/proxier/options.js";
import { BoundedFrequencyRunner } from "../src/proxier/runner.js";
import type { ServicePortInfo } from "../src/rules/types.js";

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

function port(
  name: string,
  protocol: "TCP" | "UDP",
  endpoints: string[],
  nodePort?: number,
): ServicePortInfo {
  return { name, protocol, clusterIP: "10.96.0.10", port: 53, endpoints, ...(nodePort ? { nodePort } : {}) };
}

t.test("staleConntrackFlows", async (t) => {
  const args = (p: ServicePortInfo[], n: ServicePortInfo[]) =>
    staleConntrackFlows(p, n).map((f) => conntrackArgs(f).join(" "));
  t.same(args([], []), [], "nothing before, nothing after");
  t.same(
    args(
      [port("ns/dns:dns", "UDP", ["10.244.0.5:53", "10.244.0.6:53"], 30053)],
      [port("ns/dns:dns", "UDP", ["10.244.0.6:53"], 30053)],
    ),
    ["-D -p udp --orig-dst 10.96.0.10 --dst-nat 10.244.0.5", "-D -p udp --dport 30053 --dst-nat 10.244.0.5"],
    "an endpoint that went away: its ClusterIP and NodePort flows",
  );
  t.same(
    args([port("ns/dns:dns", "UDP", ["10.244.0.5:53"])], []),
    ["-D -p udp --orig-dst 10.96.0.10 --dst-nat 10.244.0.5"],
    "a Service that went away takes its endpoints' flows",
  );
  t.same(
    args([port("ns/dns:dns", "UDP", [], 30053)], [port("ns/dns:dns", "UDP", ["10.244.0.5:53"], 30053)]),
    ["-D -p udp --orig-dst 10.96.0.10 --dport 53", "-D -p udp --dport 30053"],
    "from no endpoints to some: the flows that met the REJECT",
  );
  t.same(
    args([], [port("ns/dns:dns", "UDP", ["10.244.0.5:53"])]),
    ["-D -p udp --orig-dst 10.96.0.10 --dport 53"],
    "a new UDP Service with endpoints counts as newly active (as kube)",
  );
  t.same(
    args([port("ns/web:http", "TCP", ["10.244.0.5:80"])], [port("ns/web:http", "TCP", [])]),
    [],
    "TCP needs no clean-up",
  );
  t.same(
    args([port("ns/dns:dns", "UDP", ["10.244.0.5:53"])], [port("ns/dns:dns", "UDP", ["10.244.0.5:53"])]),
    [],
    "nothing changed",
  );
  const two = [port("a/x:p", "UDP", ["10.244.0.5:53"]), port("a/y:p", "UDP", ["10.244.0.5:53"])];
  t.equal(staleConntrackFlows(two, []).length, 1, "duplicates (same ClusterIP, same endpoint) collapse");
});

t.test("parseProxyFlags: kube-proxy's defaults", async (t) => {
  const c = parseProxyFlags([]);
  t.same(c, {
    mode: "nftables",
    clusterCIDR: undefined,
    masqueradeBit: 14,
    minSyncPeriodMs: 1000,
    syncPeriodMs: 30_000,
    healthzBindAddress: { host: "0.0.0.0", port: 10256 },
    metricsBindAddress: { host: "127.0.0.1", port: 10249 },
    hostnameOverride: undefined,
  });
  const d = parseProxyFlags([
    "--proxy-mode=nftables",
    "--cluster-cidr=10.244.0.0/16,fd00::/48",
    "--masquerade-bit",
    "0",
    "--min-sync-period=0s",
    "--sync-period=1m",
    "--healthz-bind-address=127.0.0.1:0",
    "--hostname-override=Node-A",
  ]);
  t.equal(d.clusterCIDR, "10.244.0.0/16", "the IPv4 range of a dual-stack --cluster-cidr");
  t.equal(d.masqueradeBit, 0);
  t.equal(d.minSyncPeriodMs, 0);
  t.equal(d.syncPeriodMs, 60_000);
  t.same(d.healthzBindAddress, { host: "127.0.0.1", port: 0 });
  t.equal(d.hostnameOverride, "node-a", "lower-cased as kube");
  t.same(parseProxyFlags(["--healthz-bind-address", ""]).healthzBindAddress, undefined, "empty: off");
  t.same(parseProxyFlags(["--healthz-bind-address", "127.0.0.1"]).healthzBindAddress, {
    host: "127.0.0.1",
    port: 10256,
  });
});

t.test("parseProxyFlags: bad values name their flag", async (t) => {
  const bad: [string[], RegExp][] = [
    [["--proxy-mode=iptables"], /--proxy-mode.*nftables/],
    [["--proxy-mode=ipvs"], /--proxy-mode/],
    [["--masquerade-bit=32"], /--masquerade-bit/],
    [["--masquerade-bit=x"], /--masquerade-bit/],
    [["--cluster-cidr=10.244.0.0"], /--cluster-cidr/],
    [["--cluster-cidr=10.244.0.0/33"], /--cluster-cidr/],
    [["--min-sync-period=soon"], /--min-sync-period/],
    [["--sync-period=0s"], /--sync-period/],
    [["--sync-period=1s", "--min-sync-period=2s"], /--sync-period/],
    [["--healthz-bind-address=nowhere"], /--healthz-bind-address/],
    [["--metrics-bind-address=1.2.3.4:99999"], /--metrics-bind-address/],
    [["--hostname-override=a_b"], /--hostname-override/],
    [["--no-such-flag=1"], /unknown flag: --no-such-flag/],
  ];
  for (const [argv, re] of bad) t.throws(() => parseProxyFlags(argv), re, argv.join(" "));
  t.throws(() => parseProxyFlags(["--proxy-mode=iptables"]), FlagError);
});

function runnerOn(clock: FakeClock, fn: () => Promise<void> = async () => {}) {
  const runs: number[] = [];
  const r = new BoundedFrequencyRunner(
    "test",
    async () => {
      runs.push(clock.now());
      await fn();
    },
    { minIntervalMs: 1000, maxIntervalMs: 30_000, burstRuns: 2, clock },
  );
  return { r, runs };
}

t.test("runner: burst of 2, then one per min interval, then the max interval", async (t) => {
  const clock = new FakeClock(0);
  const { r, runs } = runnerOn(clock);
  r.loop();
  r.run();
  await flush();
  r.run();
  await flush();
  t.same(runs, [0, 0], "two runs back to back (burst 2)");
  r.run();
  await flush();
  r.run();
  await flush();
  t.same(runs, [0, 0], "a third waits for a token; asks coalesce");
  clock.step(999);
  await flush();
  t.same(runs, [0, 0]);
  clock.step(1);
  await flush();
  t.same(runs, [0, 0, 1000], "one more after min-sync-period");
  clock.step(29_999);
  await flush();
  t.equal(runs.length, 3, "nothing asked: no run before the max interval");
  clock.step(1);
  await flush();
  t.same(runs, [0, 0, 1000, 31_000], "the periodic run, max interval after the last");
  clock.step(5000);
  r.run();
  await flush();
  t.same(runs.at(-1), 36_000, "a change after an idle period runs at once");
  await r.stop();
  t.equal(clock.pendingTimers, 0, "stop clears the timer");
});

t.test("runner: asks during a run coalesce into one run after it", async (t) => {
  const clock = new FakeClock(0);
  let release!: () => void;
  let slow = true;
  const { r, runs } = runnerOn(clock, () =>
    slow ? new Promise<void>((resolve) => (release = resolve)) : Promise.resolve(),
  );
  r.loop();
  r.run();
  await flush();
  t.ok(r.isRunning());
  r.run();
  r.run();
  r.run();
  slow = false;
  release();
  await flush();
  await flush();
  t.same(runs, [0, 0], "one more run, not three");
  await r.stop();
});

t.test("runner: retryAfter brings the next run forward", async (t) => {
  const clock = new FakeClock(0);
  let first = true;
  const { r, runs } = runnerOn(clock, async () => {
    if (first) r.retryAfter(5000);
    first = false;
  });
  r.loop();
  r.run();
  await flush();
  t.equal(r.nextRunAt(), 5000, "retry set during a run survives the run's reset to the max interval");
  clock.step(5000);
  await flush();
  t.same(runs, [0, 5000]);
  t.equal(r.nextRunAt(), 35_000, "then the max interval again");
  r.retryAfter(60_000);
  t.equal(r.nextRunAt(), 35_000, "a later retry does not postpone the next run");
  await r.stop();
});

t.test("change tracker: trigger times", async (t) => {
  const c = new ChangeTracker(1_000_000);
  const slice = (ann?: string) => ({
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: {
      name: "s",
      namespace: "n",
      ...(ann ? { annotations: { [LAST_CHANGE_TRIGGER_TIME]: ann } } : {}),
    },
  });
  c.endpointSliceChanged("n/a", slice(new Date(1_500_000).toISOString()), 1_600_000);
  c.endpointSliceChanged("n/b", slice(), 1_700_000);
  c.endpointSliceChanged("n/c", slice(new Date(10).toISOString()), 1_800_000);
  c.endpointSliceChanged("n/d", slice(), 1_900_000, true);
  c.endpointSliceChanged("n/e", undefined, 2_000_000);
  c.serviceChanged("n/svc");
  t.equal(c.pendingEndpointSlices, 5);
  const taken = c.take();
  t.same(
    taken.triggerTimes.sort(),
    [1_500_000, 1_700_000, 2_000_000],
    "annotation, else event time; not before start, not the initial list",
  );
  t.equal(taken.services, 1);
  t.ok(c.empty, "taken");
  c.restoreTriggerTimes([5]);
  t.same(c.take().triggerTimes, [5], "a failed sync gives its times back");
});

t.test("goTimeString", async (t) => {
  t.equal(goTimeString(Date.UTC(2024, 0, 2, 3, 4, 5, 120)), "2024-01-02 03:04:05.12 +0000 UTC");
  t.equal(goTimeString(Date.UTC(2024, 0, 2, 3, 4, 5, 0)), "2024-01-02 03:04:05 +0000 UTC");
  t.equal(goTimeString(undefined), "0001-01-01 00:00:00 +0000 UTC", "Go's zero time");
});

t.test("healthz server: healthy unless an update waits past the timeout", async (t) => {
  const clock = new FakeClock(Date.UTC(2024, 0, 1));
  const hs = new ProxierHealthServer({ healthTimeoutMs: 60_000, clock });
  const { host, port } = await hs.listen("127.0.0.1", 0);
  t.teardown(() => hs.close());
  const get = async (path: string) => {
    const res = await fetch(`http://${host}:${port}${path}`);
    return { code: res.status, type: res.headers.get("content-type"), body: await res.text() };
  };
  let r = await get("/healthz");
  t.equal(r.code, 200, "healthy while starting up");
  t.equal(r.type, "application/json");
  t.same(JSON.parse(r.body), {
    lastUpdated: "2024-01-01 00:00:00 +0000 UTC",
    currentTime: "2024-01-01 00:00:00 +0000 UTC",
    nodeEligible: true,
  });
  hs.queuedUpdate();
  clock.step(59_999);
  t.equal((await get("/healthz")).code, 200, "an update waiting less than the timeout");
  clock.step(1);
  r = await get("/healthz");
  t.equal(r.code, 503, "an update waiting for the timeout");
  t.match(JSON.parse(r.body), { lastUpdated: "0001-01-01 00:00:00 +0000 UTC", nodeEligible: true });
  t.equal((await get("/livez")).code, 503);
  hs.updated();
  t.equal((await get("/livez")).code, 200, "synced again");
  t.same(Object.keys(JSON.parse((await get("/livez")).body)), ["lastUpdated", "currentTime"]);
  hs.syncNode({ metadata: { deletionTimestamp: "2024-01-01T00:01:00Z" } });
  r = await get("/healthz");
  t.equal(r.code, 503, "a node being deleted fails healthz");
  t.equal(JSON.parse(r.body).nodeEligible, false);
  t.equal((await get("/livez")).code, 200, "but not livez");
  t.equal((await get("/metrics")).code, 404);
});
