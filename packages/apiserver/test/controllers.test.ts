/**
 * The API server's side of the namespace lifecycle and of quota, with the controller manager's
 * namespace, serviceaccount, root CA and resource quota controllers beside it (as `skiff server`
 * runs them): DELETE marks a namespace and refuses new content, the controllers empty it through
 * the normal API (releasing cluster IPs and node ports) and finalize it, a controller started
 * later resumes a deletion, the ServiceAccount admission plugin waits for "default", quota is
 * charged at admission and recalculated by the controller; and the controller the API server
 * still runs itself, the `default/kubernetes` Service, on the shared loop. Against the embedded
 * store, through fastify.inject.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { waitFor } from "@skiff/testkit";
import t from "tap";
import { authenticator } from "../src/auth.js";
import { type Clock, ControllerLoop } from "../src/controllers/loop.js";
import { startServer } from "../src/main.js";
import { type ApiServer, createApiServer } from "../src/server.js";
import type { EtcdKV } from "../src/storage/etcd.js";
import { embeddedBackend } from "./backends.js";
import { controllersFor, controllersForApp, type RunningControllers } from "./controller-manager.js";
import { kubectlRunner, kubectlSkip } from "./kubectl-runner.js";

const TOKEN = "test-token";
const headers = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };
// biome-ignore lint/suspicious/noExplicitAny: answers are read field by field
type Json = Record<string, any>;

/** A clock whose timers run only when the test advances it. */
class FakeClock implements Clock {
  private t = 0;
  private timers: { at: number; f: () => void; id: number }[] = [];
  private next = 0;
  now = () => this.t;
  setTimeout = (f: () => void, ms: number) => {
    const id = this.next++;
    this.timers.push({ at: this.t + ms, f, id });
    return id;
  };
  clearTimeout = (id: unknown) => {
    this.timers = this.timers.filter((x) => x.id !== id);
  };
  advance(ms: number): void {
    this.t += ms;
    const due = this.timers.filter((x) => x.at <= this.t);
    this.timers = this.timers.filter((x) => x.at > this.t);
    for (const x of due) x.f();
  }
}

t.test("the loop: deduplicated keys, one sync per key at a time, backoff on failure", async (t) => {
  const clock = new FakeClock();
  const calls: string[] = [];
  let fail = 2;
  let release: (() => void) | undefined;
  const loop = new ControllerLoop({
    name: "test",
    clock,
    resyncMs: 0,
    workers: 4,
    listKeys: async () => [],
    sync: async (key) => {
      calls.push(key);
      if (key === "slow") await new Promise<void>((r) => (release = r));
      if (key === "flaky" && fail-- > 0) throw new Error("not yet");
      return undefined;
    },
  });
  loop.start();
  loop.add("slow");
  await waitFor(() => release !== undefined, { what: "the slow sync to start" });
  loop.add("slow");
  loop.add("slow");
  t.same(calls, ["slow"], "a key being synced is not synced twice at once");
  release?.();
  await waitFor(() => calls.length === 2, { what: "the slow key's second pass" });
  t.same(calls, ["slow", "slow"], "keys added meanwhile give one more pass");
  release?.();
  loop.add("flaky");
  await waitFor(() => calls.filter((c) => c === "flaky").length === 1, { what: "first flaky sync" });
  await new Promise((r) => setImmediate(r));
  t.equal(calls.filter((c) => c === "flaky").length, 1, "no retry before the backoff");
  clock.advance(5);
  await waitFor(() => calls.filter((c) => c === "flaky").length === 2, { what: "retry after 5 ms" });
  await new Promise((r) => setImmediate(r));
  clock.advance(5);
  t.equal(calls.filter((c) => c === "flaky").length, 2, "the second retry waits 10 ms");
  clock.advance(5);
  await waitFor(() => calls.filter((c) => c === "flaky").length === 3, { what: "retry after 10 ms" });
  await loop.stop();
  loop.add("after");
  t.notOk(calls.includes("after"), "nothing runs after stop");
});

