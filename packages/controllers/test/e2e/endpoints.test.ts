/**
 * The endpoint controllers and the disruption controller on a real API server with hollow nodes
 * and the scheduler: a Service's EndpointSlices and Endpoints follow its pods (named ports
 * resolved per pod, more than 100 endpoints split over slices), the API server keeps the
 * `default/kubernetes` endpoints, and a PodDisruptionBudget's status lets `kubectl drain` evict
 * what it allows and makes the eviction subresource refuse (429) what it does not.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Pod } from "@skiff/api";
import { ApiError } from "@skiff/client";
import { waitFor } from "@skiff/testkit";
import t from "tap";
import { disruptionControllerDescriptor } from "../../src/disruption/controller.js";
import type { PodDisruptionBudget } from "../../src/disruption/types.js";
import { endpointsControllerDescriptor } from "../../src/endpoint/controller.js";
import { endpointSliceControllerDescriptor } from "../../src/endpointslice/controller.js";
import type { EndpointSlice, Endpoints, Service } from "../../src/endpointslice/types.js";
import { startCluster } from "./cluster.js";

const NS = "endpoints-e2e";
const KUBECTL = "/usr/bin/kubectl";

const c = await startCluster({
  nodes: 2,
  hollow: { zones: 2 },
  controllers: [
    endpointsControllerDescriptor,
    endpointSliceControllerDescriptor,
    disruptionControllerDescriptor,
  ],
});
t.teardown(() => c.stop());
await c.namespace(NS);

const pods = c.client.resource<Pod>("v1", "pods", NS);
const slicesOf = async (ns: string, svc: string) =>
  (
    await c.client
      .resource<EndpointSlice>("discovery.k8s.io/v1", "endpointslices", ns)
      .list({ labelSelector: `kubernetes.io/service-name=${svc}` })
  ).items;

function webPod(name: string, labels: Record<string, string>, port?: number, nodeName?: string): Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: NS, labels },
    spec: {
      ...(nodeName === undefined ? {} : { nodeName }),
      containers: [
        {
          name: "c",
          image: "busybox",
          ...(port === undefined ? {} : { ports: [{ name: "web", containerPort: port }] }),
        },
      ],
    },
  };
}

/** The slices' endpoints by port set ("8080", "9090", "" for none): [ready, total] per slice. */
async function sliceShape(): Promise<Record<string, [number, number][]>> {
  const out: Record<string, [number, number][]> = {};
  for (const s of await slicesOf(NS, "web")) {
    const key = (s.ports ?? []).map((p) => String(p.port)).join(",");
    const ready = s.endpoints.filter((e) => e.conditions?.ready === true).length;
    out[key] = [...(out[key] ?? []), [ready, s.endpoints.length]];
  }
  for (const v of Object.values(out)) v.sort((a, b) => b[1] - a[1]);
  return out;
}

