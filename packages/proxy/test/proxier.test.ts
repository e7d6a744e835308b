/**
 * The Proxier on a FakeClient with a fake Nft and a fake rule generation: the first sync is
 * full, the next ones partial, a failed one makes the next full; headless Services and other
 * proxies' objects are not seen; metrics, the healthz server, the onSynced hook, stop leaving the
 * table and cleanup() removing it.
 */
import { FakeClient, FakeClock } from "@skiff/client";
import { waitFor } from "@skiff/testkit";
import t, { type Test } from "tap";
import { Proxier, type ProxierOptions, type SyncInfo } from "../src/proxier/proxier.js";
import { endpointSlice, FakeConntrack, FakeNft, fakeRules, service } from "./proxier-fixtures.js";

function setup(t: Test, extra: Partial<ProxierOptions> = {}) {
  const client = new FakeClient({
    objects: [
      service("web", "10.96.0.20", [{ name: "http", port: 80 }]),
      endpointSlice("web", ["10.244.0.5"], [{ name: "http", port: 8080 }]),
      service("headless", "None", [{ name: "http", port: 80 }]),
      {
        ...service("other", "10.96.0.30", [{ port: 80 }]),
        metadata: {
          name: "other",
          namespace: "default",
          labels: { "service.kubernetes.io/service-proxy-name": "elsewhere" },
        },
      },
      { apiVersion: "v1", kind: "Node", metadata: { name: "node-a" } },
    ],
  });
  const nft = new FakeNft();
  const conntrack = new FakeConntrack();
  const synced: SyncInfo[] = [];
  const rules = fakeRules();
  const proxier = new Proxier({
    client,
    nodeName: "node-a",
    rules,
    nft,
    conntrack,
    table: "skiff-test",
    config: { minSyncPeriodMs: 0, healthzBindAddress: { host: "127.0.0.1", port: 0 } },
    onSynced: (i) => synced.push(i),
    ...extra,
  });
  t.teardown(() => proxier.stop());
  return { client, nft, conntrack, synced, rules, proxier };
}

async function metric(p: Proxier, name: string): Promise<number> {
  const m = (await p.metrics.getMetricsAsJSON()).find((x) => x.name === name);
  if (m === undefined) throw new Error(`no metric ${name}`);
  const values = m.values as { value: number; metricName?: string }[];
  const count = values.find((v) => v.metricName === `${name}_count`);
  return count?.value ?? values[0]?.value ?? 0;
}

