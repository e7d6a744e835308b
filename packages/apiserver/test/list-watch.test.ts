/**
 * Lists and watches as kube-apiserver 1.32 serves them: watch parameters, continue tokens confined
 * to their list, resourceVersion semantics and errors, bookmarks and initial events, metadata-only
 * answers and field selectors; all through the API server on the embedded store.
 */
import t from "tap";
import { authenticator } from "../src/auth.js";
import { encodeContinue } from "../src/handlers/continue.js";
import { type ApiServer, createApiServer } from "../src/server.js";
import { embeddedBackend } from "./backends.js";
import { controllersForApp } from "./controller-manager.js";

const auth = { authorization: "Bearer tok" };
const json = { ...auth, "content-type": "application/json" };

interface Event {
  type: string;
  object: {
    kind: string;
    apiVersion: string;
    code?: number;
    reason?: string;
    details?: { causes?: { reason: string }[] };
    metadata: { name?: string; resourceVersion?: string; annotations?: Record<string, string> };
  };
}

let server: ApiServer;
t.before(async () => {
  const backend = await embeddedBackend();
  const kv = backend.kv?.();
  if (kv === undefined) throw new Error("no in-process store");
  server = await createApiServer({
    kv,
    authenticate: authenticator(new Map([["tok", { name: "a", groups: [] }]])),
  });
  // The pods below need the default ServiceAccount (the controller manager's).
  const controllers = await controllersForApp(server, "tok");
  t.teardown(async () => {
    await controllers.stop();
    await server.close();
    kv.close();
    await backend.stop();
  });
});

const req = (method: string, url: string, body?: unknown, headers: Record<string, string> = json) =>
  server.app.inject({
    method: method as "GET",
    url,
    headers,
    ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
  });
const cm = (name: string, data: Record<string, string> = {}) => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name },
  data,
});
/** A watch's events; timeoutSeconds (1 s unless told) ends it. */
const watch = async (url: string, headers: Record<string, string> = auth, seconds = 1): Promise<Event[]> =>
  (await req("GET", `${url}&timeoutSeconds=${seconds}`, undefined, headers)).body
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as Event);
const names = (es: Event[]) => es.map((e) => `${e.type} ${e.object.metadata.name ?? ""}`);
const token = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");

