/**
 * The REST API in process (fastify.inject), against both stores: an embedded skiff store member
 * and real etcd. Every verb, selector, patch type and error class the API server serves so far.
 */
import { waitFor } from "@skiff/testkit";
import t from "tap";
import { authenticator } from "../src/auth.js";
import { type ApiServer, createApiServer } from "../src/server.js";
import { GrpcEtcd } from "../src/storage/etcd.js";
import { type Backend, backends } from "./backends.js";
import { controllersForApp } from "./controller-manager.js";

const TOKEN = "test-token";
const auth = { authorization: `Bearer ${TOKEN}` };
const json = { ...auth, "content-type": "application/json" };

interface Ctx {
  server: ApiServer;
  backend: Backend;
}

async function start(b: () => Promise<Backend>, opts: { maxMutating?: number } = {}): Promise<Ctx> {
  const backend = await b();
  const kv = backend.kv?.() ?? new GrpcEtcd(backend.endpoints);
  const server = await createApiServer({
    kv,
    authenticate: authenticator(new Map([[TOKEN, { name: "admin", groups: ["system:masters"] }]])),
    maxMutatingRequestsInflight: opts.maxMutating,
    watchCacheSize: 50,
    watchBookmarkIntervalMs: 300,
  });
  // Default ServiceAccounts, namespace deletion and quota status: the controller manager's.
  const controllers = await controllersForApp(server, TOKEN);
  return {
    server,
    backend: {
      ...backend,
      async stop() {
        await controllers.stop();
        await server.close();
        kv.close();
        await backend.stop();
      },
    },
  };
}

const cm = (
  name: string,
  data: Record<string, string> = { a: "1" },
  extra: Record<string, unknown> = {},
) => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name, ...extra },
  data,
});

const deployment = (name: string, replicas = 1) => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name, labels: { app: name } },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: { containers: [{ name: "c", image: "nginx:1.25" }] },
    },
  },
});

