/**
 * The EndpointSlice controller's sync on fixture caches (kube's endpointslice_controller_test and
 * reconciler_test shapes): what a Service's slices hold, how they are split and kept with few
 * writes, and the tracker that stops the controller acting on a cache older than its writes.
 */
import type { Pod } from "@skiff/api";
import { waitFor } from "@skiff/testkit";
import t, { type Test } from "tap";
import { EndpointSliceController } from "../../src/endpointslice/controller.js";
import type { EndpointSlice } from "../../src/endpointslice/types.js";
import { node, pod, service } from "./fixtures.js";
import { type Harness, harness } from "./harness.js";

function setup(t: Test, config = {}): { h: Harness; c: EndpointSliceController } {
  const h = harness(config);
  t.teardown(() => h.close());
  const c = new EndpointSliceController(h.ctx);
  h.cache(node("node-a", "zone-a"), node("node-b", "zone-b"));
  return { h, c };
}

const ips = (s: EndpointSlice) => s.endpoints.map((e) => e.addresses[0]).sort();

t.test("a Service's slice lists its pods with kube's conditions, node, zone and target", async (t) => {
  const { h, c } = setup(t);
  const svc = service("web", {}, { tier: "front" });
  h.cache(
    svc,
    pod("ready", { ip: "10.244.0.1" }),
    pod("not-ready", { ip: "10.244.0.2", ready: false, node: "node-b" }),
    pod("terminating", { ip: "10.244.0.3", deleting: true }),
    pod("no-ip", { ip: "" }),
    pod("done", { ip: "10.244.0.5", phase: "Succeeded" }),
    pod("other", { ip: "10.244.0.6", labels: { app: "db" } }),
  );
  await c.sync("ns/web");
  const creates = h.writes("endpointslices");
  t.equal(creates.length, 1);
  t.equal(creates[0]?.verb, "create");
  const [slice] = h.stored<EndpointSlice>("EndpointSlice");
  if (slice === undefined) throw new Error("no slice");
  t.equal(slice.metadata.generateName, "web-");
  t.equal(slice.addressType, "IPv4");
  t.same(slice.metadata.labels, {
    tier: "front",
    "kubernetes.io/service-name": "web",
    "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
  });
  t.match(slice.metadata.ownerReferences, [
    {
      apiVersion: "v1",
      kind: "Service",
      name: "web",
      uid: "svc-uid-web",
      controller: true,
      blockOwnerDeletion: true,
    },
  ]);
  t.same(slice.ports, [{ name: "http", port: 8080, protocol: "TCP" }]);
  t.equal(
    slice.metadata.annotations?.["endpoints.kubernetes.io/last-change-trigger-time"],
    "2024-01-01T00:00:00Z",
    "a new Service's trigger time is its creation",
  );
  const byName = new Map(slice.endpoints.map((e) => [e.targetRef?.name, e]));
  t.same([...byName.keys()].sort(), ["not-ready", "ready", "terminating"]);
  t.same(byName.get("ready"), {
    addresses: ["10.244.0.1"],
    conditions: { ready: true, serving: true, terminating: false },
    targetRef: { kind: "Pod", namespace: "ns", name: "ready", uid: byName.get("ready")?.targetRef?.uid },
    nodeName: "node-a",
    zone: "zone-a",
  });
  t.same(byName.get("not-ready")?.conditions, { ready: false, serving: false, terminating: false });
  t.equal(byName.get("not-ready")?.zone, "zone-b");
  t.same(byName.get("terminating")?.conditions, { ready: false, serving: true, terminating: true });
});

t.test("publishNotReadyAddresses makes every endpoint ready", async (t) => {
  const { h, c } = setup(t);
  h.cache(
    service("web", { publishNotReadyAddresses: true }),
    pod("not-ready", { ip: "10.244.0.2", ready: false }),
    pod("terminating", { ip: "10.244.0.3", deleting: true }),
  );
  await c.sync("ns/web");
  const [slice] = h.stored<EndpointSlice>("EndpointSlice");
  t.same(
    slice?.endpoints.map((e) => e.conditions?.ready),
    [true, true],
  );
});

t.test("a named targetPort is resolved per pod; pods are grouped by their port sets", async (t) => {
  const { h, c } = setup(t);
  h.cache(
    service("web", {
      ports: [
        { name: "http", port: 80, targetPort: "web", protocol: "TCP" },
        { name: "metrics", port: 9100, targetPort: 9100, protocol: "TCP" },
      ],
    }),
    pod("a1", { ip: "10.244.0.1", ports: [{ name: "web", containerPort: 8080 }] }),
    pod("a2", { ip: "10.244.0.2", ports: [{ name: "web", containerPort: 8080 }] }),
    pod("b", { ip: "10.244.0.3", ports: [{ name: "web", containerPort: 9090 }] }),
    pod("udp", { ip: "10.244.0.4", ports: [{ name: "web", containerPort: 7070, protocol: "UDP" }] }),
    pod("none", { ip: "10.244.0.5" }),
  );
  await c.sync("ns/web");
  const slices = h.stored<EndpointSlice>("EndpointSlice");
  const byPort = new Map(
    slices.map((s) => [
      (s.ports ?? [])
        .map((p) => `${p.name}:${p.port}`)
        .sort()
        .join(","),
      ips(s),
    ]),
  );
  t.same(
    Object.fromEntries(byPort),
    {
      "http:8080,metrics:9100": ["10.244.0.1", "10.244.0.2"],
      "http:9090,metrics:9100": ["10.244.0.3"],
      // No TCP port named "web": these pods have only the numeric port.
      "metrics:9100": ["10.244.0.4", "10.244.0.5"],
    },
    "one slice per distinct port set",
  );
});