t.test("watch parameters are booleans as kube converts them", async (t) => {
  await req("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: "wp" } });
  await req("POST", "/api/v1/namespaces/wp/configmaps", cm("a"));
  for (const w of ["True", "1", "true", ""]) {
    const es = await watch(`/api/v1/namespaces/wp/configmaps?watch=${w}`);
    t.same(names(es), ["ADDED a"], `watch=${w} is a watch`);
  }
  const list = (await req("GET", "/api/v1/namespaces/wp/configmaps?watch=False")).json();
  t.equal(list.kind, "ConfigMapList", "watch=False is a list");
  const marks = await watch("/api/v1/namespaces/wp/configmaps?watch=1&allowWatchBookmarks=True");
  t.same(
    marks.map((e) => e.type),
    ["ADDED", "BOOKMARK"],
    "allowWatchBookmarks=True",
  );
});

t.test("continue tokens stay within their list", async (t) => {
  for (const ns of ["c1", "c2"]) {
    await req("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
    for (const n of ["a", "b", "c"]) await req("POST", `/api/v1/namespaces/${ns}/configmaps`, cm(n));
  }
  const url = "/api/v1/namespaces/c1/configmaps";
  const first = (await req("GET", `${url}?limit=2`)).json();
  const decoded = JSON.parse(Buffer.from(first.metadata.continue, "base64url").toString());
  t.match(decoded, { v: "meta.k8s.io/v1", start: "b\u0000" }, "the start key is relative to the list");
  const rest = (await req("GET", `${url}?limit=2&continue=${first.metadata.continue}`)).json();
  t.same(
    rest.items.map((o: { metadata: { name: string } }) => o.metadata.name),
    ["c"],
  );
  const rv = Number(first.metadata.resourceVersion);
  for (const start of ["../c2/a", "/registry/", "../../leases/", "a/../../c2/a", "a//b", "."]) {
    const r = await req("GET", `${url}?limit=5&continue=${token({ v: "meta.k8s.io/v1", rv, start })}`);
    t.equal(r.statusCode, 400, `start ${JSON.stringify(start)} is refused`);
    t.match(r.json().message, /^invalid continue token: continue key is not valid/);
  }
  // A key that stays inside the prefix only moves within this namespace's configmaps.
  const inside = await req(
    "GET",
    `${url}?limit=5&continue=${token({ v: "meta.k8s.io/v1", rv, start: "registry/x" })}`,
  );
  t.equal(inside.statusCode, 200);
  t.same(inside.json().items, [], "nothing of other namespaces or resources");
  const all = (await req("GET", "/api/v1/configmaps?limit=1")).json();
  const fromAll = await req("GET", `${url}?limit=5&continue=${all.metadata.continue}`);
  t.ok(
    fromAll.json().items.every((o: { metadata: { namespace: string } }) => o.metadata.namespace === "c1"),
    "a token of another list cannot reach beyond this one",
  );
  for (const bad of [
    "!!!",
    token({ v: "v2", rv: 1, start: "a" }),
    token({ v: "meta.k8s.io/v1", rv: 0, start: "a" }),
  ])
    t.equal((await req("GET", `${url}?continue=${bad}`)).statusCode, 400, `malformed token ${bad}`);
  t.equal(
    (await req("GET", `${url}?continue=${first.metadata.continue}&resourceVersion=5`)).statusCode,
    400,
    "a resourceVersion with continue",
  );
  t.throws(
    () => encodeContinue(1, "/registry/pods/x", "/registry/configmaps/"),
    "keys outside the prefix are never encoded",
  );
});

t.test("resourceVersion and the other list options are checked as kube does", async (t) => {
  const url = "/api/v1/namespaces/default/configmaps";
  const bad = await req("GET", `${url}?resourceVersion=abc`);
  t.equal(bad.statusCode, 400);
  t.match(bad.json().message, /^invalid resource version: resourceVersion: Invalid value: "abc"/);
  const noRv = await req("GET", `${url}?resourceVersionMatch=NotOlderThan`);
  t.equal(noRv.statusCode, 422);
  t.match(noRv.json(), {
    reason: "Invalid",
    message:
      'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided',
    details: { group: "meta.k8s.io", kind: "ListOptions" },
  });
  const unknown = await req("GET", `${url}?resourceVersion=1&resourceVersionMatch=Newest`);
  t.equal(unknown.statusCode, 422);
  t.match(
    unknown.json().message,
    /Unsupported value: "Newest": supported values: "Exact", "NotOlderThan", ""/,
  );
  t.equal((await req("GET", `${url}?resourceVersion=0&resourceVersionMatch=Exact`)).statusCode, 422);
  t.equal((await req("GET", `${url}?sendInitialEvents=true`)).statusCode, 422, "sendInitialEvents on a list");
  const tmo = await req("GET", `${url}?watch=true&timeoutSeconds=abc`);
  t.equal(tmo.statusCode, 400);
  t.equal(tmo.json().message, 'strconv.ParseInt: parsing "abc": invalid syntax');
  t.equal((await req("GET", `${url}?limit=x`)).statusCode, 400);
  const watchBadRv = await req("GET", `${url}?watch=true&resourceVersion=abc`);
  t.equal(watchBadRv.statusCode, 422, "a watch's unparsable resourceVersion (kube's InterpretWatchError)");
  t.match(watchBadRv.json().message, /^configmaps "" is invalid: resourceVersion: Invalid value: "abc"/);

  const now = Number((await req("GET", url)).json().metadata.resourceVersion);
  const exact = await req("GET", `${url}?resourceVersion=${now + 1000}&resourceVersionMatch=Exact`);
  t.equal(exact.statusCode, 504, "Exact from the future");
  t.match(exact.json(), {
    reason: "Timeout",
    message: `Timeout: Too large resource version: ${now + 1000}, current: ${now}`,
    details: { causes: [{ reason: "ResourceVersionTooLarge", message: "Too large resource version" }] },
  });
  const started = Date.now();
  const future = await req("GET", `${url}?resourceVersion=${now + 1000}&resourceVersionMatch=NotOlderThan`);
  t.comment(`NotOlderThan from the future answered after ${Date.now() - started} ms`);
  t.equal(future.statusCode, 504, "NotOlderThan from the future, after waiting");
  t.match(future.json().details.causes, [{ reason: "ResourceVersionTooLarge" }]);
  const current = await req("GET", `${url}?resourceVersion=${now}&resourceVersionMatch=NotOlderThan`);
  t.equal(current.statusCode, 200, "NotOlderThan the latest revision: the cache catches up");
  t.ok(Number(current.json().metadata.resourceVersion) >= now);
  const fw = await watch(
    `${url}?watch=true&resourceVersion=${now + 1000}&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true`,
    auth,
    10,
  );
  t.match(
    fw,
    [{ type: "ERROR", object: { code: 504, reason: "Timeout" } }],
    "initial events from the future",
  );
  // A plain watch from a revision not reached yet is accepted (kube's cacher lets the client wait):
  // it gets the events after that revision, none at or before it.
  const base = Number((await req("GET", url)).json().metadata.resourceVersion);
  const pending = watch(`${url}?watch=true&resourceVersion=${base + 2}`, auth, 3);
  const made: number[] = [];
  for (const n of ["f1", "f2", "f3"])
    made.push(Number((await req("POST", url, cm(n))).json().metadata.resourceVersion));
  const later = (await pending).filter((e) => e.type !== "BOOKMARK");
  t.same(
    later.map((e) => Number(e.object.metadata.resourceVersion)),
    made.filter((r) => r > base + 2),
    "a watch from the future: only what comes after its revision",
  );
  t.ok(later.length >= 1, "and those do come");
});

t.test("bookmarks and initial events", async (t) => {
  const deploy = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "d", labels: { app: "d" } },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: "d" } },
      template: { metadata: { labels: { app: "d" } }, spec: { containers: [{ name: "c", image: "x" }] } },
    },
  };
  t.equal((await req("POST", "/apis/apps/v1/namespaces/default/deployments", deploy)).statusCode, 201);
  const url = "/apis/apps/v1/namespaces/default/deployments?watch=true&allowWatchBookmarks=true";
  const es = await watch(url);
  t.match(
    es.find((e) => e.type === "BOOKMARK"),
    { object: { kind: "Deployment", apiVersion: "apps/v1" } },
    "a bookmark names the kind's own apiVersion",
  );
  const initial = await watch(`${url}&sendInitialEvents=true&resourceVersionMatch=NotOlderThan`);
  t.same(
    initial.map((e) => e.type),
    ["ADDED", "BOOKMARK"],
  );
  t.same(initial[1]?.object.metadata.annotations, { "k8s.io/initial-events-end": "true" });
  t.equal((await req("GET", `${url}&sendInitialEvents=true`)).statusCode, 422, "needs NotOlderThan");
  t.equal(
    (await req("GET", `${url}&resourceVersionMatch=NotOlderThan`)).statusCode,
    422,
    "needs sendInitialEvents",
  );
  const none = await watch(`${url}&sendInitialEvents=false&resourceVersionMatch=NotOlderThan`);
  t.notOk(
    none.some((e) => e.type === "ADDED"),
    "sendInitialEvents=false: no initial events",
  );
});

