/**
 * The write side as kube-apiserver 1.32 answers it, in process on the embedded store: patch bombs
 * and oversized objects (4xx, never 5xx), graceful deletion of pods, uid and resourceVersion
 * preconditions, retries of unconditional writes, no-op writes, pod spec immutability, binding,
 * eviction with a PodDisruptionBudget, Services' IP families and DELETE's Status answers.
 */
import { waitFor } from "@skiff/testkit";
import fc from "fast-check";
import t from "tap";
import { authenticator } from "../src/auth.js";
import { createApiServer } from "../src/server.js";
import { embeddedBackend } from "./backends.js";

const TOKEN = "writes-token";
const auth = { authorization: `Bearer ${TOKEN}` };
const json = { ...auth, "content-type": "application/json" };
const merge = { ...auth, "content-type": "application/merge-patch+json" };
const jsonPatch = { ...auth, "content-type": "application/json-patch+json" };
const strategic = { ...auth, "content-type": "application/strategic-merge-patch+json" };

const backend = await embeddedBackend();
const kv = backend.kv?.();
if (kv === undefined) throw new Error("the embedded backend has an in-process client");
const server = await createApiServer({
  kv,
  authenticate: authenticator(new Map([[TOKEN, { name: "admin", groups: ["system:masters"] }]])),
});
t.teardown(async () => {
  await server.close();
  kv.close();
  await backend.stop();
});

const req = (method: string, url: string, body?: unknown, headers: Record<string, string> = json) =>
  server.app.inject({
    method: method as "GET",
    url,
    headers,
    payload: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });

const NS = "/api/v1/namespaces/default";
const cms = `${NS}/configmaps`;
const pods = `${NS}/pods`;

const pod = (name: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name },
  spec: { containers: [{ name: "c", image: "nginx:1.25" }], ...extra },
});

async function boundPod(name: string, extra: Record<string, unknown> = {}) {
  t.equal((await req("POST", pods, pod(name, extra))).statusCode, 201);
  const bind = await req("POST", `${pods}/${name}/binding`, {
    apiVersion: "v1",
    kind: "Binding",
    metadata: { name },
    target: { apiVersion: "v1", kind: "Node", name: "node-1" },
  });
  t.equal(bind.statusCode, 201, bind.body);
}

