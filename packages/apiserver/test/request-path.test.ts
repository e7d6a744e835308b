/**
 * The request path's units without a server: the filter chain (kube's order, what each filter
 * lets through), the RequestInfo it resolves, the admission chain and its plugins, and the
 * Versioner. The REST tests cover the same path end to end.
 */
import type { IncomingMessage } from "node:http";
import { type KindDef, type KubeObject, Registry } from "@skiff/api";
import { Registry as MetricsRegistry } from "prom-client";
import t from "tap";
import { AdmissionChain } from "../src/admission/chain.js";
import type { AdmissionPlugin, Attributes, Operation } from "../src/admission/interface.js";
import { newAdmissionChain, orderedPlugins } from "../src/admission/plugins.js";
import { ServiceAccount } from "../src/admission/service-account.js";
import { type Authorizer, authenticator, type RequestAttributes } from "../src/auth.js";
import { defaultHandlerChain } from "../src/filters/chain.js";
import { type FilterRequest, runFilters } from "../src/filters/filter.js";
import { parseServerFlags } from "../src/options.js";
import { QuotaUsage } from "../src/registry/quota-usage.js";
import { resolveRequestInfo } from "../src/request/requestinfo.js";
import { isHealthPath } from "../src/routes/health.js";
import { StatusError } from "../src/status.js";
import type { EtcdKV } from "../src/storage/etcd.js";
import { RegistryStore } from "../src/storage/registry-store.js";
import { InvalidResourceVersion, versioner } from "../src/storage/versioner.js";

const registry = new Registry();
const kindOf = (resource: string) => registry.resource("", "v1", resource) as KindDef;

function recordingAuthorizer(allowed = true): Authorizer & { seen: RequestAttributes[] } {
  const seen: RequestAttributes[] = [];
  return {
    seen,
    authorize: (a) => {
      seen.push(a);
      return { allowed, reason: allowed ? undefined : "no" };
    },
  };
}

function chain(
  o: {
    authorizer?: Authorizer;
    all?: number;
    mutating?: number;
    stopping?: AbortSignal;
    metrics?: MetricsRegistry;
  } = {},
) {
  return defaultHandlerChain({
    registry,
    authenticate: authenticator(new Map([["good", { name: "alice", groups: [] }]])),
    authorizer: o.authorizer ?? recordingAuthorizer(),
    alwaysAllow: isHealthPath,
    maxRequestsInflight: o.all ?? 10,
    maxMutatingRequestsInflight: o.mutating ?? 10,
    notAcceptingNewRequests: o.stopping ?? new AbortController().signal,
    metrics: o.metrics ?? new MetricsRegistry(),
  });
}

/** A request as the fastify hook builds it; `done()` finishes it (frees its in-flight slot). */
function request(method: string, url: string, token?: string) {
  const done: (() => void)[] = [];
  const query = Object.fromEntries(new URLSearchParams(url.split("?")[1] ?? ""));
  const raw = {
    headers: token ? { authorization: `Bearer ${token}` } : {},
    socket: {},
  } as unknown as IncomingMessage;
  const req: FilterRequest = { method, url, query, raw, onDone: (f) => done.push(f) };
  return {
    req,
    done: () => {
      for (const f of done.splice(0)) f();
    },
  };
}

/** The Status code a request gets from the filters; 0 when they let it through. */
function codeOf(filters: ReturnType<typeof chain>, req: FilterRequest): number {
  try {
    runFilters(filters, req);
    return 0;
  } catch (e) {
    if (e instanceof StatusError) return e.code;
    throw e;
  }
}

const cms = "/api/v1/namespaces/default/configmaps";

t.test("the filters run in the order of kube's DefaultBuildHandlerChain", async (t) => {
  t.same(
    chain().map((f) => f.name),
    ["request-info", "retry-after", "authentication", "max-inflight", "authorization"],
  );
});

t.test("an unauthenticated request never reaches the in-flight limit or authorization", async (t) => {
  const authorizer = recordingAuthorizer();
  const filters = chain({ authorizer, all: 0, mutating: 0 });
  t.equal(codeOf(filters, request("GET", cms).req), 401, "401, not the 429 a full limit would give");
  t.equal(codeOf(filters, request("POST", cms, "wrong").req), 401);
  t.equal(authorizer.seen.length, 0, "the authorizer was never asked");
  t.equal(codeOf(filters, request("GET", "/healthz").req), 429, "health paths need no credentials");
});