t.test("a watch from a list's resourceVersion: every later event once, in order", async (t) => {
  const url = "/api/v1/namespaces/default/configmaps";
  await req("POST", url, cm("before"));
  const rv = (await req("GET", url)).json().metadata.resourceVersion;
  await req("POST", url, cm("w1"));
  await req(
    "PATCH",
    `${url}/w1`,
    { data: { x: "1" } },
    { ...auth, "content-type": "application/merge-patch+json" },
  );
  await req("DELETE", `${url}/w1`);
  await req("DELETE", `${url}/before`);
  // resourceVersion=0 may be served by a cache that lags (as kube's): it may still hold w1, but
  // nothing in it may be newer than the revision the list itself reports.
  const cached = (await req("GET", `${url}?resourceVersion=0`)).json();
  const listRv = Number(cached.metadata.resourceVersion);
  t.notOk(
    cached.items.some(
      (o: { metadata: { resourceVersion: string } }) => Number(o.metadata.resourceVersion) > listRv,
    ),
    "a cached list has nothing newer than its revision",
  );
  const es = await watch(`${url}?watch=true&resourceVersion=${rv}`);
  t.same(names(es), ["ADDED w1", "MODIFIED w1", "DELETED w1", "DELETED before"]);
  t.ok(
    es.every((e) => Number(e.object.metadata.resourceVersion) > Number(rv)),
    "nothing at or below the revision",
  );
});