t.test("EndpointSlices and Endpoints follow a Service's pods", async (t) => {
  await c.client.resource<Service>("v1", "services", NS).create({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "web", namespace: NS },
    spec: { selector: { app: "web" }, ports: [{ name: "http", port: 80, targetPort: "web" }] },
  });
  await Promise.all([
    pods.create(webPod("a1", { app: "web" }, 8080)),
    pods.create(webPod("a2", { app: "web" }, 8080)),
    pods.create(webPod("a3", { app: "web" }, 8080)),
    pods.create(webPod("b1", { app: "web" }, 9090)),
    pods.create(webPod("noport", { app: "web" })),
  ]);
  await waitFor(
    async () =>
      JSON.stringify(await sliceShape()) ===
      JSON.stringify({ "8080": [[3, 3]], "9090": [[1, 1]], "": [[1, 1]] }),
    { what: "one slice per port set, every endpoint ready", timeoutMs: 30_000 },
  );
  const slice = (await slicesOf(NS, "web")).find((s) => s.ports?.[0]?.port === 8080) as EndpointSlice;
  t.equal(slice.addressType, "IPv4");
  t.equal(
    slice.metadata.labels?.["endpointslice.kubernetes.io/managed-by"],
    "endpointslice-controller.k8s.io",
  );
  t.match(slice.metadata.name, /^web-/);
  t.match(slice.metadata.ownerReferences, [{ kind: "Service", name: "web", controller: true }]);
  t.same(slice.ports, [{ name: "http", port: 8080, protocol: "TCP" }]);
  const nodes = new Set((await c.client.resource("v1", "nodes").list()).items.map((n) => n.metadata.name));
  for (const e of slice.endpoints) {
    t.ok(nodes.has(e.nodeName ?? ""), "nodeName is the pod's node");
    t.match(e.zone, /^zone-/, "zone from the node's topology label");
    t.equal(e.targetRef?.kind, "Pod");
  }

  // 105 more pods: the 8080 group passes 100 endpoints and takes a second slice.
  const more: Promise<Pod>[] = [];
  for (let i = 0; i < 105; i++) more.push(pods.create(webPod(`s${i}`, { app: "web" }, 8080)));
  await Promise.all(more);
  // How the 108 split over two slices depends on how the pod events were batched (kube's
  // reconciler fills without rebalancing), so the test checks totals and the limit.
  await waitFor(
    async () => {
      const shape = await sliceShape();
      const web = shape["8080"] ?? [];
      return (
        web.length === 2 &&
        web.every(([ready, n]) => ready === n && n <= 100) &&
        web.reduce((sum, [, n]) => sum + n, 0) === 108 &&
        JSON.stringify(shape["9090"]) === "[[1,1]]"
      );
    },
    // 105 pods through hollow nodes to Ready, then the slices: a deadline for a loaded machine.
    { what: "108 ready endpoints on port 8080 in two slices of at most 100", timeoutMs: 90_000 },
  );

  // The API server counts each change of a slice in its generation (the tracker relies on it).
  const generations = (await slicesOf(NS, "web")).map((s) => s.metadata.generation ?? 0);
  t.ok(Math.min(...generations) >= 1 && Math.max(...generations) > 1, "slices carry their generation");

  // The legacy Endpoints: every pod with the port, one subset per port.
  const ep = c.client.resource<Endpoints>("v1", "endpoints", NS);
  await waitFor(
    async () => {
      const e = await ep.get("web").catch(() => undefined);
      const counts = (e?.subsets ?? []).map((ss) => [ss.ports?.[0]?.port, ss.addresses?.length ?? 0]);
      return (
        JSON.stringify(counts.sort()) ===
        JSON.stringify([
          [8080, 108],
          [9090, 1],
        ])
      );
    },
    { what: "Endpoints web with 108 + 1 ready addresses", timeoutMs: 30_000 },
  );
  const e = await ep.get("web");
  t.notOk(e.metadata.annotations?.["endpoints.kubernetes.io/over-capacity"]);
});

t.test("the API server keeps the default/kubernetes endpoints", async (t) => {
  const slices = await slicesOf("default", "kubernetes");
  t.equal(slices.length, 1, "no second slice from the controller");
  t.equal(slices[0]?.metadata.name, "kubernetes");
  t.notOk(slices[0]?.metadata.labels?.["endpointslice.kubernetes.io/managed-by"]);
  t.equal(slices[0]?.endpoints.length, 1);
  const ep = await c.client.resource<Endpoints>("v1", "endpoints", "default").get("kubernetes");
  t.equal(ep.subsets?.[0]?.ports?.[0]?.name, "https");
  t.notOk(
    ep.metadata.annotations?.["endpoints.kubernetes.io/last-change-trigger-time"],
    "not rewritten by the controller",
  );
});

t.test("a deleted Service's Endpoints go", async (t) => {
  await c.client.resource("v1", "services", NS).delete("web");
  await waitFor(
    async () =>
      c.client
        .resource("v1", "endpoints", NS)
        .get("web")
        .then(
          () => false,
          (e) => e instanceof ApiError && e.status === 404,
        ),
    { what: "Endpoints web deleted" },
  );
  t.pass("deleted");
});