/** Tries a quota's store key the moment before every write guarded by it: it always loses the race. */
function racingKv(kv: EtcdKV, on: { racing: boolean }): EtcdKV {
  return {
    range: (k, o) => kv.range(k, o),
    watch: (p, r, cb) => kv.watch(p, r, cb),
    leaseGrant: (ttl) => kv.leaseGrant(ttl),
    close: () => kv.close(),
    async txn(compares, success, failure) {
      if (on.racing)
        for (const c of compares)
          if (c.target === "mod" && c.key.startsWith("/registry/resourcequotas/")) {
            const cur = (await kv.range(c.key)).kvs[0];
            if (cur !== undefined) await kv.txn([], [{ put: { key: c.key, value: cur.value } }]);
          }
      return kv.txn(compares, success, failure);
    },
  };
}

t.test("namespace lifecycle, quota and default objects", async (t) => {
  const backend = await embeddedBackend();
  const kv = backend.kv?.() as EtcdKV;
  const race = { racing: false };
  let controllers: RunningControllers | undefined;
  /** A server, with the controller manager's controllers unless `withControllers` is false. */
  const open = async (withControllers = true) => {
    const server = await createApiServer({
      kv: racingKv(kv, race),
      authenticate: authenticator(new Map([[TOKEN, { name: "admin", groups: ["system:masters"] }]])),
    });
    controllers = withControllers ? await controllersForApp(server, TOKEN) : undefined;
    return server;
  };
  const close = async () => {
    await controllers?.stop();
    await server.close();
  };
  let server: ApiServer = await open();
  t.teardown(async () => {
    await close();
    kv.close();
    await backend.stop();
  });
  const req = async (method: string, url: string, body?: unknown) => {
    const r = await server.app.inject({
      method: method as "GET",
      url,
      headers,
      payload: body === undefined ? undefined : JSON.stringify(body),
    });
    return { code: r.statusCode, body: r.body === "" ? {} : (r.json() as Json) };
  };
  const mkns = (name: string) => req("POST", "/api/v1/namespaces", { metadata: { name } });
  const gone = (url: string, what: string) =>
    waitFor(async () => (await req("GET", url)).code === 404, { what, intervalMs: 50 });

  await t.test("a dry run or a failed precondition deletes nothing", async (t) => {
    await mkns("dry");
    await req("POST", "/api/v1/namespaces/dry/configmaps", { metadata: { name: "c" } });
    const dry = await req("DELETE", "/api/v1/namespaces/dry?dryRun=All");
    t.equal(dry.code, 200);
    t.equal(dry.body.status.phase, "Terminating", "the answer shows what would happen");
    t.ok(dry.body.metadata.deletionTimestamp);
    const body = await req("DELETE", "/api/v1/namespaces/dry", { dryRun: ["All"] });
    t.equal(body.code, 200, "dryRun in the DeleteOptions body");
    const uid = await req("DELETE", "/api/v1/namespaces/dry", { preconditions: { uid: "wrong" } });
    t.equal(uid.code, 409);
    t.equal(uid.body.reason, "Conflict");
    const ns = await req("GET", "/api/v1/namespaces/dry");
    t.equal(ns.body.status.phase, "Active", "still active");
    t.equal(ns.body.metadata.deletionTimestamp, undefined);
    t.equal((await req("GET", "/api/v1/namespaces/dry/configmaps/c")).code, 200, "content untouched");
  });

  await t.test("the default ServiceAccount appears, and again after a delete", async (t) => {
    await mkns("sa");
    const url = "/api/v1/namespaces/sa/serviceaccounts/default";
    await waitFor(async () => (await req("GET", url)).code === 200, { what: "default SA", intervalMs: 50 });
    t.equal((await req("DELETE", url)).code, 200);
    const again = await waitFor(
      async () => {
        const r = await req("GET", url);
        return r.code === 200 && r.body;
      },
      { what: "default SA made again", intervalMs: 50 },
    );
    t.equal(again.metadata.name, "default");
    t.equal((await req("GET", "/api/v1/namespaces/kube-system/serviceaccounts/default")).code, 200);
    const pod = (serviceAccountName?: string) => ({
      metadata: { name: `p-${serviceAccountName ?? "none"}` },
      spec: { containers: [{ name: "c", image: "busybox:1" }], serviceAccountName },
    });
    await mkns("sa-fresh");
    const first = await req("POST", "/api/v1/namespaces/sa-fresh/pods", pod());
    t.equal(first.code, 201, "a pod right after its namespace waits for the default service account");
    const missing = await req("POST", "/api/v1/namespaces/sa/pods", pod("missing"));
    t.equal(missing.code, 403);
    t.equal(
      missing.body.message,
      'pods "p-missing" is forbidden: error looking up service account sa/missing: serviceaccount "missing" not found',
    );
  });

  await t.test("delete: Terminating, content through the normal path, finalizers, conditions", async (t) => {
    await mkns("doomed");
    const svc = await req("POST", "/api/v1/namespaces/doomed/services", {
      metadata: { name: "np" },
      spec: { type: "NodePort", ports: [{ port: 80 }] },
    });
    t.equal(svc.code, 201);
    const nodePort = svc.body.spec.ports[0].nodePort;
    const clusterIP = svc.body.spec.clusterIP;
    await req("POST", "/api/v1/namespaces/doomed/configmaps", {
      metadata: { name: "held", finalizers: ["example.com/hold"] },
    });
    const del = await req("DELETE", "/api/v1/namespaces/doomed");
    t.equal(del.code, 200);
    t.equal(del.body.status.phase, "Terminating");
    t.ok(del.body.metadata.deletionTimestamp);
    const refused = await req("POST", "/api/v1/namespaces/doomed/configmaps", { metadata: { name: "late" } });
    t.equal(refused.code, 403);
    t.match(
      refused.body.message,
      /unable to create new content in namespace doomed because it is being terminated/,
    );
    t.equal(refused.body.details.causes[0].reason, "NamespaceTerminating");
    await gone("/api/v1/namespaces/doomed/services/np", "the service to go");
    await mkns("taker");
    const taken = await req("POST", "/api/v1/namespaces/taker/services", {
      metadata: { name: "np" },
      spec: { type: "NodePort", clusterIP, ports: [{ port: 80, nodePort }] },
    });
    t.equal(taken.code, 201, "its node port and cluster IP were released");
    const ns = await waitFor(
      async () => {
        const r = await req("GET", "/api/v1/namespaces/doomed");
        const c = (r.body.status?.conditions ?? []).find(
          (x: Json) => x.type === "NamespaceFinalizersRemaining",
        );
        return c?.status === "True" && r.body;
      },
      { what: "the finalizer condition", intervalMs: 50 },
    );
    const cond = (type: string) => ns.status.conditions.find((c: Json) => c.type === type);
    t.equal(
      cond("NamespaceFinalizersRemaining").message,
      "Some finalizers are remaining: example.com/hold in 1 resource instances",
    );
    t.equal(
      cond("NamespaceContentRemaining").message,
      "Some resources are remaining: configmaps. has 1 resource instances",
    );
    t.equal(cond("NamespaceDeletionContentFailure").status, "False");
    t.same(ns.spec.finalizers, ["kubernetes"], "still finalized by kubernetes");
    const cm = await req("GET", "/api/v1/namespaces/doomed/configmaps/held");
    t.ok(cm.body.metadata.deletionTimestamp, "the held configmap is marked");
    await req("PUT", "/api/v1/namespaces/doomed/configmaps/held", {
      ...cm.body,
      metadata: { ...cm.body.metadata, finalizers: [] },
    });
    await gone("/api/v1/namespaces/doomed", "the namespace to go once the finalizer is removed");
  });

  await t.test("namespaces/finalize", async (t) => {
    await mkns("fin");
    t.equal((await req("GET", "/api/v1/namespaces/fin/finalize")).code, 405, "no GET");
    const bad = await req("PUT", "/api/v1/namespaces/fin/finalize", {
      metadata: { name: "fin" },
      spec: { finalizers: ["nope"] },
    });
    t.equal(bad.code, 422);
    t.match(
      bad.body.message,
      /spec.finalizers\[0\]: Forbidden: name is neither a standard finalizer name nor is it fully qualified/,
    );
    const set = await req("PUT", "/api/v1/namespaces/fin/finalize", {
      metadata: { name: "fin", labels: { ignored: "yes" } },
      spec: { finalizers: ["kubernetes", "example.com/mine"] },
    });
    t.equal(set.code, 200);
    t.same(set.body.spec.finalizers, ["kubernetes", "example.com/mine"]);
    t.equal(set.body.metadata.labels.ignored, undefined, "only spec.finalizers is taken");
    await req("DELETE", "/api/v1/namespaces/fin");
    const waiting = await waitFor(
      async () => {
        const r = await req("GET", "/api/v1/namespaces/fin");
        return r.code === 200 && JSON.stringify(r.body.spec.finalizers) === '["example.com/mine"]' && r.body;
      },
      { what: "the controller to remove its own finalizer only", intervalMs: 50 },
    );
    t.equal(waiting.status.phase, "Terminating");
    const done = await req("PUT", "/api/v1/namespaces/fin/finalize", { metadata: { name: "fin" }, spec: {} });
    t.equal(done.code, 200);
    t.equal((await req("GET", "/api/v1/namespaces/fin")).code, 404, "finalized: gone");
  });

  await t.test("a deletion left by the controllers is resumed when they start again", async (t) => {
    await close();
    server = await open(false);
    await mkns("resume");
    for (const n of ["a", "b"])
      await req("POST", "/api/v1/namespaces/resume/configmaps", { metadata: { name: n } });
    t.equal((await req("DELETE", "/api/v1/namespaces/resume")).code, 200);
    t.equal(
      (await req("GET", "/api/v1/namespaces/resume/configmaps")).body.items.length,
      2,
      "no controller: content stays",
    );
    await close();
    server = await open();
    await gone("/api/v1/namespaces/resume", "the namespace to go once the controllers run");
    t.equal((await req("GET", "/api/v1/namespaces/resume/configmaps")).body.items.length, 0);
  });

  await t.test("quota: recalculated, terminal pods released, scopes, service updates", async (t) => {
    await mkns("q");
    const base = "/api/v1/namespaces/q";
    const pod = (name: string, extra: Json = {}, resources?: Json) => ({
      metadata: { name },
      spec: {
        containers: [{ name: "c", image: "busybox:1", ...(resources ? { resources } : {}) }],
        ...extra,
      },
    });
    await req("POST", `${base}/resourcequotas`, {
      metadata: { name: "all" },
      spec: { hard: { pods: "2", "count/pods": "10" } },
    });
    await req("POST", `${base}/resourcequotas`, {
      metadata: { name: "be" },
      spec: { hard: { pods: "5" }, scopes: ["BestEffort"] },
    });
    // The Priority admission plugin refuses pods naming a class that does not exist.
    const pc = await req("POST", "/apis/scheduling.k8s.io/v1/priorityclasses", {
      metadata: { name: "high" },
      value: 1000,
    });
    t.equal(pc.code, 201, "PriorityClass high created", { body: pc.body });
    await req("POST", `${base}/resourcequotas`, {
      metadata: { name: "high" },
      spec: {
        hard: { pods: "5" },
        scopeSelector: {
          matchExpressions: [{ scopeName: "PriorityClass", operator: "In", values: ["high"] }],
        },
      },
    });
    t.equal((await req("POST", `${base}/pods`, pod("p1"))).code, 201);
    t.equal(
      (
        await req(
          "POST",
          `${base}/pods`,
          pod("p2", { priorityClassName: "high" }, { requests: { cpu: "100m" } }),
        )
      ).code,
      201,
    );
    const full = await req("POST", `${base}/pods`, pod("p3"));
    t.equal(full.code, 403);
    t.match(full.body.message, /exceeded quota: all, requested: pods=1, used: pods=2, limited: pods=2/);
    const used = async (q: string) => (await req("GET", `${base}/resourcequotas/${q}`)).body.status.used;
    t.equal((await used("be")).pods, "1", "BestEffort counts only the pod with no requests");
    t.equal((await used("high")).pods, "1", "PriorityClass In [high]");
    const p1 = await req("GET", `${base}/pods/p1`);
    await req("PUT", `${base}/pods/p1/status`, {
      ...p1.body,
      status: { ...p1.body.status, phase: "Succeeded" },
    });
    await waitFor(async () => (await used("all")).pods === "1", {
      what: "the Succeeded pod released",
      intervalMs: 50,
    });
    t.equal((await used("all"))["count/pods"], "2", "count/pods counts every stored pod");
    t.equal((await used("be")).pods, "0");
    t.equal((await req("POST", `${base}/pods`, pod("p3"))).code, 201, "room again");
    const all = (await req("GET", `${base}/resourcequotas/all`)).body;
    await req("PUT", `${base}/resourcequotas/all`, {
      ...all,
      spec: { hard: { pods: "9", services: "3", "services.nodeports": "1" } },
    });
    await waitFor(
      async () => {
        const s = (await req("GET", `${base}/resourcequotas/all`)).body.status;
        return s.hard.pods === "9" && s.used.services === "0" && s.used["count/pods"] === undefined;
      },
      { what: "status.hard and used follow spec.hard", intervalMs: 50 },
    );
    const svc = await req("POST", `${base}/services`, {
      metadata: { name: "s" },
      spec: {
        ports: [
          { name: "a", port: 80 },
          { name: "b", port: 81 },
        ],
      },
    });
    t.equal(svc.code, 201);
    const np = await req("PUT", `${base}/services/s`, {
      ...svc.body,
      spec: { ...svc.body.spec, type: "NodePort" },
    });
    t.equal(np.code, 403, "ClusterIP -> NodePort takes node ports at admission");
    t.match(
      np.body.message,
      /exceeded quota: all, requested: services.nodeports=2, used: services.nodeports=0, limited: services.nodeports=1/,
    );
    const one = await req("PUT", `${base}/services/s`, {
      ...svc.body,
      spec: { ...svc.body.spec, type: "NodePort", ports: [{ name: "a", port: 80 }] },
    });
    t.equal(one.code, 200);
    t.equal((await used("all"))["services.nodeports"], "1", "charged by the update");
  });

  await t.test("losing the quota race every time is a 409, not a 500", async (t) => {
    await mkns("race");
    await req("POST", "/api/v1/namespaces/race/resourcequotas", {
      metadata: { name: "rq" },
      spec: { hard: { configmaps: "5" } },
    });
    await req("POST", "/api/v1/namespaces/race/configmaps", { metadata: { name: "d" } });
    race.racing = true;
    const r = await req("POST", "/api/v1/namespaces/race/configmaps", { metadata: { name: "c" } });
    const d = await req("DELETE", "/api/v1/namespaces/race/configmaps/d");
    race.racing = false;
    t.equal(d.code, 200, "a delete never fails on quota");
    await waitFor(
      async () =>
        (await req("GET", "/api/v1/namespaces/race/resourcequotas/rq")).body.status.used.configmaps === "0",
      { what: "the quota controller to give the deleted configmap back", intervalMs: 50 },
    );
    t.equal(r.code, 409);
    t.equal(r.body.reason, "Conflict");
    t.match(
      r.body.message,
      /Operation cannot be fulfilled on resourcequotas "rq": the object has been modified/,
    );
    t.equal((await req("GET", "/api/v1/namespaces/race/configmaps/c")).code, 404, "nothing stored");
  });

  await t.test("default/kubernetes: the first service IP, port 443, the advertised endpoint", async (t) => {
    server.controllers?.advertise("10.1.2.3", 6443);
    const svc = await waitFor(
      async () => {
        const r = await req("GET", "/api/v1/namespaces/default/services/kubernetes");
        return r.code === 200 && r.body;
      },
      { what: "the kubernetes service", intervalMs: 50 },
    );
    t.equal(svc.spec.clusterIP, "10.96.0.1");
    t.match(svc.spec.ports, [{ name: "https", port: 443, protocol: "TCP", targetPort: 6443 }]);
    const ep = await waitFor(
      async () => {
        const r = await req("GET", "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/kubernetes");
        return r.code === 200 && r.body;
      },
      { what: "the kubernetes endpointslice", intervalMs: 50 },
    );
    t.same(ep.endpoints[0].addresses, ["10.1.2.3"]);
    t.match(ep.ports, [{ name: "https", port: 6443 }]);
    t.equal(ep.metadata.labels["kubernetes.io/service-name"], "kubernetes");
    const eps = (await req("GET", "/api/v1/namespaces/default/endpoints/kubernetes")).body;
    t.match(eps.subsets, [{ addresses: [{ ip: "10.1.2.3" }], ports: [{ name: "https", port: 6443 }] }]);

    // Advertised again elsewhere (skiff server: its node's gateway): the endpoints and targetPort follow.
    server.controllers?.advertise("10.244.0.1", 7443);
    const moved = await waitFor(
      async () => {
        const r = await req("GET", "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/kubernetes");
        return r.body?.endpoints?.[0]?.addresses?.[0] === "10.244.0.1" && r.body;
      },
      { what: "the kubernetes endpointslice moved", intervalMs: 50 },
    );
    t.match(moved.ports, [{ name: "https", port: 7443 }]);
    const svc2 = await waitFor(
      async () => {
        const r = await req("GET", "/api/v1/namespaces/default/services/kubernetes");
        return r.body?.spec?.ports?.[0]?.targetPort === 7443 && r.body;
      },
      { what: "the kubernetes service's targetPort moved", intervalMs: 50 },
    );
    t.equal(svc2.spec.ports[0].port, 443);
  });
});

