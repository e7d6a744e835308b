/**
 * ClusterDns on a fake clientset (client-go's fake): it creates the kube-dns Service and this
 * node's EndpointSlice once the Node has an InternalIP, leaves an existing Service alone unless
 * it lacks the DNS ports, puts its slice back after a change, and answers queries from its
 * informers over a plain UDP listener on 127.0.0.1, counted in CoreDNS's metrics.
 */
import dgram from "node:dgram";
import type { KubeObject } from "@skiff/api";
import { FakeClient } from "@skiff/client";
import { waitFor } from "@skiff/testkit";
import dnsPacket from "dns-packet";
import t from "tap";
import type { EndpointSlice, Service } from "../src/api-types.js";
import { ClusterDns } from "../src/dns/dns.js";
import { service, slice } from "./dns-fixtures.js";

const node = (addresses: { type: string; address: string }[]): KubeObject => ({
  apiVersion: "v1",
  kind: "Node",
  metadata: { name: "n1", uid: "node-uid-1" },
  status: { addresses },
});

function udpQuery(port: number, name: string, type = "A"): Promise<dnsPacket.DecodedPacket> {
  const sock = dgram.createSocket("udp4");
  return new Promise((resolve, reject) => {
    sock.once("message", (m) => {
      sock.close();
      try {
        resolve(dnsPacket.decode(m));
      } catch (e) {
        reject(e);
      }
    });
    sock.send(
      dnsPacket.encode({ type: "query", id: 7, questions: [{ type: type as "A", name }] }),
      port,
      "127.0.0.1",
    );
  });
}

function tryGet<T>(f: () => unknown): T | undefined {
  try {
    return f() as T;
  } catch {
    return undefined; // NotFound
  }
}
const getSvc = (c: FakeClient) =>
  tryGet<Service>(() => c.tracker.get("v1", "services", "kube-system", "kube-dns"));
const getSlice = (c: FakeClient) =>
  tryGet<EndpointSlice>(() =>
    c.tracker.get("discovery.k8s.io/v1", "endpointslices", "kube-system", "kube-dns-n1"),
  );