t.test("shutting down: 503 before anything else is checked", async (t) => {
  const stopping = new AbortController();
  const filters = chain({ stopping: stopping.signal });
  t.equal(codeOf(filters, request("GET", cms).req), 401);
  stopping.abort();
  t.equal(codeOf(filters, request("GET", cms).req), 503, "even without credentials");
});

t.test(
  "max in-flight: watches are exempt; reads and writes count apart; a finished request frees its slot",
  async (t) => {
    const metrics = new MetricsRegistry();
    const filters = chain({ all: 1, mutating: 1, metrics });
    const gauge = async () =>
      (await metrics.getSingleMetric("apiserver_current_inflight_requests")?.get())?.values
        .map((v) => `${v.labels.request_kind}=${v.value}`)
        .sort();
    const first = request("GET", cms, "good");
    t.equal(codeOf(filters, first.req), 0);
    t.equal(
      codeOf(filters, request("GET", `${cms}?watch=true`, "good").req),
      0,
      "a watch while reads are full",
    );
    t.equal(codeOf(filters, request("GET", `${cms}?watch=1&resourceVersion=5`, "good").req), 0);
    t.equal(codeOf(filters, request("GET", `${cms}/x`, "good").req), 429, "a get is not long-running");
    const write = request("POST", cms, "good");
    t.equal(codeOf(filters, write.req), 0, "writes have their own limit");
    t.equal(codeOf(filters, request("DELETE", `${cms}/x`, "good").req), 429);
    t.same(
      await gauge(),
      ["mutating=1", "readOnly=1"],
      "apiserver_current_inflight_requests (watches not counted)",
    );
    first.done();
    t.equal(codeOf(filters, request("GET", cms, "good").req), 0, "the finished read's slot is free again");
    write.done();
    t.equal(codeOf(filters, request("PATCH", `${cms}/x`, "good").req), 0);
  },
);

t.test("authorization sees kube's RequestInfo; a denial is a 403", async (t) => {
  const authorizer = recordingAuthorizer();
  const filters = chain({ authorizer });
  for (const [method, url] of [
    ["POST", cms],
    ["GET", cms],
    ["GET", `${cms}?watch=true`],
    ["GET", `${cms}/x?watch=true`],
    ["PUT", `${cms}/x`],
    ["PATCH", `${cms}/x`],
    ["DELETE", `${cms}/x`],
    ["DELETE", cms],
    ["PUT", "/apis/apps/v1/namespaces/ns1/deployments/web/scale"],
    ["GET", "/api/v1/nodes/n1/status"],
    ["GET", "/version"],
    ["GET", "/apis/apps/v1"],
  ] as const)
    t.equal(codeOf(filters, request(method, url, "good").req), 0, `${method} ${url}`);
  t.same(
    authorizer.seen.map((a) =>
      [a.verb, a.isResourceRequest ? `${a.group}/${a.resource}` : a.path, a.subresource, a.namespace, a.name]
        .filter((x) => x !== undefined)
        .join(" "),
    ),
    [
      "create /configmaps default",
      "list /configmaps default",
      "watch /configmaps default",
      "get /configmaps default x",
      "update /configmaps default x",
      "patch /configmaps default x",
      "delete /configmaps default x",
      "deletecollection /configmaps default",
      "update apps/deployments scale ns1 web",
      "get /nodes status n1",
      "get /apis/apps/v1",
    ],
    "GET /version is system:public-info-viewer's, not the authorizer's",
  );
  t.same(
    authorizer.seen[0]?.user,
    { name: "alice", groups: ["system:authenticated"] },
    "kube adds the group",
  );
  authorizer.seen.length = 0;
  codeOf(filters, request("GET", "/api/v1/nothings", "good").req);
  t.equal(authorizer.seen.length, 0, "a path naming nothing served goes on to its 404");

  const denied = chain({ authorizer: recordingAuthorizer(false) });
  const e = t.throws(() => runFilters(denied, request("DELETE", `${cms}/x`, "good").req)) as StatusError;
  t.match(e, {
    code: 403,
    message:
      'configmaps "x" is forbidden: User "alice" cannot delete resource "configmaps" in API group "" in the namespace "default": no',
    details: { name: "x", kind: "configmaps" },
  });
  const p = t.throws(() => runFilters(denied, request("GET", "/api", "good").req)) as StatusError;
  t.match(p, { code: 403, message: 'forbidden: User "alice" cannot get path "/api": no' });
  t.equal(codeOf(denied, request("GET", "/version", "good").req), 0, "/version is public info");
});