t.test(
  "kubectl: delete ns --dry-run=server deletes nothing; --advertise-address",
  { skip: kubectlSkip() },
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "skiff-controllers-"));
    const kubeconfig = join(dir, "kubeconfig");
    const running = await startServer(
      [
        ...["--data-dir", join(dir, "data"), "--bind-address", "127.0.0.1", "--secure-port", "0"],
        ...["--write-kubeconfig", kubeconfig, "--advertise-address", "10.9.8.7"],
      ],
      () => undefined,
    );
    const controllers = await controllersFor(kubeconfig);
    t.teardown(async () => {
      await controllers.stop();
      await running.stop();
      rmSync(dir, { recursive: true, force: true });
    });
    const run = kubectlRunner({ kubeconfig, home: dir, cacheDir: join(dir, "cache") });
    const kubectl = (...args: string[]) => run(args);
    t.equal((await kubectl("create", "namespace", "keep")).code, 0);
    t.equal((await kubectl("create", "configmap", "c", "-n", "keep")).code, 0);
    const dry = await kubectl("delete", "ns", "keep", "--dry-run=server");
    t.equal(dry.code, 0, dry.stderr);
    t.equal(dry.stdout, 'namespace "keep" deleted (server dry run)\n');
    const phase = await kubectl("get", "ns", "keep", "-o", "jsonpath={.status.phase}");
    t.equal(phase.stdout, "Active", "still there, still active");
    t.equal((await kubectl("get", "cm", "c", "-n", "keep", "-o", "name")).stdout, "configmap/c\n");
    const endpoint = await waitFor(
      async () => {
        const r = await kubectl(
          "get",
          "endpoints",
          "kubernetes",
          "-n",
          "default",
          "-o",
          "jsonpath={.subsets[0].addresses[0].ip}",
        );
        return r.stdout !== "" && r.stdout;
      },
      { what: "the kubernetes endpoints", intervalMs: 200 },
    );
    t.equal(endpoint, "10.9.8.7", "--advertise-address");
    const real = await kubectl("delete", "ns", "keep");
    t.equal(real.stdout, 'namespace "keep" deleted\n', "kubectl waits for the namespace to go");
    t.equal((await kubectl("get", "ns", "keep")).code, 1);
  },
);