t.test("metadata-only lists, gets and watches", async (t) => {
  const url = "/api/v1/namespaces/default/configmaps";
  await req("POST", url, cm("m", { secret: "s" }));
  const accept = (as: string) => ({ ...auth, accept: `application/json;as=${as};g=meta.k8s.io;v=v1` });
  const l = await req("GET", url, undefined, accept("PartialObjectMetadataList"));
  t.equal(l.statusCode, 200);
  const list = l.json();
  t.match(list, {
    kind: "PartialObjectMetadataList",
    apiVersion: "meta.k8s.io/v1",
    metadata: { resourceVersion: /^\d+$/ },
  });
  const item = list.items.find((o: { metadata: { name: string } }) => o.metadata.name === "m");
  t.same(Object.keys(item).sort(), ["apiVersion", "kind", "metadata"], "only metadata");
  t.equal(item.kind, "PartialObjectMetadata");
  const one = (await req("GET", `${url}/m`, undefined, accept("PartialObjectMetadata"))).json();
  t.match(one, { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: { name: "m" } });
  t.notOk("data" in one);
  t.equal(
    (await req("GET", url, undefined, accept("PartialObjectMetadata"))).statusCode,
    406,
    "a list as an object",
  );
  const unknown = await req("GET", url, undefined, accept("Bogus"));
  t.equal(unknown.statusCode, 406);
  t.match(unknown.json(), { reason: "NotAcceptable" });
  t.equal(
    (
      await req("GET", url, undefined, {
        ...auth,
        accept: "application/json;as=Bogus;g=meta.k8s.io;v=v1,application/json",
      })
    ).statusCode,
    200,
    "a later acceptable clause is used",
  );
  const es = await watch(
    `${url}?watch=true&fieldSelector=metadata.name%3Dm`,
    accept("PartialObjectMetadata"),
  );
  t.match(es, [{ type: "ADDED", object: { kind: "PartialObjectMetadata", metadata: { name: "m" } } }]);
  t.notOk("data" in (es[0]?.object ?? {}));
  const marks = await watch(`${url}?watch=true&allowWatchBookmarks=true`, accept("PartialObjectMetadata"));
  t.match(
    marks.find((e) => e.type === "BOOKMARK"),
    {
      object: {
        kind: "PartialObjectMetadata",
        apiVersion: "meta.k8s.io/v1",
        metadata: { resourceVersion: /^\d+$/ },
      },
    },
    "bookmarks of a metadata-only watch are PartialObjectMetadata",
  );
});

t.test("field selectors kubelet and kube-proxy send", async (t) => {
  const svc = (name: string, spec: Record<string, unknown>) => ({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name },
    spec: { ports: [{ port: 80 }], ...spec },
  });
  await req("POST", "/api/v1/namespaces/default/services", svc("ip", {}));
  await req("POST", "/api/v1/namespaces/default/services", svc("headless", { clusterIP: "None" }));
  await req("POST", "/api/v1/namespaces/default/services", svc("np", { type: "NodePort" }));
  const sel = async (url: string, s: string) => {
    const r = await req("GET", `${url}?fieldSelector=${encodeURIComponent(s)}`);
    t.equal(r.statusCode, 200, s);
    return r
      .json()
      .items.map((o: { metadata: { name: string } }) => o.metadata.name)
      .sort();
  };
  const svcs = "/api/v1/namespaces/default/services";
  t.same(await sel(svcs, "spec.clusterIP!=None"), ["ip", "np"]);
  t.same(await sel(svcs, "spec.clusterIP=None"), ["headless"]);
  t.same(await sel(svcs, "spec.type=NodePort"), ["np"]);
  const pod = (name: string, nodeName?: string) => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name },
    spec: { ...(nodeName ? { nodeName } : {}), containers: [{ name: "c", image: "x" }] },
  });
  await req("POST", "/api/v1/namespaces/default/pods", pod("p1", "n1"));
  await req("POST", "/api/v1/namespaces/default/pods", pod("p2"));
  t.same(await sel("/api/v1/pods", "spec.nodeName=n1"), ["p1"]);
  t.same(await sel("/api/v1/pods", "spec.nodeName=,metadata.namespace=default"), ["p2"]);
  t.same(
    await sel(
      "/api/v1/pods",
      "status.phase=Pending,spec.restartPolicy=Always,spec.schedulerName=default-scheduler",
    ),
    ["p1", "p2"],
  );
  t.same(await sel("/api/v1/pods", "status.podIP=,status.nominatedNodeName=,spec.hostNetwork=false"), [
    "p1",
    "p2",
  ]);
  await req("POST", "/api/v1/nodes", { apiVersion: "v1", kind: "Node", metadata: { name: "n1" } });
  t.same(await sel("/api/v1/nodes", "spec.unschedulable=false"), ["n1"]);
  const bad = await req("GET", "/api/v1/pods?fieldSelector=spec.foo%3Dx");
  t.equal(bad.statusCode, 400);
  t.equal(bad.json().message, "field label not supported: spec.foo");
  const cmBad = await req("GET", "/api/v1/configmaps?fieldSelector=data.x%3Dy");
  t.equal(
    cmBad.json().message,
    '"data.x" is not a known field selector: only "metadata.name", "metadata.namespace"',
  );
});