t.test("RequestInfo: paths as kube-apiserver routes them", async (t) => {
  const info = (method: string, url: string) => resolveRequestInfo(registry, method, url, {});
  t.match(info("GET", "/api/v1/namespaces/default/pods/p1/status"), {
    isResourceRequest: true,
    verb: "get",
    target: { kind: { kind: "Pod" }, namespace: "default", name: "p1", subresource: "status" },
  });
  t.match(info("GET", "/api/v1/namespaces/team"), {
    verb: "get",
    target: { kind: { kind: "Namespace" }, namespace: undefined, name: "team" },
  });
  t.match(info("GET", "/api/v1/pods"), { verb: "list", target: { namespace: undefined, name: undefined } });
  t.match(info("GET", "/apis/apps/v1/namespaces/a/deployments"), {
    apiGroup: "apps",
    apiVersion: "v1",
    target: { kind: { kind: "Deployment" }, namespace: "a" },
  });
  t.match(info("GET", "/api/v1/namespaces/a/configmaps/b%2Fc"), { target: { name: "b/c" } }, "decoded once");
  for (const url of [
    "/api/v1/pods/x",
    "/api/v1/nothings",
    "/apis/nope/v1/things",
    "/api/v1/",
    "/api/v1/namespaces/a/configmaps/%E0%A4",
  ])
    t.match(info("GET", url), { isResourceRequest: true, target: undefined }, `${url} names nothing served`);
  for (const url of ["/api", "/api/v1", "/apis/apps/v1", "/version", "/openapi/v3/api/v1"])
    t.match(info("POST", url), { isResourceRequest: false, verb: "post", target: undefined }, url);
});

/** A store with nothing in it (the plugins' constructors only keep it). */
const emptyKv: EtcdKV = {
  range: async () => ({ revision: 1, kvs: [], more: false, count: 0 }),
  txn: async () => ({ succeeded: true, revision: 2, gets: [] }),
  leaseGrant: async () => "1",
  watch: () => ({ cancel() {} }),
  close() {},
};

function attrs(
  operation: Operation,
  kind: KindDef,
  object?: KubeObject,
  extra: Partial<Attributes> = {},
): Attributes {
  return {
    operation,
    kind,
    namespace: "default",
    name: object?.metadata.name ?? "x",
    subresource: undefined,
    object,
    oldObject: undefined,
    userInfo: undefined,
    dryRun: false,
    writes: [],
    ...extra,
  };
}

t.test("admission plugins are registered by name in kube's order", async (t) => {
  const names = [
    "NamespaceLifecycle",
    "LimitRanger",
    "ServiceAccount",
    "Priority",
    "DefaultTolerationSeconds",
    "ResourceQuota",
  ];
  t.same(
    orderedPlugins.map((p) => p.name),
    names,
  );
  const store = new RegistryStore(emptyKv);
  const built = newAdmissionChain({
    registry,
    store,
    cache: undefined,
    quotaUsage: new QuotaUsage(registry, store),
  });
  t.same(
    built.plugins.map((p) => p.name),
    names,
  );
  // kube-apiserver's --disable-admission-plugins.
  const deps = { registry, store, cache: undefined, quotaUsage: new QuotaUsage(registry, store) };
  const flags = parseServerFlags(["--disable-admission-plugins", "ServiceAccount,Priority"]);
  t.same(flags.disableAdmissionPlugins, ["ServiceAccount", "Priority"]);
  t.same(
    newAdmissionChain(deps, flags.disableAdmissionPlugins).plugins.map((p) => p.name),
    names.filter((n) => n !== "ServiceAccount" && n !== "Priority"),
  );
  t.same(parseServerFlags([]).disableAdmissionPlugins, [], "none by default");
  t.throws(() => parseServerFlags(["--disable-admission-plugins=Nope"]), {
    message: 'disable-admission-plugins plugin "Nope" is unknown',
  });
});

t.test(
  "the admission chain: every admit before any validate, in order, for the operations each handles",
  async (t) => {
    const calls: string[] = [];
    const plugin = (name: string, ops: Operation[], write?: number): AdmissionPlugin => ({
      name,
      handles: (op) => ops.includes(op),
      admit: async () => void calls.push(`${name}.admit`),
      validate: async (a) => {
        calls.push(`${name}.validate`);
        if (write !== undefined) a.writes.push({ key: name, value: Buffer.from(""), modRevision: write });
      },
    });
    const c = new AdmissionChain([
      plugin("A", ["CREATE"]),
      plugin("B", ["CREATE", "DELETE"], 7),
      plugin("C", ["UPDATE"]),
    ]);
    const a = attrs("CREATE", kindOf("configmaps"));
    await c.admit(a);
    const writes = await c.validate(a);
    t.same(calls, ["A.admit", "B.admit", "A.validate", "B.validate"]);
    t.same(
      writes.map((w) => w.key),
      ["B"],
    );
    t.same(
      (await c.validate(a)).map((w) => w.key),
      ["B"],
      "validating again (a retried write) starts from no writes",
    );
    calls.length = 0;
    await c.admit(attrs("DELETE", kindOf("configmaps")));
    t.same(calls, ["B.admit"]);
  },
);

