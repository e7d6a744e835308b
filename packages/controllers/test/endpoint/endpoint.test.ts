/**
 * The Endpoints controller's sync on fixture caches (kube's endpoints_controller_test shapes):
 * subsets, canonical packing, labels and annotations, truncation, stale caches, deletion.
 */
import type { Pod } from "@skiff/api";
import t, { type Test } from "tap";
import { EndpointsController } from "../../src/endpoint/controller.js";
import { repackSubsets } from "../../src/endpoint/repack.js";
import type { Endpoints } from "../../src/endpointslice/types.js";
import { pod, service } from "../endpointslice/fixtures.js";
import { type Harness, harness } from "../endpointslice/harness.js";

function setup(t: Test): { h: Harness; c: EndpointsController } {
  const h = harness();
  t.teardown(() => h.close());
  return { h, c: new EndpointsController(h.ctx) };
}

const stored = (h: Harness) => h.stored<Endpoints>("Endpoints")[0] as Endpoints;

t.test("ready and not-ready addresses, terminating pods left out, one subset per port set", async (t) => {
  const { h, c } = setup(t);
  h.cache(
    service("web", {}, { tier: "front" }),
    pod("b", { ip: "10.244.0.2" }),
    pod("a", { ip: "10.244.0.1", node: "node-b" }),
    pod("slow", { ip: "10.244.0.3", ready: false }),
    pod("going", { ip: "10.244.0.4", deleting: true }),
    pod("no-ip", { ip: "" }),
  );
  await c.sync("ns/web");
  const ep = stored(h);
  t.equal(ep.metadata.name, "web");
  t.same(ep.metadata.labels, { tier: "front" });
  t.equal(
    ep.metadata.annotations?.["endpoints.kubernetes.io/last-change-trigger-time"],
    "2024-01-01T00:00:00Z",
  );
  t.same(ep.subsets, [
    {
      addresses: [
        {
          ip: "10.244.0.1",
          nodeName: "node-b",
          targetRef: {
            kind: "Pod",
            namespace: "ns",
            name: "a",
            uid: ep.subsets?.[0]?.addresses?.[0]?.targetRef?.uid,
          },
        },
        {
          ip: "10.244.0.2",
          nodeName: "node-a",
          targetRef: {
            kind: "Pod",
            namespace: "ns",
            name: "b",
            uid: ep.subsets?.[0]?.addresses?.[1]?.targetRef?.uid,
          },
        },
      ],
      notReadyAddresses: [
        {
          ip: "10.244.0.3",
          nodeName: "node-a",
          targetRef: {
            kind: "Pod",
            namespace: "ns",
            name: "slow",
            uid: ep.subsets?.[0]?.notReadyAddresses?.[0]?.targetRef?.uid,
          },
        },
      ],
      ports: [{ name: "http", port: 8080, protocol: "TCP" }],
    },
  ]);

  // The same state again: no write. Pods listed in another order change nothing either.
  h.catchUp("Endpoints");
  h.client.clearActions();
  await c.sync("ns/web");
  t.same(h.writes("endpoints"), []);
});

t.test("named ports per pod; publishNotReadyAddresses; headless label", async (t) => {
  const { h, c } = setup(t);
  h.cache(
    service("web", {
      clusterIP: "None",
      publishNotReadyAddresses: true,
      ports: [{ name: "http", port: 80, targetPort: "web", protocol: "TCP" }],
    }),
    pod("a", { ip: "10.244.0.1", ports: [{ name: "web", containerPort: 8080 }] }),
    pod("b", { ip: "10.244.0.2", ready: false, ports: [{ name: "web", containerPort: 9090 }] }),
    pod("c", { ip: "10.244.0.3", deleting: true, ports: [{ name: "web", containerPort: 8080 }] }),
    pod("none", { ip: "10.244.0.4" }),
  );
  await c.sync("ns/web");
  const ep = stored(h);
  t.same(ep.metadata.labels, { "service.kubernetes.io/headless": "" });
  const got = (ep.subsets ?? []).map((ss) => ({
    ready: (ss.addresses ?? []).map((a) => a.ip),
    notReady: (ss.notReadyAddresses ?? []).map((a) => a.ip),
    ports: (ss.ports ?? []).map((p) => p.port),
  }));
  t.same(
    got.sort((x, y) => (x.ports[0] ?? 0) - (y.ports[0] ?? 0)),
    [
      { ready: ["10.244.0.1", "10.244.0.3"], notReady: [], ports: [8080] },
      { ready: ["10.244.0.2"], notReady: [], ports: [9090] },
    ],
    "every address ready, terminating ones kept, the pod without the port left out",
  );
});