t.test("patch bombs and oversized objects are 4xx", async (t) => {
  t.equal(
    (await req("POST", cms, { metadata: { name: "bomb" }, data: { a: "x".repeat(1024) } })).statusCode,
    201,
  );
  const tooMany = await req(
    "PATCH",
    `${cms}/bomb`,
    Array.from({ length: 10001 }, () => ({ op: "test", path: "/kind", value: "ConfigMap" })),
    jsonPatch,
  );
  t.equal(tooMany.statusCode, 413);
  t.equal(
    tooMany.json().message,
    "Request entity too large: The allowed maximum operations in a JSON patch is 10000, got 10001",
  );
  // Each copy doubles the document: unbounded, 30 of them would need terabytes.
  const doubling = [
    { op: "add", path: "/data/b", value: "" },
    { op: "copy", from: "/data", path: "/metadata/annotations" },
  ];
  for (let i = 0; i < 30; i++)
    doubling.push({ op: "copy", from: "/metadata", path: `/metadata/annotations/x${i}` } as never);
  const started = Date.now();
  const bomb = await req("PATCH", `${cms}/bomb`, doubling, jsonPatch);
  t.equal(bomb.statusCode, 422, bomb.body);
  t.match(bomb.json().details.causes[0].message, /accumulated size increase of copy/);
  t.comment(`the doubling-copy patch was refused in ${Date.now() - started} ms`);

  const deep = (n: number) => `${"[".repeat(n)}${"]".repeat(n)}`;
  const node = `{"apiVersion":"v1","kind":"Node","metadata":{"name":"deep"},"status":{"config":{"x":${deep(50_000)}}}}`;
  const deepCreate = await req("POST", "/api/v1/nodes", node);
  t.equal(deepCreate.statusCode, 400);
  t.match(deepCreate.json().message, /exceeded max depth/);
  const deepPatch = await req("PATCH", `${cms}/bomb`, `{"data":{"a":${deep(50_000)}}}`, merge);
  t.equal(deepPatch.statusCode, 400);
  // A JSON patch that deepens the object by copying it into itself.
  const nest = [{ op: "add", path: "/metadata/annotations", value: { n: { m: {} } } }];
  for (let i = 0; i < 12; i++)
    nest.push({ op: "copy", from: "/metadata/annotations", path: "/metadata/annotations/n/m" } as never);
  const nested = await req("PATCH", `${cms}/bomb`, nest, jsonPatch);
  t.ok(nested.statusCode >= 400 && nested.statusCode < 500, `deepening patch: ${nested.statusCode}`);

  const over = await req("POST", cms, {
    metadata: { name: "huge" },
    data: { a: "x".repeat(3 * 1024 * 1024) },
  });
  t.equal(over.statusCode, 413);
  t.equal(over.json().message, "Request entity too large: limit is 3145728");
  const big = await req("POST", cms, { metadata: { name: "big" }, data: { a: "x".repeat(2 * 1024 * 1024) } });
  t.equal(big.statusCode, 413, "over the store's 1.5 MiB request limit");
  t.match(big.json(), { kind: "Status", reason: "RequestEntityTooLarge" });
  // A merge patch growing an object past the request limit.
  const half = "y".repeat(2 * 1024 * 1024);
  const grow = await req("PATCH", `${cms}/bomb`, { data: { b: half, c: half } }, merge);
  t.equal(grow.statusCode, 413);
  t.equal((await req("GET", `${cms}/bomb`)).statusCode, 200, "the server still serves");
});

t.test("graceful deletion of pods", async (t) => {
  await boundPod("g1", { terminationGracePeriodSeconds: 45 });
  const bound = (await req("GET", `${pods}/g1`)).json();
  t.equal(bound.spec.nodeName, "node-1");
  t.match(bound.status.conditions, [{ type: "PodScheduled", status: "True" }]);

  const del = await req("DELETE", `${pods}/g1`);
  t.equal(del.statusCode, 200);
  t.equal(del.json().metadata.deletionGracePeriodSeconds, 45, "spec.terminationGracePeriodSeconds");
  t.ok(del.json().metadata.deletionTimestamp);
  const shorter = await req("DELETE", `${pods}/g1?gracePeriodSeconds=10`);
  t.equal(shorter.json().metadata.deletionGracePeriodSeconds, 10, "a second DELETE shortens the grace");
  const longer = await req("DELETE", `${pods}/g1?gracePeriodSeconds=20`);
  t.equal(longer.json().metadata.deletionGracePeriodSeconds, 10, "but never lengthens it");

  const status = await req("PATCH", `${pods}/g1/status`, { status: { phase: "Running" } }, merge);
  t.equal(status.statusCode, 200, "the kubelet may update status of a terminating pod");
  t.equal((await req("GET", `${pods}/g1`)).json().status.phase, "Running", "and the pod stays");
  const fin = await req("PATCH", `${pods}/g1`, { metadata: { finalizers: ["example.com/x"] } }, merge);
  t.equal(fin.statusCode, 422);
  t.match(fin.json().message, /no new finalizers can be added if the object is being deleted/);

  const gone = await req("DELETE", `${pods}/g1`, {
    kind: "DeleteOptions",
    apiVersion: "v1",
    gracePeriodSeconds: 0,
  });
  t.equal(gone.statusCode, 200);
  t.equal((await req("GET", `${pods}/g1`)).statusCode, 404, "grace 0 removes it");

  t.equal((await req("POST", pods, pod("unbound"))).statusCode, 201);
  t.equal((await req("DELETE", `${pods}/unbound`)).statusCode, 200);
  t.equal((await req("GET", `${pods}/unbound`)).statusCode, 404, "an unscheduled pod goes at once");

  await boundPod("done");
  await req("PATCH", `${pods}/done/status`, { status: { phase: "Succeeded" } }, merge);
  await req("DELETE", `${pods}/done`);
  t.equal((await req("GET", `${pods}/done`)).statusCode, 404, "a Succeeded pod goes at once");

  // A terminating object with finalizers: removing the last one deletes it (grace 0).
  await req("POST", cms, { metadata: { name: "fin", finalizers: ["example.com/keep"] } });
  const marked = await req("DELETE", `${cms}/fin`);
  t.equal(marked.json().metadata.deletionGracePeriodSeconds, 0);
  t.equal((await req("PATCH", `${cms}/fin`, { metadata: { finalizers: null } }, merge)).statusCode, 200);
  t.equal((await req("GET", `${cms}/fin`)).statusCode, 404, "the last finalizer removed deletes it");
});