t.test("a PodDisruptionBudget's status gates evictions and kubectl drain", async (t) => {
  const nodes = (await c.client.resource("v1", "nodes").list()).items
    .map((n) => n.metadata.name as string)
    .sort();
  const [n0, n1] = nodes as [string, string];
  await Promise.all([
    pods.create(webPod("db-0", { app: "db" }, undefined, n0)),
    pods.create(webPod("db-1", { app: "db" }, undefined, n1)),
    pods.create(webPod("db-2", { app: "db" }, undefined, n1)),
  ]);
  const pdbs = c.client.resource<PodDisruptionBudget>("policy/v1", "poddisruptionbudgets", NS);
  await pdbs.create({
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: { name: "db", namespace: NS },
    spec: { minAvailable: 2, selector: { matchLabels: { app: "db" } } },
  });
  const status = async () => {
    const p = await pdbs.get("db");
    return { ...p.status, generation: p.metadata.generation };
  };
  await waitFor(async () => (await status()).disruptionsAllowed === 1, { what: "1 disruption allowed" });
  t.match(await status(), {
    expectedPods: 3,
    currentHealthy: 3,
    desiredHealthy: 2,
    observedGeneration: 1,
    conditions: [{ type: "DisruptionAllowed", status: "True", reason: "SufficientPods" }],
  });

  if (!existsSync(KUBECTL) && process.env.CI !== "true") t.comment(`${KUBECTL} missing: drain not checked`);
  else {
    const home = mkdtempSync(join(tmpdir(), "skiff-drain-"));
    t.teardown(() => rmSync(home, { recursive: true, force: true }));
    const drain = (node: string, timeout: string) =>
      kubectl(home, [
        "drain",
        node,
        "--pod-selector",
        "app=db",
        "--force",
        "--ignore-daemonsets",
        "--timeout",
        timeout,
      ]);
    const ok = await drain(n0, "60s");
    t.equal(ok.code, 0, "kubectl drain evicts through the budget", { stderr: ok.stderr });
    await waitFor(async () => (await pods.list({ labelSelector: "app=db" })).items.length === 2, {
      what: "db-0 evicted",
    });
    await waitFor(async () => (await status()).currentHealthy === 2, { what: "the budget sees 2 healthy" });
    t.match(await status(), {
      disruptionsAllowed: 0,
      conditions: [{ status: "False", reason: "InsufficientPods" }],
    });
    const refused = await drain(n1, "3s");
    t.not(refused.code, 0, "kubectl drain cannot get past the budget");
    t.match(refused.stderr + refused.stdout, /disruption budget/);
  }
  await waitFor(async () => (await status()).disruptionsAllowed === 0, { what: "no disruption allowed" });
  const evict = await evictPod("db-1").catch((e: unknown) => e);
  t.ok(evict instanceof ApiError && evict.status === 429, "the eviction subresource answers 429");
  t.match((evict as ApiError).statusObject, {
    reason: "TooManyRequests",
    details: { causes: [{ reason: "DisruptionBudget" }] },
  });
});

/** POSTs pods/<name>/eviction (what kubectl drain does) through the typed client. */
async function evictPod(name: string): Promise<unknown> {
  return c.client.resource("v1", `pods/${name}/eviction`, NS).create({
    apiVersion: "policy/v1",
    kind: "Eviction",
    metadata: { name, namespace: NS },
  });
}

function kubectl(home: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      KUBECTL,
      ["--cache-dir", join(home, "cache"), ...args],
      { env: { ...process.env, KUBECONFIG: c.kubeconfig, HOME: home }, timeout: 90_000, encoding: "utf8" },
      (err, stdout, stderr) =>
        resolve({ code: err === null ? 0 : typeof err.code === "number" ? err.code : -1, stdout, stderr }),
    );
  });
}