t.test("ServiceAccount: a new pod without a service account runs as default", async (t) => {
  const sa = new ServiceAccount();
  const pod = (spec: Record<string, unknown>, annotations?: Record<string, string>): KubeObject => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "p", namespace: "default", annotations },
    spec: { containers: [{ name: "c", image: "busybox" }], ...spec },
  });
  t.ok(sa.handles("CREATE"));
  t.notOk(sa.handles("UPDATE"), "only creates: a pod's service account cannot change");
  const plain = pod({});
  await sa.admit(attrs("CREATE", kindOf("pods"), plain));
  t.equal((plain.spec as { serviceAccountName?: string }).serviceAccountName, "default");
  const empty = pod({ serviceAccountName: "" });
  await sa.admit(attrs("CREATE", kindOf("pods"), empty));
  t.equal((empty.spec as { serviceAccountName?: string }).serviceAccountName, "default");
  const named = pod({ serviceAccountName: "builder" });
  await sa.admit(attrs("CREATE", kindOf("pods"), named));
  t.equal(
    (named.spec as { serviceAccountName?: string }).serviceAccountName,
    "builder",
    "a named one is kept",
  );
  const mirror = pod({}, { "kubernetes.io/config.mirror": "abc" });
  await sa.admit(attrs("CREATE", kindOf("pods"), mirror));
  t.notOk((mirror.spec as { serviceAccountName?: string }).serviceAccountName, "mirror pods are left alone");
  const other: KubeObject = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c" } };
  await sa.admit(attrs("CREATE", kindOf("configmaps"), other));
  t.same(other, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c" } }, "other kinds untouched");
});

t.test("Versioner: the one conversion between resourceVersion and store revisions", async (t) => {
  t.equal(versioner.parseResourceVersion(undefined), 0);
  t.equal(versioner.parseResourceVersion(""), 0, '"" means any');
  t.equal(versioner.parseResourceVersion("0"), 0, '"0" means any');
  t.equal(versioner.parseResourceVersion("42"), 42);
  const e = t.throws(() => versioner.parseResourceVersion("abc"));
  t.ok(e instanceof InvalidResourceVersion);
  t.equal(
    (e as Error).message,
    'resourceVersion: Invalid value: "abc": strconv.ParseUint: parsing "abc": invalid syntax',
    "kube's storage.InvalidError text",
  );
  for (const bad of ["-1", "1.5", " 7", "1e3", "0x10"])
    t.throws(() => versioner.parseResourceVersion(bad), InvalidResourceVersion, JSON.stringify(bad));
  t.throws(
    () => versioner.parseResourceVersion("99999999999999999999"),
    { message: /value out of range/ },
    "beyond what a number holds exactly",
  );

  const obj: KubeObject = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c" } };
  t.equal(versioner.objectResourceVersion(obj), 0, "no resourceVersion is 0");
  versioner.updateObject(obj, 17);
  t.equal(obj.metadata.resourceVersion, "17");
  t.equal(versioner.objectResourceVersion(obj), 17);
  const stored = versioner.prepareObjectForStorage(obj);
  t.notOk("resourceVersion" in stored.metadata, "never part of the stored value");
  t.equal(obj.metadata.resourceVersion, "17", "the input is left as it is");
  t.equal(versioner.withRevision(obj, 18).metadata.resourceVersion, "18");
  t.equal(obj.metadata.resourceVersion, "17");
  versioner.updateObject(obj, 0);
  t.notOk("resourceVersion" in obj.metadata, "0 clears it, as kube's UpdateObject");
  obj.metadata.resourceVersion = "x1";
  t.throws(() => versioner.objectResourceVersion(obj), InvalidResourceVersion);
  t.equal(versioner.listResourceVersion(5), "5");
  t.throws(() => versioner.listResourceVersion(0), /illegal resource version from storage: 0/);
  const kv = { key: Buffer.from("k"), value: Buffer.from("{}"), mod_revision: "23", create_revision: "20" };
  t.equal(versioner.modRevision(kv), 23);
  t.equal(versioner.storedResourceVersion(kv), "23");
});