t.test("a targetPort name no selected pod defines: no endpoints for it, and one Warning Event", async (t) => {
  const { h, c } = setup(t);
  h.cache(
    service("typo", { ports: [{ name: "http", port: 80, targetPort: "htp", protocol: "TCP" }] }),
    pod("p1", { ip: "10.244.0.1", ports: [{ name: "http", containerPort: 8080 }] }),
  );
  await c.sync("ns/typo");
  h.catchUp("EndpointSlice");
  await c.sync("ns/typo");
  const slices = h.stored<EndpointSlice>("EndpointSlice");
  t.same(
    slices.flatMap((s) => s.ports ?? []),
    [],
    "the port has no endpoints",
  );
  await h.ctx.broadcaster.shutdown();
  const events = h.client.tracker
    .list("v1", "events", "ns")
    .filter((e) => (e as unknown as { reason: string }).reason === "FailedToResolveTargetPort");
  t.equal(events.length, 1, "once, not once per sync");
  t.match((events[0] as unknown as { message: string }).message, /Service port "http" has targetPort "htp"/);
});

t.test("at most maxEndpointsPerSlice endpoints a slice; a steady state writes nothing", async (t) => {
  const { h, c } = setup(t, { maxEndpointsPerSlice: 100 });
  const pods: Pod[] = [];
  for (let i = 0; i < 250; i++) pods.push(pod(`p${i}`, { ip: `10.244.${Math.floor(i / 200)}.${i % 200}` }));
  h.cache(service("web"), ...pods);
  await c.sync("ns/web");
  let slices = h.stored<EndpointSlice>("EndpointSlice");
  t.same(slices.map((s) => s.endpoints.length).sort(), [100, 100, 50]);
  h.catchUp("EndpointSlice");
  h.client.clearActions();
  await c.sync("ns/web");
  t.same(h.writes("endpointslices"), [], "nothing changed: no write");

  // Ten pods go from a full slice: that slice alone is updated in place.
  const full = slices.find((s) => s.endpoints.length === 100) as EndpointSlice;
  const gone = new Set(full.endpoints.slice(0, 10).map((e) => e.targetRef?.name));
  for (const p of pods) if (gone.has(p.metadata.name)) h.uncache(p);
  await c.sync("ns/web");
  const w = h.writes("endpointslices");
  t.same(
    w.map((a) => [a.verb, a.name]),
    [["update", full.metadata.name]],
  );
  h.catchUp("EndpointSlice");
  h.client.clearActions();

  // Five new pods fill the slice closest to full, not a new one.
  for (let i = 0; i < 5; i++) h.cache(pod(`new${i}`, { ip: `10.244.9.${i}` }));
  await c.sync("ns/web");
  slices = h.stored<EndpointSlice>("EndpointSlice");
  t.same(slices.map((s) => s.endpoints.length).sort(), [100, 50, 95]);
  t.equal(h.writes("endpointslices").length, 1, "one update");
});

t.test("no pods: one placeholder slice, kept; a slice emptied is deleted", async (t) => {
  const { h, c } = setup(t);
  h.cache(service("web"));
  await c.sync("ns/web");
  const [placeholder] = h.stored<EndpointSlice>("EndpointSlice");
  t.same(placeholder?.endpoints, []);
  t.same(placeholder?.ports, []);
  h.catchUp("EndpointSlice");
  h.client.clearActions();
  await c.sync("ns/web");
  t.same(h.writes("endpointslices"), [], "the placeholder is not recreated");

  const p = pod("a", { ip: "10.244.0.1" });
  h.cache(p);
  await c.sync("ns/web");
  t.same(
    h.writes("endpointslices").map((a) => a.verb),
    ["update"],
    "the placeholder becomes the slice (a create and a delete turned into an update)",
  );
  h.catchUp("EndpointSlice");
  t.equal(h.stored<EndpointSlice>("EndpointSlice").length, 1);
  h.client.clearActions();
  h.uncache(p);
  await c.sync("ns/web");
  t.same(
    h.writes("endpointslices").map((a) => a.verb),
    ["update"],
    "the emptied slice is reused as the placeholder",
  );
  t.same(h.stored<EndpointSlice>("EndpointSlice")[0]?.endpoints, []);
});