for (const b of backends()) {
  const skip = b.missing !== undefined && process.env.CI === undefined ? b.missing : undefined;
  if (skip !== undefined) t.comment(`skipping the ${b.name} runs: ${skip}`);
  t.test(`REST API on ${b.name}`, { skip, timeout: 120_000 }, async (t) => {
    const { server, backend } = await start(b.start);
    t.teardown(() => backend.stop());
    const app = server.app;
    const req = (method: string, url: string, body?: unknown, headers: Record<string, string> = json) =>
      app.inject({
        method: method as "GET",
        url,
        headers,
        payload: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
      });
    const base = "/api/v1/namespaces/default/configmaps";

    await t.test("discovery, version, health, auth", async (t) => {
      t.equal((await app.inject({ url: "/version", headers: auth })).json().minor, "32");
      t.equal((await app.inject({ url: "/livez" })).body, "ok", "health needs no credentials");
      const anon = await app.inject({ url: "/api/v1/namespaces" });
      t.equal(anon.statusCode, 401);
      t.match(anon.json(), { kind: "Status", reason: "Unauthorized", code: 401 });
      t.equal(
        (await app.inject({ url: "/api", headers: { authorization: "Bearer wrong" } })).statusCode,
        401,
      );
      const agg = await app.inject({
        url: "/apis",
        headers: {
          ...auth,
          accept: "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json",
        },
      });
      t.match(agg.headers["content-type"], /as=APIGroupDiscoveryList/);
      const groups = agg.json().items.map((i: { metadata: { name: string } }) => i.metadata.name);
      t.ok(groups.includes("apps") && groups.includes("coordination.k8s.io"), `groups ${groups}`);
      const v1 = (await app.inject({ url: "/api/v1", headers: auth })).json();
      t.match(
        v1.resources.find((r: { name: string }) => r.name === "pods/eviction"),
        { group: "policy", version: "v1", kind: "Eviction" },
        "kubectl drain finds pods/eviction",
      );
      const idx = (await app.inject({ url: "/openapi/v3", headers: auth })).json();
      t.ok(idx.paths["apis/apps/v1"].serverRelativeURL.startsWith("/openapi/v3/apis/apps/v1?hash="));
      const doc = (await app.inject({ url: "/openapi/v3/apis/apps/v1", headers: auth })).json();
      const patch = doc.paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"].patch;
      t.ok(
        patch.parameters.some((p: { name: string }) => p.name === "fieldValidation"),
        "PATCH declares fieldValidation",
      );
      t.equal(
        doc.components.schemas["io.k8s.api.apps.v1.Deployment"].properties.spec.properties.template.properties
          .spec.properties.containers["x-kubernetes-patch-merge-key"],
        "name",
      );
    });

    await t.test("create, get, update, conflict, delete", async (t) => {
      const created = await req("POST", base, cm("c1"));
      t.equal(created.statusCode, 201);
      const obj = created.json();
      t.match(obj.metadata, { name: "c1", namespace: "default", uid: /^[0-9a-f-]{36}$/ });
      t.notOk(obj.metadata.generation, "no generation on a kind without spec");
      t.equal((await req("POST", base, cm("c1"))).json().reason, "AlreadyExists");
      const got = (await req("GET", `${base}/c1`)).json();
      t.equal(got.metadata.resourceVersion, obj.metadata.resourceVersion);
      const updated = await req("PUT", `${base}/c1`, { ...got, data: { a: "2" } });
      t.equal(updated.statusCode, 200);
      t.ok(Number(updated.json().metadata.resourceVersion) > Number(got.metadata.resourceVersion));
      t.equal(updated.json().metadata.uid, obj.metadata.uid, "uid kept");
      const stale = await req("PUT", `${base}/c1`, { ...got, data: { a: "3" } });
      t.equal(stale.statusCode, 409);
      t.match(stale.json().message, /the object has been modified/);
      t.equal((await req("GET", `${base}/c1`)).json().data.a, "2", "the stale write changed nothing");
      const del = await req("DELETE", `${base}/c1`);
      t.equal(del.statusCode, 200);
      const gone = await req("GET", `${base}/c1`);
      t.equal(gone.statusCode, 404);
      t.match(gone.json(), { kind: "Status", reason: "NotFound", message: 'configmaps "c1" not found' });
    });

    await t.test("bad input: Status errors, nothing stored", async (t) => {
      const invalid = await req("POST", base, cm("Bad_Name"));
      t.equal(invalid.statusCode, 422);
      t.match(invalid.json(), {
        reason: "Invalid",
        details: { causes: [{ reason: "FieldValueInvalid", field: "metadata.name" }] },
      });
      t.match(
        invalid.json().message,
        /^ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name"/,
      );
      const strict = await req("POST", `${base}?fieldValidation=Strict`, { ...cm("s1"), spec: { foo: 1 } });
      t.equal(strict.statusCode, 400);
      t.match(strict.json().message, /unknown field "spec"/);
      const warn = await req("POST", base, { ...cm("w1"), bogus: true });
      t.equal(warn.statusCode, 201);
      t.match(warn.headers.warning, /^299 - "unknown field \\"bogus\\""$/);
      t.notOk(warn.json().bogus, "the unknown field was dropped");
      t.equal((await req("POST", base, "{not json")).statusCode, 400);
      t.equal((await req("POST", base, { ...cm("t1"), data: { a: 5 } })).statusCode, 400, "wrong type");
      const yaml = await req(
        "POST",
        base,
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: y1}\ndata: {k: v}\n",
        {
          ...auth,
          "content-type": "application/yaml",
        },
      );
      t.equal(yaml.statusCode, 201, yaml.body);
      const big = await req("POST", base, cm("big", { a: "x".repeat(3.5 * 1024 * 1024) }));
      t.equal(big.statusCode, 413);
      t.equal(big.json().reason, "RequestEntityTooLarge");
      const pb = await req("POST", base, "k8s\u0000\u0001\u0002", {
        ...auth,
        "content-type": "application/vnd.kubernetes.protobuf",
      });
      t.equal(pb.statusCode, 400, "malformed protobuf");
      t.equal((await req("POST", base, cm("x"), { ...auth, "content-type": "text/csv" })).statusCode, 415);
      t.equal((await req("GET", "/api/v1/nothings")).statusCode, 404);
      const wrongNs = await req("POST", base, cm("n1", {}, { namespace: "other" }));
      t.equal(wrongNs.statusCode, 400);
      const dry = await req("POST", `${base}?dryRun=All`, cm("dry1"));
      t.equal(dry.statusCode, 201);
      t.equal((await req("GET", `${base}/dry1`)).statusCode, 404, "dry run stores nothing");
      const gen = await req("POST", base, cm("", {}, { generateName: "gen-" }));
      t.match(gen.json().metadata.name, /^gen-[a-z0-9]{5}$/);
    });

    await t.test("defaults, generation, status subresource", async (t) => {
      const d = await req("POST", "/apis/apps/v1/namespaces/default/deployments", deployment("web"));
      t.equal(d.statusCode, 201, d.body);
      const obj = d.json();
      t.match(obj.spec, {
        strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: "25%", maxUnavailable: "25%" } },
        revisionHistoryLimit: 10,
        progressDeadlineSeconds: 600,
        template: {
          spec: {
            restartPolicy: "Always",
            terminationGracePeriodSeconds: 30,
            dnsPolicy: "ClusterFirst",
            containers: [{ imagePullPolicy: "IfNotPresent" }],
          },
        },
      });
      t.equal(obj.metadata.generation, 1);
      const url = "/apis/apps/v1/namespaces/default/deployments/web";
      const labelled = await req(
        "PATCH",
        url,
        { metadata: { labels: { tier: "x" } } },
        { ...auth, "content-type": "application/merge-patch+json" },
      );
      t.equal(labelled.json().metadata.generation, 1, "metadata changes do not bump generation");
      const scaled = await req(
        "PATCH",
        url,
        { spec: { replicas: 3 } },
        { ...auth, "content-type": "application/merge-patch+json" },
      );
      t.equal(scaled.json().metadata.generation, 2, "spec changes do");
      const withStatus = await req(
        "PATCH",
        url,
        { status: { replicas: 7 } },
        { ...auth, "content-type": "application/merge-patch+json" },
      );
      t.notOk(withStatus.json().status?.replicas, "status is ignored on the main resource");
      const status = await req(
        "PATCH",
        `${url}/status`,
        { status: { replicas: 7 } },
        { ...auth, "content-type": "application/merge-patch+json" },
      );
      t.equal(status.json().status.replicas, 7, "and taken through /status");
      t.equal(status.json().metadata.generation, 2);
      const pod = await req("POST", "/api/v1/namespaces/default/pods", {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "p1", labels: { app: "p" } },
        spec: { containers: [{ name: "c", image: "busybox" }] },
      });
      t.match(pod.json(), {
        spec: { containers: [{ imagePullPolicy: "Always" }], serviceAccountName: "default" },
        status: { phase: "Pending", qosClass: "BestEffort" },
      });
      const badPod = await req("POST", "/api/v1/namespaces/default/pods", {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "p2" },
        spec: { containers: [] },
      });
      t.equal(badPod.statusCode, 422);
      t.match(badPod.json().message, /spec.containers: Required value/);
    });

    await t.test("patches: strategic, json, merge", async (t) => {
      const url = "/apis/apps/v1/namespaces/default/deployments/web";
      const smp = await req(
        "PATCH",
        url,
        {
          spec: {
            template: {
              spec: {
                containers: [
                  { name: "c", image: "nginx:1.26" },
                  { name: "side", image: "busybox:1" },
                ],
              },
            },
          },
        },
        { ...auth, "content-type": "application/strategic-merge-patch+json" },
      );
      t.equal(smp.statusCode, 200, smp.body);
      const cs = smp.json().spec.template.spec.containers;
      t.same(
        cs.map((c: { name: string; image: string }) => `${c.name}=${c.image}`).sort(),
        ["c=nginx:1.26", "side=busybox:1"],
        "containers merged by name",
      );
      const jp = await req("PATCH", url, [{ op: "replace", path: "/spec/replicas", value: 5 }], {
        ...auth,
        "content-type": "application/json-patch+json",
      });
      t.equal(jp.json().spec.replicas, 5);
      const badJp = await req("PATCH", url, [{ op: "test", path: "/spec/replicas", value: 1 }], {
        ...auth,
        "content-type": "application/json-patch+json",
      });
      t.equal(badJp.statusCode, 422, "kube: a JSON patch that does not apply is a 422");
      const invalidPatch = await req(
        "PATCH",
        url,
        { spec: { replicas: -1 } },
        { ...auth, "content-type": "application/merge-patch+json" },
      );
      t.equal(invalidPatch.statusCode, 422);
    });

    await t.test("lists: pagination on one snapshot, selectors, tables", async (t) => {
      for (let i = 0; i < 5; i++)
        t.equal(
          (
            await req(
              "POST",
              "/api/v1/namespaces/kube-public/configmaps",
              cm(`p${i}`, {}, { labels: { n: String(i), even: i % 2 === 0 ? "yes" : "no" } }),
            )
          ).statusCode,
          201,
        );
      const url = "/api/v1/namespaces/kube-public/configmaps";
      const first = (await req("GET", `${url}?limit=2`)).json();
      t.equal(first.items.length, 2);
      t.match(
        first.items[0].metadata,
        { name: "p0", resourceVersion: /^\d+$/ },
        "plain lists carry each item's resourceVersion",
      );
      const direct = (await req("GET", `${url}/p0`)).json();
      t.same(first.items[0], direct, "a plain list item is exactly the object a get returns");
      t.equal(first.metadata.remainingItemCount, 3);
      await req("POST", url, cm("p00")); // after the snapshot: not in the next pages
      const second = (await req("GET", `${url}?limit=2&continue=${first.metadata.continue}`)).json();
      const third = (await req("GET", `${url}?limit=2&continue=${second.metadata.continue}`)).json();
      const names = [...first.items, ...second.items, ...third.items].map(
        (o: { metadata: { name: string } }) => o.metadata.name,
      );
      t.same(names, ["p0", "p1", "p2", "p3", "p4"], "one consistent snapshot");
      t.notOk(third.metadata.continue);
      const sel = async (q: string) =>
        (await req("GET", `${url}?${q}`))
          .json()
          .items.map((o: { metadata: { name: string } }) => o.metadata.name)
          .sort();
      t.same(await sel("labelSelector=even%3Dyes"), ["p0", "p2", "p4"]);
      t.same(await sel("labelSelector=even!%3Dyes"), ["p00", "p1", "p3"]);
      t.same(await sel("labelSelector=n%20in%20(1,2)"), ["p1", "p2"]);
      t.same(await sel("labelSelector=n%20notin%20(1,2),n"), ["p0", "p3", "p4"]);
      t.same(await sel("labelSelector=!n"), ["p00"]);
      t.same(await sel("fieldSelector=metadata.name%3Dp3"), ["p3"]);
      t.equal((await req("GET", `${url}?fieldSelector=spec.bogus%3Dx`)).statusCode, 400);
      const badRv = await req("GET", `${url}?resourceVersionMatch=Exact&resourceVersion=abc`);
      t.equal(badRv.statusCode, 400);
      t.match(badRv.json().message, /^invalid resource version: resourceVersion: Invalid value: "abc"/);
      const all = (await req("GET", "/api/v1/configmaps")).json();
      t.ok(all.items.length >= 6, "all namespaces");
      const table = await req("GET", url, undefined, {
        ...auth,
        accept: "application/json;as=Table;v=v1;g=meta.k8s.io,application/json",
      });
      const tb = table.json();
      t.equal(tb.kind, "Table");
      t.same(
        tb.columnDefinitions.map((c: { name: string }) => c.name),
        ["Name", "Data", "Age"],
      );
      t.equal(tb.rows[0].object.kind, "PartialObjectMetadata");
    });

    await t.test("watch: from a revision, synthetic ADDED, selectors, expired", async (t) => {
      const url = "/api/v1/namespaces/default/configmaps";
      const start = (await req("GET", url)).json().metadata.resourceVersion;
      await req("POST", url, cm("wa", {}, { labels: { w: "1" } }));
      const wa = (await req("GET", `${url}/wa`)).json();
      await req("PUT", `${url}/wa`, { ...wa, data: { b: "2" } });
      await req("DELETE", `${url}/wa`);
      const events = async (q: string) =>
        (await req("GET", `${url}?watch=true&timeoutSeconds=1&${q}`)).body
          .trim()
          .split("\n")
          .filter((l) => l !== "")
          .map(
            (l) => JSON.parse(l) as { type: string; object: { metadata: { name: string }; code?: number } },
          );
      const fromStart = (await events(`resourceVersion=${start}&labelSelector=w%3D1`)).map(
        (e) => `${e.type} ${e.object.metadata.name}`,
      );
      t.same(fromStart, ["ADDED wa", "MODIFIED wa", "DELETED wa"]);
      // Bookmarks come every 300 ms: read the quiet watch until two have come (how many fit in a
      // fixed time depends on the machine); the server's close ends it.
      const quietRes = await app.inject({
        url: `${url}?watch=true&resourceVersion=${start}&allowWatchBookmarks=true&labelSelector=none%3D1`,
        headers: json,
        payloadAsStream: true,
      });
      let quietText = "";
      quietRes.stream().on("data", (d: Buffer) => {
        quietText += d.toString();
      });
      const bookmarks = () =>
        quietText
          .split("\n")
          .filter((l) => l !== "")
          .map((l) => JSON.parse(l) as { type: string; object: { metadata: { resourceVersion?: string } } })
          .filter((e) => e.type === "BOOKMARK");
      await waitFor(() => bookmarks().length >= 2, { what: "two bookmarks" }).catch(() => undefined);
      const marks = bookmarks();
      t.ok(marks.length >= 2, `periodic bookmarks on a quiet watch (${marks.length})`);
      t.match(marks.at(-1)?.object.metadata, { resourceVersion: /^\d+$/ });
      const initial = await events("resourceVersion=0&fieldSelector=metadata.name%3Dw1");
      t.same(
        initial.map((e) => e.type),
        ["ADDED"],
        "synthetic ADDED for what exists",
      );
      // A revision older than the watch cache's window (50 events here): 410 Expired as an ERROR event.
      const before = (await req("GET", url)).json().metadata.resourceVersion;
      for (let i = 0; i < 60; i++) await req("POST", url, cm(`flood${i}`));
      const old = await events(`resourceVersion=${before}`);
      t.equal(old[0]?.type, "ERROR");
      t.match(old[0]?.object, { kind: "Status", code: 410, reason: "Expired" });
    });

    await t.test("namespace lifecycle", async (t) => {
      t.equal((await req("POST", "/api/v1/namespaces/nope/configmaps", cm("x"))).statusCode, 404);
      const ns = await req("POST", "/api/v1/namespaces", {
        apiVersion: "v1",
        kind: "Namespace",
        metadata: { name: "team" },
      });
      t.equal(ns.statusCode, 201);
      t.match(ns.json(), { spec: { finalizers: ["kubernetes"] }, status: { phase: "Active" } });
      await req("POST", "/api/v1/namespaces/team/configmaps", cm("inside"));
      t.equal(
        (await req("DELETE", "/api/v1/namespaces/default")).statusCode,
        403,
        "default cannot be deleted",
      );
      const del = await req("DELETE", "/api/v1/namespaces/team");
      t.equal(del.json().status.phase, "Terminating");
      await waitFor(async () => (await req("GET", "/api/v1/namespaces/team")).statusCode === 404, {
        what: "the namespace to go away",
        intervalMs: 100,
      });
      t.equal(
        (await req("GET", "/api/v1/namespaces/team/configmaps/inside")).statusCode,
        404,
        "its content went with it",
      );
    });

    await t.test("services: cluster IPs and node ports, unique, released, 422 when taken", async (t) => {
      const url = "/api/v1/namespaces/default/services";
      const svc = (name: string, spec: Record<string, unknown> = {}) => ({
        apiVersion: "v1",
        kind: "Service",
        metadata: { name },
        spec: { ports: [{ port: 80 }], selector: { app: name }, ...spec },
      });
      const created = await Promise.all(
        Array.from({ length: 12 }, (_, i) => req("POST", url, svc(`s${i}`, { type: "NodePort" }))),
      );
      t.same(
        created.map((r) => r.statusCode),
        Array(12).fill(201),
      );
      const ips = created.map((r) => r.json().spec.clusterIP as string);
      const ports = created.map((r) => r.json().spec.ports[0].nodePort as number);
      t.equal(new Set(ips).size, 12, "unique cluster IPs under concurrent creates");
      t.equal(new Set(ports).size, 12, "unique node ports");
      t.ok(
        ips.every((ip) => /^10\.(9[6-9]|10[0-9]|11[01])\./.test(ip)),
        `in 10.96.0.0/12: ${ips[0]}`,
      );
      t.ok(ports.every((p) => p >= 30000 && p <= 32767));
      t.match(created[0]?.json().spec, {
        type: "NodePort",
        sessionAffinity: "None",
        ports: [{ protocol: "TCP", targetPort: 80 }],
      });
      const taken = await req("POST", url, svc("dup", { clusterIP: ips[0] }));
      t.equal(taken.statusCode, 422);
      t.match(taken.json().message, /provided IP is already allocated/);
      const portTaken = await req(
        "POST",
        url,
        svc("dupport", { type: "NodePort", ports: [{ port: 80, nodePort: ports[0] }] }),
      );
      t.equal(portTaken.statusCode, 422);
      t.match(
        portTaken.json().message,
        /spec.ports\[0\].nodePort: Invalid value: \d+: provided port is already allocated/,
      );
      const outside = await req("POST", url, svc("out", { clusterIP: "192.168.1.1" }));
      t.equal(outside.statusCode, 422);
      t.match(outside.json().message, /not in the valid range/);
      t.equal(
        (await req("POST", url, svc("badport", { type: "NodePort", ports: [{ port: 80, nodePort: 40000 }] })))
          .statusCode,
        422,
      );
      const headless = await req("POST", url, svc("headless", { clusterIP: "None" }));
      t.equal(headless.json().spec.clusterIP, "None");
      const s0 = (await req("GET", `${url}/s0`)).json();
      const moved = await req("PUT", `${url}/s0`, { ...s0, spec: { ...s0.spec, clusterIP: "10.96.0.99" } });
      t.equal(moved.statusCode, 422, "clusterIP is immutable");
      const toCluster = await req("PUT", `${url}/s0`, {
        ...s0,
        spec: { ...s0.spec, type: "ClusterIP", ports: [{ port: 80 }] },
      });
      t.equal(toCluster.statusCode, 200, toCluster.body);
      t.notOk(toCluster.json().spec.ports[0].nodePort, "NodePort -> ClusterIP releases the node port");
      const reuse = await req(
        "POST",
        url,
        svc("reuseport", { type: "NodePort", ports: [{ port: 80, nodePort: ports[0] }] }),
      );
      t.equal(reuse.statusCode, 201, "a released node port can be taken again");
      t.equal((await req("DELETE", `${url}/s1`)).statusCode, 200);
      const again = await req("POST", url, svc("reuseip", { clusterIP: ips[1] }));
      t.equal(again.statusCode, 201, "a deleted service's IP is free again");
    });

    await t.test("subresources: scale, binding, eviction", async (t) => {
      const url = "/apis/apps/v1/namespaces/default/deployments/web/scale";
      const sc = (await req("GET", url)).json();
      t.match(sc, {
        kind: "Scale",
        apiVersion: "autoscaling/v1",
        spec: { replicas: 5 },
        status: { selector: "app=web" },
      });
      const patched = await req(
        "PATCH",
        url,
        { spec: { replicas: 2 } },
        { ...auth, "content-type": "application/merge-patch+json" },
      );
      t.equal(patched.json().spec.replicas, 2, patched.body);
      const d = (await req("GET", "/apis/apps/v1/namespaces/default/deployments/web")).json();
      t.equal(d.spec.replicas, 2);
      t.equal(
        (await req("PUT", url, { ...sc, spec: { replicas: 4 } })).statusCode,
        409,
        "PUT with a stale resourceVersion",
      );
      t.equal(
        (
          await req(
            "PATCH",
            url,
            { spec: { replicas: -2 } },
            { ...auth, "content-type": "application/merge-patch+json" },
          )
        ).statusCode,
        400,
      );
      const pods = "/api/v1/namespaces/default/pods";
      await req("POST", pods, {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "b1" },
        spec: { containers: [{ name: "c", image: "busybox:1" }] },
      });
      const bind = await req("POST", `${pods}/b1/binding`, {
        apiVersion: "v1",
        kind: "Binding",
        metadata: { name: "b1" },
        target: { kind: "Node", name: "node-1" },
      });
      t.equal(bind.statusCode, 201, bind.body);
      t.equal((await req("GET", `${pods}/b1`)).json().spec.nodeName, "node-1");
      const again = await req("POST", `${pods}/b1/binding`, { target: { name: "node-2" } });
      t.equal(again.statusCode, 409, "a pod is bound once");
      await req("POST", pods, {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "e1" },
        spec: { containers: [{ name: "c", image: "busybox:1" }] },
      });
      const ev = await req("POST", `${pods}/e1/eviction`, {
        apiVersion: "policy/v1",
        kind: "Eviction",
        metadata: { name: "e1" },
      });
      t.equal(ev.statusCode, 201, ev.body);
      t.equal((await req("GET", `${pods}/e1`)).statusCode, 404, "an unbound pod is deleted at once");
      const evBound = await req("POST", `${pods}/b1/eviction`, {
        apiVersion: "policy/v1",
        kind: "Eviction",
        metadata: { name: "b1" },
      });
      t.equal(evBound.statusCode, 201);
      t.ok(
        (await req("GET", `${pods}/b1`)).json().metadata.deletionTimestamp,
        "a bound pod gets a deletionTimestamp for its kubelet",
      );
    });

    await t.test("events expire through a store lease that updates keep", async (t) => {
      const url = "/api/v1/namespaces/default/events";
      const ev = (name: string) => ({
        apiVersion: "v1",
        kind: "Event",
        metadata: { name },
        involvedObject: { kind: "Pod", name: "p1", namespace: "default" },
        reason: "Test",
        message: "hello",
        type: "Normal",
      });
      t.equal((await req("POST", url, ev("e1"))).statusCode, 201);
      t.equal((await req("POST", url, ev("e2"))).statusCode, 201);
      const kv = backend.kv?.() ?? new GrpcEtcd(backend.endpoints);
      t.teardown(() => kv.close());
      const lease = async (name: string) =>
        (await kv.range(`/registry/events/default/${name}`)).kvs[0]?.lease;
      const l1 = await lease("e1");
      t.ok(l1 !== undefined && l1 !== "0", `e1 has a lease (${l1})`);
      t.equal(await lease("e2"), l1, "events written within a minute share one lease");
      const cur = (await req("GET", `${url}/e1`)).json();
      t.equal((await req("PUT", `${url}/e1`, { ...cur, count: 2 })).statusCode, 200);
      t.equal(await lease("e1"), l1, "an update keeps the lease");
      const sel = await req("GET", `${url}?fieldSelector=involvedObject.name%3Dp1,involvedObject.kind%3DPod`);
      t.equal(sel.json().items.length, 2, "involvedObject field selectors");
    });

    await t.test(
      "resource quota: counted, enforced under concurrent creates, given back; limit ranges",
      async (t) => {
        await req("POST", "/api/v1/namespaces", {
          apiVersion: "v1",
          kind: "Namespace",
          metadata: { name: "quota" },
        });
        const ns = "/api/v1/namespaces/quota";
        await req("POST", `${ns}/configmaps`, cm("pre"));
        const q = await req("POST", `${ns}/resourcequotas`, {
          apiVersion: "v1",
          kind: "ResourceQuota",
          metadata: { name: "q" },
          spec: { hard: { configmaps: "4", pods: "2", "requests.cpu": "1", "limits.memory": "1Gi" } },
        });
        t.equal(q.statusCode, 201, q.body);
        t.match(
          q.json().status,
          { hard: { configmaps: "4" }, used: { configmaps: "1", pods: "0" } },
          "usage of what was there",
        );
        const results = await Promise.all(
          Array.from({ length: 8 }, (_, i) => req("POST", `${ns}/configmaps`, cm(`q${i}`))),
        );
        const codes = results.map((r) => r.statusCode).sort();
        t.same(
          codes,
          [201, 201, 201, 403, 403, 403, 403, 403],
          "exactly the room left, under 8 concurrent creates",
        );
        t.match(
          results.find((r) => r.statusCode === 403)?.json().message,
          /exceeded quota: q, requested: configmaps=1, used: configmaps=4, limited: configmaps=4/,
        );
        t.equal((await req("GET", `${ns}/resourcequotas/q`)).json().status.used.configmaps, "4");
        t.equal((await req("DELETE", `${ns}/configmaps/pre`)).statusCode, 200);
        t.equal(
          (await req("GET", `${ns}/resourcequotas/q`)).json().status.used.configmaps,
          "3",
          "a delete gives usage back",
        );
        t.equal((await req("POST", `${ns}/configmaps`, cm("after"))).statusCode, 201);
        const pod = (name: string, cpu: string) => ({
          apiVersion: "v1",
          kind: "Pod",
          metadata: { name },
          spec: {
            containers: [
              {
                name: "c",
                image: "busybox:1",
                resources: { requests: { cpu }, limits: { memory: "256Mi" } },
              },
            ],
          },
        });
        t.equal((await req("POST", `${ns}/pods`, pod("p1", "600m"))).statusCode, 201);
        const tooMuch = await req("POST", `${ns}/pods`, pod("p2", "500m"));
        t.equal(tooMuch.statusCode, 403);
        t.match(
          tooMuch.json().message,
          /requests.cpu=500m, used: requests.cpu=600m, limited: requests.cpu=1/,
        );
        t.equal((await req("GET", `${ns}/resourcequotas/q`)).json().status.used["requests.cpu"], "600m");
        const lr = await req("POST", `${ns}/limitranges`, {
          apiVersion: "v1",
          kind: "LimitRange",
          metadata: { name: "lr" },
          spec: {
            limits: [
              {
                type: "Container",
                default: { memory: "128Mi" },
                defaultRequest: { cpu: "100m" },
                max: { memory: "512Mi" },
              },
            ],
          },
        });
        t.equal(lr.statusCode, 201, lr.body);
        const defaulted = await req("POST", `${ns}/pods`, {
          apiVersion: "v1",
          kind: "Pod",
          metadata: { name: "p3" },
          spec: { containers: [{ name: "c", image: "busybox:1" }] },
        });
        t.equal(defaulted.statusCode, 201, defaulted.body);
        t.match(defaulted.json().spec.containers[0].resources, {
          limits: { memory: "128Mi" },
          requests: { cpu: "100m" },
        });
        const big = await req("POST", `${ns}/pods`, {
          apiVersion: "v1",
          kind: "Pod",
          metadata: { name: "p4" },
          spec: { containers: [{ name: "c", image: "busybox:1", resources: { limits: { memory: "1Gi" } } }] },
        });
        t.equal(big.statusCode, 403);
        t.match(big.json().message, /maximum memory usage per Container is 512Mi, but limit is 1Gi/);
      },
    );

    await t.test("finalizers keep an object until removed", async (t) => {
      const url = "/api/v1/namespaces/default/configmaps";
      await req("POST", url, cm("fin", {}, { finalizers: ["example.com/hold"] }));
      const del = await req("DELETE", `${url}/fin`);
      t.ok(del.json().metadata.deletionTimestamp, "marked for deletion");
      t.equal((await req("GET", `${url}/fin`)).statusCode, 200, "still there");
      const cur = (await req("GET", `${url}/fin`)).json();
      await req("PUT", `${url}/fin`, { ...cur, metadata: { ...cur.metadata, finalizers: [] } });
      t.equal((await req("GET", `${url}/fin`)).statusCode, 404, "gone once the finalizer is removed");
    });
  });
}

t.test("in-flight limit: the excess gets 429 with Retry-After", async (t) => {
  const b = backends()[0];
  if (b === undefined) return;
  const { server, backend } = await start(b.start, { maxMutating: 1 });
  t.teardown(() => backend.stop());
  const results = await Promise.all(
    Array.from({ length: 8 }, (_, i) =>
      server.app.inject({
        method: "POST",
        url: "/api/v1/namespaces/default/configmaps",
        headers: json,
        payload: JSON.stringify(cm(`l${i}`)),
      }),
    ),
  );
  const codes = results.map((r) => r.statusCode);
  t.ok(codes.includes(429), `some were refused: ${codes}`);
  t.ok(codes.includes(201), "some went through");
  const refused = results.find((r) => r.statusCode === 429);
  t.equal(refused?.headers["retry-after"], "1");
  t.equal(refused?.json().reason, "TooManyRequests");
});