t.test("uid and resourceVersion preconditions", async (t) => {
  const made = (await req("POST", cms, { metadata: { name: "pre" }, data: { a: "1" } })).json();
  const wrong = "00000000-0000-0000-0000-000000000000";
  const put = await req("PUT", `${cms}/pre`, { ...made, metadata: { ...made.metadata, uid: wrong } });
  t.equal(put.statusCode, 409);
  t.match(
    put.json().message,
    `Precondition failed: UID in precondition: ${wrong}, UID in object meta: ${made.metadata.uid}`,
  );
  const patched = await req("PATCH", `${cms}/pre`, { metadata: { uid: wrong }, data: { b: "2" } }, merge);
  t.equal(patched.statusCode, 409);
  t.equal(
    (await req("PATCH", `${cms}/pre`, { metadata: { uid: made.metadata.uid } }, merge)).statusCode,
    200,
  );
  const del = await req("DELETE", `${cms}/pre`, { preconditions: { uid: wrong } });
  t.equal(del.statusCode, 409);
  t.match(del.json().message, /the UID in the precondition .* does not match the UID in record/);
  const coll = await req("DELETE", cms, { preconditions: { uid: wrong } });
  t.equal(coll.statusCode, 409, "deletecollection applies preconditions too");

  const stale = await req(
    "PATCH",
    `${cms}/pre`,
    { metadata: { resourceVersion: "1" }, data: { c: "3" } },
    merge,
  );
  t.equal(stale.statusCode, 409);
  t.equal(
    stale.json().message,
    'Operation cannot be fulfilled on configmaps "pre": the object has been modified; please apply your changes to the latest version and try again',
  );
  t.equal((await req("PATCH", `${cms}/pre`, { data: { d: "4" } }, merge)).statusCode, 200);
  const stalePut = await req("PUT", `${cms}/pre`, made);
  t.equal(stalePut.statusCode, 409, "a PUT with a stale resourceVersion");

  // Unconditional writes racing each other are all applied (retried, never 409).
  const racers = await Promise.all(
    Array.from({ length: 12 }, (_, i) =>
      req("PUT", `${cms}/pre`, { metadata: { name: "pre" }, data: { w: String(i) } }),
    ),
  );
  t.same(
    racers.map((r) => r.statusCode),
    racers.map(() => 200),
  );
  const patches = await Promise.all(
    Array.from({ length: 12 }, (_, i) => req("PATCH", `${cms}/pre`, { data: { [`k${i}`]: "v" } }, merge)),
  );
  t.same(
    patches.map((r) => r.statusCode),
    patches.map(() => 200),
  );
  t.equal(
    Object.keys((await req("GET", `${cms}/pre`)).json().data).filter((k) => k.startsWith("k")).length,
    12,
  );
});