t.test("creates kube-dns and the node's slice, then answers from its informers", async (t) => {
  const client = new FakeClient({
    objects: [
      node([{ type: "Hostname", address: "n1" }]),
      service("default", "web", {
        clusterIP: "10.96.0.20",
        clusterIPs: ["10.96.0.20"],
        ports: [{ name: "http", port: 80 }],
      }),
    ],
  });
  const dns = new ClusterDns({
    client,
    nodeName: "n1",
    listen: { host: "127.0.0.1", port: 0 },
    retryPeriodMs: 10,
    resyncPeriodMs: 200,
  });
  t.teardown(() => dns.stop());
  await dns.start();
  await dns.ready;

  await waitFor(() => getSvc(client), { what: "the kube-dns Service" });
  const svc = getSvc(client) as Service;
  t.same(svc.metadata.labels, { "k8s-app": "kube-dns", "kubernetes.io/name": "KubeDNS" });
  t.equal(svc.spec?.clusterIP, "10.96.0.10");
  t.equal(svc.spec?.internalTrafficPolicy, "Local");
  t.same(
    svc.spec?.ports?.map((p) => `${p.name}/${p.protocol}/${p.port}/${p.targetPort}`),
    ["dns/UDP/53/53", "dns-tcp/TCP/53/53"],
  );
  t.equal(svc.spec?.selector, undefined, "no selector: the slices are the agents'");
  t.equal(getSlice(client), undefined, "no slice before the Node has an InternalIP");

  // The Node gets its address: the slice follows.
  const n = client.tracker.get("v1", "nodes", "", "n1") as KubeObject;
  client.tracker.update(
    "v1",
    "nodes",
    undefined,
    {
      ...n,
      status: { addresses: [{ type: "InternalIP", address: "10.244.0.1" }] },
    },
    "status",
  );
  const s = await waitFor(() => getSlice(client), { what: "the kube-dns-n1 EndpointSlice" });
  t.same(s.metadata.labels, {
    "kubernetes.io/service-name": "kube-dns",
    "endpointslice.kubernetes.io/managed-by": "dns.skiff.dev",
  });
  t.same(s.metadata.ownerReferences, [{ apiVersion: "v1", kind: "Node", name: "n1", uid: "node-uid-1" }]);
  t.same(s.endpoints, [
    {
      addresses: ["10.244.0.1"],
      conditions: { ready: true, serving: true, terminating: false },
      nodeName: "n1",
    },
  ]);
  t.same(
    s.ports?.map((p) => `${p.name}/${p.protocol}/${p.port}`),
    ["dns/UDP/53", "dns-tcp/TCP/53"],
  );

  // Someone changes the slice: it is put back.
  client.tracker.update("discovery.k8s.io/v1", "endpointslices", "kube-system", {
    ...s,
    endpoints: [],
  } as KubeObject);
  await waitFor(() => getSlice(client)?.endpoints?.length === 1, { what: "the slice restored" });

  // Queries, from the informers' caches.
  const port = Number(dns.listenAddresses().udp?.split(":")[1]);
  const a = await udpQuery(port, "web.default.svc.cluster.local");
  t.same(
    (a.answers ?? []).map((x) => (x as { data: string }).data),
    ["10.96.0.20"],
  );
  const kd = await waitFor(
    async () => {
      const p = await udpQuery(port, "kube-dns.kube-system.svc.cluster.local");
      return (p.answers ?? []).length > 0 ? p : undefined;
    },
    { what: "kube-dns answered from the cache" },
  );
  t.same(
    (kd.answers ?? []).map((x) => (x as { data: string }).data),
    ["10.96.0.10"],
  );
  client.tracker.add(
    service("default", "db", { clusterIP: "None", ports: [{ name: "pg", port: 5432 }] }) as KubeObject,
  );
  client.tracker.add(
    slice("default", "db", "db-1", {
      endpoints: [{ addresses: ["10.244.0.5"], hostname: "db-0", conditions: { ready: true } }],
      ports: [{ name: "pg", protocol: "TCP", port: 5432 }],
    }) as KubeObject,
  );
  const db = await waitFor(
    async () => {
      const p = await udpQuery(port, "db-0.db.default.svc.cluster.local");
      return (p.answers ?? []).length > 0 ? p : undefined;
    },
    { what: "a new headless endpoint answered" },
  );
  t.same(
    (db.answers ?? []).map((x) => (x as { data: string }).data),
    ["10.244.0.5"],
  );
  const nx = (await udpQuery(port, "nope.default.svc.cluster.local")) as { rcode?: string };
  t.equal(nx.rcode, "NXDOMAIN");

  const metrics = await dns.metrics.metrics();
  t.match(metrics, /coredns_dns_requests_total\{[^}]*proto="udp"[^}]*type="A"\} \d+/);
  t.match(metrics, /coredns_dns_responses_total\{[^}]*rcode="NXDOMAIN"\} 1/);
  t.match(metrics, /coredns_dns_request_duration_seconds_bucket/);
  t.equal((await dns.health.serve("readyz", undefined, new URLSearchParams())).code, 200);
});

t.test("an existing kube-dns is left alone unless it lacks the DNS ports; races are retried", async (t) => {
  const mine = service("kube-system", "kube-dns", {
    clusterIP: "10.96.0.53",
    clusterIPs: ["10.96.0.53"],
    selector: { "k8s-app": "coredns" },
    ports: [{ name: "metrics", protocol: "TCP", port: 9153 }],
  });
  const client = new FakeClient({
    objects: [node([{ type: "InternalIP", address: "10.244.1.1" }]), mine as KubeObject],
  });
  // The first slice create loses a race with another writer.
  let raced = false;
  client.prependReactor("create", "endpointslices", () => {
    if (raced) return undefined;
    raced = true;
    return {
      handled: true,
      error: Object.assign(new Error("exists"), { code: 409, reason: "AlreadyExists" }),
    };
  });
  const dns = new ClusterDns({ client, nodeName: "n1", nodeIP: () => "10.244.1.9", retryPeriodMs: 10 });
  t.teardown(() => dns.stop());
  await dns.start();
  await dns.ready;
  await waitFor(() => getSlice(client), { what: "the slice, after a lost race" });
  t.ok(raced);
  t.same(getSlice(client)?.endpoints?.[0]?.addresses, ["10.244.1.9"], "the nodeIP callback wins");
  const svc = await waitFor(
    () => ((getSvc(client)?.spec?.ports?.length ?? 0) === 3 ? getSvc(client) : undefined),
    {
      what: "the DNS ports added",
    },
  );
  t.equal(svc.spec?.clusterIP, "10.96.0.53", "its ClusterIP kept");
  t.same(svc.spec?.selector, { "k8s-app": "coredns" }, "its selector kept");
  t.same(
    svc.spec?.ports?.map((p) => p.name),
    ["metrics", "dns", "dns-tcp"],
  );
  const writes = client.writes().filter((w) => w.resource === "services");
  t.same(
    writes.map((w) => w.verb),
    ["update"],
    "one update, no create",
  );
});