t.test("Services without a selector, ExternalName ones and deleted ones are left alone", async (t) => {
  const { h, c } = setup(t);
  const kubernetes = service("kubernetes", { selector: undefined });
  h.cache(kubernetes, service("ext", { type: "ExternalName" }), pod("a", { ip: "10.244.0.1" }));
  await c.sync("ns/kubernetes");
  await c.sync("ns/ext");
  await c.sync("ns/gone");
  t.same(h.client.writes(), []);
});

t.test("labels follow the Service's; headless Services are labelled; old owners' slices go", async (t) => {
  const { h, c } = setup(t);
  const svc = service("web", { clusterIP: "None" }, { a: "1" });
  h.cache(svc, pod("p", { ip: "10.244.0.1" }));
  await c.sync("ns/web");
  h.catchUp("EndpointSlice");
  const [first] = h.stored<EndpointSlice>("EndpointSlice");
  t.equal(first?.metadata.labels?.["service.kubernetes.io/headless"], "");
  h.client.clearActions();
  h.cache({ ...svc, metadata: { ...svc.metadata, labels: { a: "2" } } });
  await c.sync("ns/web");
  t.same(
    h.writes("endpointslices").map((a) => [a.verb, (a.object as EndpointSlice).metadata.labels?.a]),
    [["update", "2"]],
  );

  // The Service is recreated (another uid): the old one's slice is replaced.
  h.catchUp("EndpointSlice");
  h.client.clearActions();
  h.cache({ ...svc, metadata: { ...svc.metadata, uid: "svc-uid-web-2" } });
  await c.sync("ns/web");
  t.same(
    h
      .writes("endpointslices")
      .map((a) => a.verb)
      .sort(),
    ["create", "delete"],
    "a slice owned by the old Service is not updated for the new one",
  );
});

t.test("a pod on a node the cache does not know is skipped and the Service retried", async (t) => {
  const { h, c } = setup(t);
  h.cache(service("web"), pod("a", { ip: "10.244.0.1" }), pod("lost", { ip: "10.244.0.2", node: "node-x" }));
  await t.rejects(c.sync("ns/web"), /Node node-x Not Found/);
  t.same(ips(h.stored<EndpointSlice>("EndpointSlice")[0] as EndpointSlice), ["10.244.0.1"]);
});

t.test("the tracker: a cache older than the controller's writes is not acted on", async (t) => {
  const { h, c } = setup(t);
  h.cache(service("web"), pod("a", { ip: "10.244.0.1" }));
  await c.sync("ns/web");
  h.client.clearActions();
  // The cache has not seen the slice just created: syncing now would create a second one.
  await t.rejects(c.sync("ns/web"), /EndpointSlice informer cache is out of date/);
  t.same(h.writes("endpointslices"), []);
  h.catchUp("EndpointSlice");
  await c.sync("ns/web");
  t.same(h.writes("endpointslices"), []);

  const [slice] = h.stored<EndpointSlice>("EndpointSlice") as [EndpointSlice];
  t.notOk(c.tracker.shouldSync(slice), "its own write is no reason to sync");
  t.ok(c.tracker.shouldSync({ ...slice, metadata: { ...slice.metadata, generation: 2 } }), "a newer one is");
  // Deleted by the controller, still in the cache: stale until the deletion is seen.
  c.tracker.expectDeletion(slice);
  t.ok(c.tracker.staleSlices("ns", "web", [slice]));
  t.ok(c.tracker.handleDeletion(slice), "an expected deletion");
  t.notOk(c.tracker.staleSlices("ns", "web", []));
});

t.test("informer events: a slice deleted by someone else is recreated", async (t) => {
  const { h, c } = setup(t);
  await h.client.resource("v1", "services", "ns").create(service("web"));
  await h.client.resource("v1", "nodes").create(node("node-a"));
  await h.client.resource("v1", "pods", "ns").create(pod("a", { ip: "10.244.0.1" }));
  h.ctx.informers.start();
  await h.ctx.informers.waitForCacheSync();
  await waitFor(() => c.queue.len() === 1, { what: "the Service queued" });
  t.ok(await c.processNextWorkItem());
  const sliceCache = h.ctx.informers.informerFor("discovery.k8s.io/v1", "endpointslices");
  await waitFor(() => sliceCache.list().length === 1, { what: "the slice in the cache" });
  // The fake delivers the watch event of the create before the create returns (a real server
  // may too): that event may queue one more sync, which then changes nothing.
  h.clock.step(1000);
  while (c.queue.len() > 0) await c.processNextWorkItem();
  t.equal(h.writes("endpointslices").length, 1, "one create, nothing after");

  const [slice] = h.stored<EndpointSlice>("EndpointSlice") as [EndpointSlice];
  await h.client
    .resource("discovery.k8s.io/v1", "endpointslices", "ns")
    .delete(slice.metadata.name as string);
  await waitFor(() => c.queue.waitingLen() === 1, { what: "the Service queued after the unexpected delete" });
  h.clock.step(1000);
  t.equal(c.queue.len(), 1, "after endpointSliceChangeMinSyncDelay");
  await c.processNextWorkItem();
  const again = h.stored<EndpointSlice>("EndpointSlice");
  t.equal(again.length, 1);
  t.not(again[0]?.metadata.name, slice.metadata.name, "a new slice");
});