t.test("first sync full, a change partial, a failure makes the next full", async (t) => {
  const { client, nft, synced, proxier } = setup(t);
  await proxier.start();
  await proxier.ready;
  t.equal(nft.loads.length, 1);
  t.match(
    nft.loads[0],
    /^table ip skiff-test\ndelete table ip skiff-test\ntable ip skiff-test \{/,
    "a full sync",
  );
  t.match(nft.loads[0], /10\.96\.0\.20 tcp dport 80 .*default\/web:http 1/);
  t.notMatch(nft.loads[0], /headless|10\.96\.0\.30/, "no headless Service, no other proxy's Service");
  t.same(
    synced.map((s) => s.full),
    [true],
  );

  const slices = client.resource("discovery.k8s.io/v1", "endpointslices", "default");
  await slices.create(
    endpointSlice("web", ["10.244.0.6"], [{ name: "http", port: 8080 }], { name: "web-fghij" }),
  );
  await waitFor(() => nft.loads.length === 2, { what: "a second sync" });
  t.match(nft.loads[1], /^flush chain ip skiff-test services\n/, "a partial sync");
  t.match(nft.loads[1], /default\/web:http 2/);
  t.same(
    synced.map((s) => s.full),
    [true, false],
  );

  nft.failNext = 1;
  await slices.delete("web-fghij");
  await waitFor(
    async () => (await metric(proxier, "kubeproxy_sync_proxy_rules_nftables_sync_failures_total")) === 1,
    {
      what: "a failed sync",
    },
  );
  t.equal(nft.loads.length, 2, "the failed text was not applied");
  const services = client.resource("v1", "services", "default");
  await services.create(service("dns", "10.96.0.10", [{ name: "dns", port: 53, protocol: "UDP" }]));
  await waitFor(() => nft.loads.length === 3, { what: "the sync after the failure" });
  t.match(nft.loads[2], /^table ip skiff-test\ndelete table ip skiff-test/, "full after a failure");
  t.match(nft.loads[2], /default\/web:http 1/, "with the change the failed sync missed");
  t.same(
    synced.map((s) => s.full),
    [true, false, true],
  );
  t.ok(synced.every((s) => s.durationMs >= 0 && s.liveAtMs > 0));

  await services.update({
    ...service("dns", "10.96.0.10", [{ name: "dns", port: 53, protocol: "UDP" }]),
    metadata: { name: "dns", namespace: "default", labels: { a: "b" } },
  });
  await waitFor(() => synced.length === 4, { what: "a sync for a change that leaves the rules as they are" });
  t.equal(nft.loads.length, 3, "renderPartial had nothing to change: nft not run");
  t.equal(synced[3]?.full, false);
});

t.test("metrics with kube-proxy's names", async (t) => {
  const { client, proxier } = setup(t);
  await proxier.start();
  await proxier.ready;
  const slices = client.resource("discovery.k8s.io/v1", "endpointslices", "default");
  // The annotation's time is after the proxier started (earlier ones are ignored, as kube).
  const trigger = new Date().toISOString();
  await slices.create(
    endpointSlice("web", ["10.244.0.7"], [{ name: "http", port: 8080 }], {
      name: "web-x",
      annotations: { "endpoints.kubernetes.io/last-change-trigger-time": trigger },
    }),
  );
  await waitFor(async () => (await metric(proxier, "kubeproxy_network_programming_duration_seconds")) === 1, {
    what: "one network programming latency observed",
  });
  const text = await proxier.metrics.metrics();
  for (const name of [
    "kubeproxy_sync_proxy_rules_duration_seconds",
    "kubeproxy_sync_full_proxy_rules_duration_seconds",
    "kubeproxy_sync_partial_proxy_rules_duration_seconds",
    "kubeproxy_sync_proxy_rules_last_timestamp_seconds",
    "kubeproxy_sync_proxy_rules_endpoint_changes_total",
    "kubeproxy_sync_proxy_rules_service_changes_total",
    "kubeproxy_sync_proxy_rules_nftables_sync_failures_total",
    "kubeproxy_network_programming_duration_seconds",
  ])
    t.match(text, new RegExp(`^# TYPE ${name} `, "m"), name);
  t.equal(await metric(proxier, "kubeproxy_sync_full_proxy_rules_duration_seconds"), 1);
  t.equal(await metric(proxier, "kubeproxy_sync_partial_proxy_rules_duration_seconds"), 1);
  t.equal(await metric(proxier, "kubeproxy_sync_proxy_rules_duration_seconds"), 2);
  t.equal(
    await metric(proxier, "kubeproxy_sync_proxy_rules_endpoint_changes_total"),
    2,
    "the listed slice and the new one",
  );
  t.equal(
    await metric(proxier, "kubeproxy_sync_proxy_rules_service_changes_total"),
    1,
    "only the proxied Service",
  );
  t.ok((await metric(proxier, "kubeproxy_sync_proxy_rules_last_timestamp_seconds")) > Date.now() / 1000 - 60);
});

t.test("healthz answers; stop leaves the table, cleanup deletes it", async (t) => {
  const { client, nft, proxier } = setup(t);
  await proxier.start();
  await proxier.ready;
  const url = proxier.healthzURL();
  t.ok(url?.startsWith("http://127.0.0.1:"), `healthz at ${url}`);
  const res = await fetch(`${url}/healthz`);
  t.equal(res.status, 200);
  const body = (await res.json()) as Record<string, unknown>;
  t.equal(body.nodeEligible, true);
  t.type(body.lastUpdated, "string");
  t.equal((await fetch(`${url}/livez`)).status, 200);
  t.same(await proxier.health.failing("readyz"), [], "component health: ready");
  t.match(proxier.describe(), { nodeName: "node-a", table: "skiff-test", healthz: `${url}/healthz` });

  await client.resource("v1", "nodes").delete("node-a");
  await waitFor(async () => (await fetch(`${url}/healthz`)).status === 503, {
    what: "healthz failing once the node is gone",
  });
  t.equal((await fetch(`${url}/livez`)).status, 200, "livez does not look at the node");

  await proxier.stop();
  t.same(nft.deleted, [], "stop leaves the table");
  await t.rejects(fetch(`${url}/healthz`), "the healthz server is closed");
  await proxier.cleanup();
  t.same(nft.deleted, ["ip skiff-test"], "cleanup deletes it");
});

t.test("UDP endpoints that go away have their conntrack entries cleared", async (t) => {
  const { client, conntrack, synced, proxier } = setup(t);
  const services = client.resource("v1", "services", "default");
  const slices = client.resource("discovery.k8s.io/v1", "endpointslices", "default");
  await services.create(service("dns", "10.96.0.10", [{ name: "dns", port: 53, protocol: "UDP" }]));
  await proxier.start();
  await proxier.ready;
  t.same(conntrack.flows, [], "a UDP Service without endpoints: nothing to clear");
  await slices.create(endpointSlice("dns", ["10.244.0.9"], [{ name: "dns", port: 53, protocol: "UDP" }]));
  await waitFor(() => synced.length === 2, { what: "the sync of the new endpoint" });
  t.same(conntrack.flows, [{ origDst: "10.96.0.10", dport: 53 }], "newly active: the REJECTed flows");
  await slices.delete("dns-abcde");
  await waitFor(() => synced.length === 3, { what: "the sync of the removed endpoint" });
  t.same(
    conntrack.flows.at(-1),
    { origDst: "10.96.0.10", dstNat: "10.244.0.9" },
    "the stale endpoint's flows",
  );
});

t.test("syncs are paced by the runner on the injected clock", async (t) => {
  const clock = new FakeClock(Date.now());
  const { client, nft, synced, proxier } = setup(t, {
    clock,
    config: { minSyncPeriodMs: 1000, syncPeriodMs: 30_000 },
  });
  await proxier.start();
  await proxier.ready;
  const slices = client.resource("discovery.k8s.io/v1", "endpointslices", "default");
  await slices.create(endpointSlice("web", ["10.244.0.6"], [{ port: 8080, name: "http" }], { name: "w1" }));
  await waitFor(() => nft.loads.length === 2, { what: "the second sync: the burst allows two" });
  await slices.create(endpointSlice("web", ["10.244.0.7"], [{ port: 8080, name: "http" }], { name: "w2" }));
  await slices.create(endpointSlice("web", ["10.244.0.8"], [{ port: 8080, name: "http" }], { name: "w3" }));
  await waitFor(
    async () => (await metric(proxier, "kubeproxy_sync_proxy_rules_endpoint_changes_total")) === 4,
    {
      what: "both changes seen",
    },
  );
  t.equal(nft.loads.length, 2, "a third sync waits for --min-sync-period");
  clock.step(1000);
  await waitFor(() => nft.loads.length === 3, { what: "the third sync, one min-sync-period later" });
  t.match(nft.loads[2], /default\/web:http 4/, "both changes in one sync");
  // The fakes answer in microtasks: one macrotask turn lets the sync finish (the runner then
  // sets its --sync-period timer).
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(synced.length, 3);
  clock.step(29_999);
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(synced.length, 3, "no sync before --sync-period");
  clock.step(1);
  await waitFor(() => synced.length === 4, { what: "the periodic sync, --sync-period after the last" });
  t.equal(synced[3]?.full, false, "partial");
  t.equal(nft.loads.length, 3, "with nothing to change");
});