t.test("no-op writes write nothing", async (t) => {
  const made = (await req("POST", cms, { metadata: { name: "noop" }, data: { a: "1" } })).json();
  for (let i = 0; i < 3; i++) {
    const r = await req("PATCH", `${cms}/noop`, {}, merge);
    t.equal(r.json().metadata.resourceVersion, made.metadata.resourceVersion);
  }
  const same = await req("PUT", `${cms}/noop`, made);
  t.equal(same.json().metadata.resourceVersion, made.metadata.resourceVersion, "a PUT of the stored object");
  const changed = await req("PATCH", `${cms}/noop`, { data: { a: "2" } }, merge);
  t.not(changed.json().metadata.resourceVersion, made.metadata.resourceVersion);
});

t.test("pod spec immutability, as ValidatePodUpdate", async (t) => {
  t.equal(
    (
      await req(
        "POST",
        pods,
        pod("imm", {
          tolerations: [{ key: "a", operator: "Exists", effect: "NoExecute", tolerationSeconds: 5 }],
        }),
      )
    ).statusCode,
    201,
  );
  const image = await req(
    "PATCH",
    `${pods}/imm`,
    { spec: { containers: [{ name: "c", image: "nginx:1.27" }] } },
    strategic,
  );
  t.equal(image.statusCode, 200, "images may change");
  const seconds = await req(
    "PATCH",
    `${pods}/imm`,
    [{ op: "replace", path: "/spec/tolerations/0/tolerationSeconds", value: 9 }],
    jsonPatch,
  );
  t.equal(seconds.statusCode, 200, "tolerationSeconds may change");
  const added = await req(
    "PATCH",
    `${pods}/imm`,
    [{ op: "add", path: "/spec/tolerations/-", value: { key: "b", operator: "Exists" } }],
    jsonPatch,
  );
  t.equal(added.statusCode, 200, "tolerations may be added");
  const modified = await req(
    "PATCH",
    `${pods}/imm`,
    [{ op: "replace", path: "/spec/tolerations/0/key", value: "z" }],
    jsonPatch,
  );
  t.equal(modified.statusCode, 422);
  t.match(modified.json().message, /existing toleration can not be modified except its tolerationSeconds/);
  const node = await req("PATCH", `${pods}/imm`, { spec: { nodeName: "node-1" } }, merge);
  t.equal(node.statusCode, 422, "nodeName is set by binding only");
  t.match(
    node.json().message,
    "Forbidden: pod updates may not change fields other than `spec.containers[*].image`",
  );
  const resources = await req(
    "PATCH",
    `${pods}/imm`,
    { spec: { containers: [{ name: "c", resources: { limits: { cpu: "1" } } }] } },
    strategic,
  );
  t.equal(resources.statusCode, 422);
  const more = await req(
    "PATCH",
    `${pods}/imm`,
    [{ op: "add", path: "/spec/containers/-", value: { name: "d", image: "x" } }],
    jsonPatch,
  );
  t.match(more.json().message, /pod updates may not add or remove containers/);
  const deadline = await req("PATCH", `${pods}/imm`, { spec: { activeDeadlineSeconds: 100 } }, merge);
  t.equal(deadline.statusCode, 200, deadline.body);
  const raised = await req("PATCH", `${pods}/imm`, { spec: { activeDeadlineSeconds: 200 } }, merge);
  t.match(raised.json().message, /must be less than or equal to previous value/);
});