t.test("over 1000 addresses: truncated, and annotated", async (t) => {
  const { h, c } = setup(t);
  const pods: Pod[] = [];
  for (let i = 0; i < 1005; i++)
    pods.push(pod(`p${i}`, { ip: `10.244.${Math.floor(i / 250)}.${i % 250}`, ready: i >= 5 }));
  h.cache(service("web"), ...pods);
  await c.sync("ns/web");
  const ep = stored(h);
  t.equal(ep.metadata.annotations?.["endpoints.kubernetes.io/over-capacity"], "truncated");
  const ready = (ep.subsets ?? []).reduce((n, ss) => n + (ss.addresses?.length ?? 0), 0);
  const notReady = (ep.subsets ?? []).reduce((n, ss) => n + (ss.notReadyAddresses?.length ?? 0), 0);
  t.equal(ready, 1000, "ready addresses are kept first");
  t.equal(notReady, 0);

  // Back under capacity: the annotation goes.
  h.catchUp("Endpoints");
  for (const p of pods.slice(0, 10)) h.uncache(p);
  await c.sync("ns/web");
  t.notOk(Object.hasOwn(stored(h).metadata.annotations ?? {}, "endpoints.kubernetes.io/over-capacity"));
});

t.test("a cache still showing the replaced version is not acted on", async (t) => {
  const { h, c } = setup(t);
  h.cache(service("web"), pod("a", { ip: "10.244.0.1" }));
  await c.sync("ns/web");
  h.catchUp("Endpoints");
  const before = stored(h);
  h.cache(pod("b", { ip: "10.244.0.2" }));
  await c.sync("ns/web");
  h.client.clearActions();
  // The cache still holds `before`, which the last sync replaced.
  await t.rejects(c.sync("ns/web"), /endpoints informer cache is out of date/);
  t.same(h.writes("endpoints"), []);
  h.catchUp("Endpoints");
  t.not(stored(h).metadata.resourceVersion, before.metadata.resourceVersion);
  await c.sync("ns/web");
  t.same(h.writes("endpoints"), []);
});

t.test("a deleted Service's Endpoints are deleted; selectorless Services are left alone", async (t) => {
  const { h, c } = setup(t);
  const manual: Endpoints = {
    apiVersion: "v1",
    kind: "Endpoints",
    metadata: { name: "manual", namespace: "ns" },
    subsets: [{ addresses: [{ ip: "192.0.2.1" }] }],
  };
  h.client.tracker.add(manual);
  h.client.tracker.add({ ...manual, metadata: { name: "orphan", namespace: "ns" } });
  h.catchUp("Endpoints");
  h.cache(service("manual", { selector: undefined }));
  c.checkLeftoverEndpoints();
  t.equal(c.queue.len(), 2, "every Endpoints object is checked once at start");
  await c.processNextWorkItem();
  await c.processNextWorkItem();
  t.same(
    h.writes("endpoints").map((a) => [a.verb, a.name]),
    [["delete", "orphan"]],
  );
});

t.test("repackSubsets: one subset per port set, not-ready wins, order does not matter", async (t) => {
  const a = { ip: "10.0.0.1", targetRef: { uid: "a" } };
  const b = { ip: "10.0.0.2", targetRef: { uid: "b" } };
  const p80 = { name: "http", port: 80, protocol: "TCP" };
  const p90 = { name: "m", port: 90, protocol: "TCP" };
  const one = repackSubsets([
    { addresses: [b], ports: [p80] },
    { addresses: [a], ports: [p80] },
    { addresses: [a], ports: [p90] },
    { notReadyAddresses: [b], ports: [p90] },
  ]);
  const two = repackSubsets([
    { notReadyAddresses: [b], ports: [p90] },
    { addresses: [a], ports: [p90] },
    { addresses: [a, b], ports: [p80] },
  ]);
  t.same(one, two);
  t.same(
    one.find((ss) => ss.ports?.[0]?.port === 90),
    { addresses: [a], notReadyAddresses: [b], ports: [p90] },
  );
  t.same(repackSubsets([{ addresses: [a] }, { notReadyAddresses: [a] }]), [{ notReadyAddresses: [a] }]);
});