t.test("services, binding, eviction and DELETE answers", async (t) => {
  const svc = await req("POST", `${NS}/services`, {
    metadata: { name: "s" },
    spec: { ports: [{ port: 80 }] },
  });
  t.same([svc.json().spec.ipFamilies, svc.json().spec.ipFamilyPolicy], [["IPv4"], "SingleStack"]);
  t.equal((await req("DELETE", `${NS}/services/s`)).json().kind, "Service", "services return the object");

  await req("POST", cms, { metadata: { name: "st" } });
  const uid = (await req("GET", `${cms}/st`)).json().metadata.uid;
  const status = await req("DELETE", `${cms}/st`);
  t.same(status.json(), {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Success",
    details: { name: "st", kind: "configmaps", uid },
  });

  const again = await req("POST", `${pods}/g2/binding`, { target: { name: "n" } });
  t.equal(again.statusCode, 404);

  const pdbs = `/apis/policy/v1/namespaces/default/poddisruptionbudgets`;
  const labels = { app: "ev" };
  t.equal(
    (
      await req("POST", pdbs, {
        metadata: { name: "b" },
        spec: { minAvailable: 1, selector: { matchLabels: labels } },
      })
    ).statusCode,
    201,
  );
  const setAllowed = (n: number) =>
    req(
      "PATCH",
      `${pdbs}/b/status`,
      {
        status: {
          disruptionsAllowed: n,
          currentHealthy: 2,
          desiredHealthy: 1,
          expectedPods: 2,
          observedGeneration: 1,
        },
      },
      merge,
    );
  t.equal((await setAllowed(1)).statusCode, 200);
  for (const n of ["e1", "e2"]) {
    await boundPod(n);
    await req("PATCH", `${pods}/${n}`, { metadata: { labels } }, merge);
    await req("PATCH", `${pods}/${n}/status`, { status: { phase: "Running" } }, merge);
  }
  const evict = (n: string) =>
    req("POST", `${pods}/${n}/eviction`, {
      apiVersion: "policy/v1",
      kind: "Eviction",
      metadata: { name: n },
    });
  const first = await evict("e1");
  t.equal(first.statusCode, 201, first.body);
  const pdb = (await req("GET", `${pdbs}/b`)).json();
  t.equal(pdb.status.disruptionsAllowed, 0, "the eviction used the budget");
  t.ok(pdb.status.disruptedPods.e1);
  t.ok((await req("GET", `${pods}/e1`)).json().metadata.deletionTimestamp, "e1 is terminating");
  const second = await evict("e2");
  t.equal(second.statusCode, 429);
  t.match(second.json(), {
    reason: "TooManyRequests",
    details: { causes: [{ reason: "DisruptionBudget" }] },
  });
  t.notOk((await req("GET", `${pods}/e2`)).json().metadata.deletionTimestamp, "e2 stays");
});

t.test("random PATCH bodies never produce a 5xx", async (t) => {
  await req("POST", cms, { metadata: { name: "fz" }, data: { a: "1" } });
  await req("POST", "/api/v1/nodes", { metadata: { name: "fz" } });
  const deep = fc.integer({ min: 1, max: 3000 }).map((n) => `{"a":${"[".repeat(n)}${"]".repeat(n)}}`);
  const op = fc.record({
    op: fc.constantFrom("add", "remove", "replace", "move", "copy", "test", "bogus"),
    path: fc.constantFrom(
      "",
      "/data",
      "/data/a",
      "/metadata",
      "/metadata/labels",
      "/status/config",
      "/x/-",
      "/spec/taints/0",
      "bad",
    ),
    from: fc.constantFrom("/data", "/metadata", "", "/nope"),
    value: fc.jsonValue({ maxDepth: 3 }),
  });
  const body = fc.oneof(
    fc.jsonValue({ maxDepth: 6 }).map((v) => JSON.stringify(v)),
    fc.array(op, { maxLength: 40 }).map((v) => JSON.stringify(v)),
    deep,
    fc
      .integer({ min: 0, max: 200_000 })
      .map((n) => JSON.stringify({ data: { a: "x".repeat(n) }, x: Array(Math.min(n, 50_000)).fill(1) })),
    fc.string(),
  );
  const target = fc.constantFrom(
    `${cms}/fz`,
    "/api/v1/nodes/fz",
    "/api/v1/nodes/fz/status",
    `${cms}/missing`,
  );
  const type = fc.constantFrom(merge, jsonPatch, strategic);
  let runs = 0;
  await fc.assert(
    fc.asyncProperty(target, type, body, async (url, headers, payload) => {
      runs++;
      const r = await req("PATCH", url, payload, headers);
      return r.statusCode < 500;
    }),
    { numRuns: 300 },
  );
  t.comment(`${runs} random patches`);
  await waitFor(async () => (await req("GET", `${cms}/fz`)).statusCode === 200, {
    what: "the server to serve",
  });
  t.pass("never a 5xx");
});
