/**
 * The client against the real API server over HTTPS (in process, embedded store): kubeconfig
 * loading with client certificates, every verb, pagination, errors as ApiError, a watch, an
 * informer, and a 401 for a wrong token.
 */

import diagnostics from "node:diagnostics_channel";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KubeObject } from "@skiff/api";
// Tests only: the client does not depend on the API server; its tests run against a real one.
import { startServer } from "@skiff/apiserver";
import { waitFor } from "@skiff/testkit";
import t, { type Test } from "tap";
import { ApiError, configFromKubeconfig, Informer, KubeClient, type WatchEvent } from "../src/index.js";

const NS = "client-test";

type ConfigMap = KubeObject & { data?: Record<string, string> };

const cm = (name: string, data: Record<string, string> = { a: "1" }, labels?: Record<string, string>) => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name, ...(labels === undefined ? {} : { labels }) },
  data,
});

/** Polls until f() is true (informer and watch events arrive asynchronously). */
async function until(f: () => boolean, what: string, ms = 30_000): Promise<void> {
  await waitFor(f, { what, timeoutMs: ms });
}

async function rejectsApi(t: Test, p: Promise<unknown>, status: number, reason: string, what: string) {
  try {
    await p;
    t.fail(`${what}: expected ApiError ${status} ${reason}`);
  } catch (e) {
    t.ok(e instanceof ApiError, `${what}: an ApiError`);
    const err = e as ApiError;
    t.equal(err.status, status, `${what}: status`);
    t.equal(err.reason, reason, `${what}: reason`);
    t.equal(err.statusObject.kind, "Status", `${what}: carries the server's Status`);
  }
}

const dir = mkdtempSync(join(tmpdir(), "skiff-client-"));
const kubeconfig = join(dir, "admin.kubeconfig");
const server = await startServer(
  [
    ...["--data-dir", join(dir, "data"), "--bind-address", "127.0.0.1", "--secure-port", "0"],
    ...["--write-kubeconfig", kubeconfig],
  ],
  () => {},
);
const cfg = configFromKubeconfig(kubeconfig);
const client = new KubeClient(cfg);
t.teardown(async () => {
  await client.close();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

t.test("kubeconfig", async (t) => {
  t.equal(cfg.server, server.url);
  t.match(cfg.ca, /-----BEGIN CERTIFICATE-----/);
  t.match(cfg.cert, /-----BEGIN CERTIFICATE-----/);
  t.match(cfg.key, /PRIVATE KEY-----/);
  // Token users, file references relative to the kubeconfig, and a named context.
  writeFileSync(join(dir, "ca.pem"), cfg.ca ?? "");
  const other = join(dir, "token.kubeconfig");
  writeFileSync(
    other,
    [
      "apiVersion: v1",
      "kind: Config",
      "clusters:",
      "- name: c",
      "  cluster: {server: 'https://example.invalid:6443', certificate-authority: ca.pem}",
      "users:",
      "- name: u",
      "  user: {token: abc}",
      "contexts:",
      "- name: x",
      "  context: {cluster: c, user: u}",
      "current-context: nope",
      "",
    ].join("\n"),
  );
  t.same(configFromKubeconfig(other, "x"), {
    server: "https://example.invalid:6443",
    ca: cfg.ca,
    token: "abc",
  });
  t.throws(() => configFromKubeconfig(other), /no context named "nope"/);
});

t.test("raw requests", async (t) => {
  const v = await client.raw("GET", "/version");
  t.equal(v.status, 200);
  t.match(v.body, { major: "1" });
  t.match(v.headers["content-type"], /json/);
  const missing = await client.raw("GET", "/api/v1/namespaces/nope/configmaps/nope");
  t.equal(missing.status, 404, "raw returns non-2xx answers instead of throwing");
});

t.test("verbs", async (t) => {
  const namespaces = client.resource("v1", "namespaces");
  const ns = await namespaces.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
  t.equal(ns.metadata.name, NS, "a cluster-scoped create");
  const cms = client.resource("v1", "configmaps", NS);

  const created = await cms.create(cm("one"));
  t.equal(created.metadata.namespace, NS);
  t.ok(created.metadata.uid);
  t.ok(created.metadata.resourceVersion);
  await rejectsApi(t, cms.create(cm("one")), 409, "AlreadyExists", "create twice");
  const dry = await cms.create(cm("dry"), { dryRun: true });
  t.equal(dry.metadata.name, "dry");
  await rejectsApi(t, cms.get("dry"), 404, "NotFound", "a dry-run create stores nothing");
  await rejectsApi(
    t,
    cms.create({ ...cm("strict"), bogus: 1 } as KubeObject, { fieldValidation: "Strict" }),
    400,
    "BadRequest",
    "strict field validation",
  );

  const got = await cms.get("one");
  t.same(got.data, { a: "1" });
  t.equal(got.metadata.resourceVersion, created.metadata.resourceVersion);

  // Pagination: five objects, pages of two.
  for (const n of ["two", "three", "four", "five"]) await cms.create(cm(n, { a: n }, { page: "yes" }));
  const page1 = await cms.list({ limit: 2 });
  t.equal(page1.items.length, 2);
  t.ok(page1.metadata.continue, "a continue token");
  const page2 = await cms.list({ limit: 2, continue: page1.metadata.continue });
  t.equal(page2.items.length, 2);
  t.notSame(
    page2.items.map((o) => o.metadata.name),
    page1.items.map((o) => o.metadata.name),
  );
  const all = await cms.listAll({ limit: 2 });
  // A namespace may also hold kube-root-ca.crt (the controller manager's root CA publisher).
  t.same(
    all.items
      .map((o) => o.metadata.name)
      .filter((n) => n !== "kube-root-ca.crt")
      .sort(),
    ["five", "four", "one", "three", "two"],
  );
  t.equal(all.metadata.continue, undefined);
  t.ok(all.metadata.resourceVersion);
  const labelled = await cms.list({ labelSelector: "page=yes" });
  t.equal(labelled.items.length, 4, "a label selector");
  const byName = await cms.list({ fieldSelector: "metadata.name=three" });
  t.same(
    byName.items.map((o) => o.metadata.name),
    ["three"],
    "a field selector",
  );

  // Update, and the optimistic-concurrency conflict on a stale resourceVersion.
  const updated = await cms.update({ ...got, data: { a: "2" } });
  t.same(updated.data, { a: "2" });
  t.not(updated.metadata.resourceVersion, got.metadata.resourceVersion);
  await rejectsApi(t, cms.update({ ...got, data: { a: "3" } }), 409, "Conflict", "update with a stale rv");

  // The three patch types.
  const merged = await cms.patch("one", { data: { b: "x" } }, "merge");
  t.same(merged.data, { a: "2", b: "x" });
  const jsonPatched = await cms.patch(
    "one",
    [
      { op: "replace", path: "/data/a", value: "9" },
      { op: "remove", path: "/data/b" },
    ],
    "json",
  );
  t.same(jsonPatched.data, { a: "9" });
  const deployments = client.resource("apps/v1", "deployments", NS);
  await deployments.create({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web" },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: "web" } },
      template: {
        metadata: { labels: { app: "web" } },
        spec: {
          containers: [
            { name: "a", image: "nginx:1.25" },
            { name: "b", image: "busybox:1" },
          ],
        },
      },
    },
  });
  const strategic = await deployments.patch(
    "web",
    { spec: { template: { spec: { containers: [{ name: "b", image: "busybox:2" }] } } } },
    "strategic",
  );
  const containers = (
    strategic.spec as { template: { spec: { containers: { name: string; image: string }[] } } }
  ).template.spec.containers;
  t.same(
    containers.map((c) => [c.name, c.image]),
    [
      ["a", "nginx:1.25"],
      ["b", "busybox:2"],
    ],
    "a strategic merge patch merges containers by name",
  );
  const scaled = await deployments.patch("web", { spec: { replicas: 3 } }, "merge", { subresource: "scale" });
  t.match(scaled, { kind: "Scale", spec: { replicas: 3 } }, "a scale subresource patch");
  const status = await deployments.patch("web", { status: { observedGeneration: 7 } }, "merge", {
    subresource: "status",
  });
  t.match(status.status, { observedGeneration: 7 }, "a status subresource patch");
  const viaUpdateStatus = await deployments.updateStatus({ ...status, status: { observedGeneration: 8 } });
  t.match(viaUpdateStatus.status, { observedGeneration: 8 }, "updateStatus");
  await rejectsApi(
    t,
    cms.patch("missing", { data: {} }, "merge"),
    404,
    "NotFound",
    "patch of a missing object",
  );

  // Delete: preconditions, then for real; NotFound afterwards.
  await rejectsApi(
    t,
    cms.delete("one", { preconditions: { resourceVersion: "1" } }),
    409,
    "Conflict",
    "delete with a stale precondition",
  );
  await cms.delete("one");
  await rejectsApi(t, cms.get("one"), 404, "NotFound", "get after delete");
  await rejectsApi(t, cms.delete("one"), 404, "NotFound", "delete after delete");
  const nf = await cms.get("one").catch((e: unknown) => e);
  t.match((nf as ApiError).message, /not found/);
  t.match((nf as ApiError).details, { name: "one" });
});

t.test("a watch sees changes in order", async (t) => {
  const cms = client.resource("v1", "configmaps", NS);
  const start = await cms.list();
  const events: WatchEvent[] = [];
  const w = cms.watch({
    resourceVersion: start.metadata.resourceVersion,
    labelSelector: "watched=yes",
    onEvent: (e) => events.push(e),
  });
  const created = await cms.create(cm("w", { v: "1" }, { watched: "yes" }));
  await cms.patch("w", { data: { v: "2" } }, "merge");
  await cms.create(cm("unwatched"));
  await cms.delete("w");
  await until(() => events.length >= 3, "three watch events");
  t.same(
    events.map((e) => [e.type, e.object.metadata.name]),
    [
      ["ADDED", "w"],
      ["MODIFIED", "w"],
      ["DELETED", "w"],
    ],
  );
  t.equal(events[0]?.object.metadata.resourceVersion, created.metadata.resourceVersion);
  t.same(events[1]?.object.data, { v: "2" });
  w.stop();
  await w.done;
  t.pass("stop() ends the watch and done resolves");

  // From resourceVersion "0": synthetic ADDED events for what exists, then a server-side timeout.
  const initial: WatchEvent[] = [];
  const w2 = cms.watch({
    resourceVersion: "0",
    timeoutSeconds: 1,
    allowWatchBookmarks: true,
    onEvent: (e) => initial.push(e),
  });
  await w2.done;
  t.ok(initial.some((e) => e.type === "ADDED" && e.object.metadata.name === "unwatched"));
  t.ok(
    initial.some((e) => e.type === "BOOKMARK"),
    "a bookmark",
  );
});

t.test("an informer syncs and tracks changes", async (t) => {
  const cms = client.resource<ConfigMap>("v1", "configmaps", NS);
  await cms.create(cm("inf-a", { v: "1" }, { inf: "yes" }));
  await cms.create(cm("inf-b", { v: "1" }, { inf: "yes" }));
  const log: string[] = [];
  const errors: unknown[] = [];
  const informer = new Informer(cms, {
    labelSelector: "inf=yes",
    pageSize: 1,
    onAdd: (o) => log.push(`add ${o.metadata.name}`),
    onUpdate: (old, o) => log.push(`update ${o.metadata.name} ${old.data?.v}->${o.data?.v}`),
    onDelete: (o) => log.push(`delete ${o.metadata.name}`),
    onError: (e) => errors.push(e),
  });
  t.teardown(() => informer.stop());
  t.notOk(informer.hasSynced());
  informer.start();
  t.ok(await informer.waitForSync());
  t.ok(informer.hasSynced());
  t.same(log.sort(), ["add inf-a", "add inf-b"]);
  t.same(
    informer
      .list()
      .map((o) => o.metadata.name)
      .sort(),
    ["inf-a", "inf-b"],
  );
  log.length = 0;
  await cms.create(cm("inf-c", { v: "1" }, { inf: "yes" }));
  await cms.patch("inf-a", { data: { v: "2" } }, "merge");
  await cms.delete("inf-b");
  await until(() => log.length >= 3, "three informer notifications");
  t.same(log, ["add inf-c", "update inf-a 1->2", "delete inf-b"]);
  t.equal(informer.get(`${NS}/inf-a`)?.data?.v, "2");
  t.equal(informer.get(`${NS}/inf-b`), undefined);
  t.same(
    informer
      .list()
      .map((o) => o.metadata.name)
      .sort(),
    ["inf-a", "inf-c"],
  );
  t.same(errors, []);
  await informer.stop();
});

t.test("an informer re-lists after a 410 and backs off between retries", async (t) => {
  // A fake resource: the first watch reports 410 Expired, the list succeeds; the timer is ours.
  const lists: number[] = [];
  const delays: number[] = [];
  let watches = 0;
  const item = (name: string, rv: string) => ({
    ...cm(name),
    metadata: { name, namespace: NS, resourceVersion: rv },
  });
  const fake = {
    apiVersion: "v1",
    resource: "configmaps",
    namespace: NS,
    async listAll() {
      lists.push(lists.length);
      if (lists.length === 2) throw new Error("list failed");
      return {
        items: lists.length === 1 ? [item("x", "5")] : [item("x", "5"), item("y", "9")],
        metadata: { resourceVersion: lists.length === 1 ? "5" : "9" },
      };
    },
    watch(o: { resourceVersion?: string; onEvent(e: WatchEvent): void }) {
      watches++;
      if (watches === 1) {
        t.equal(o.resourceVersion, "5", "watches from the list's resourceVersion");
        o.onEvent({
          type: "ERROR",
          object: {
            kind: "Status",
            code: 410,
            reason: "Expired",
            message: "too old",
          } as unknown as KubeObject,
        });
        return { done: Promise.resolve(), stop() {} };
      }
      let stop = () => {};
      return { done: new Promise<void>((r) => (stop = r)), stop: () => stop() };
    },
  } as unknown as ConstructorParameters<typeof Informer>[0];
  const added: string[] = [];
  const errors: unknown[] = [];
  const informer = new Informer(fake, {
    backoff: { initialMs: 100, maxMs: 150 },
    setTimeout: (f, ms) => {
      delays.push(ms);
      queueMicrotask(f);
      return 0;
    },
    clearTimeout: () => {},
    onAdd: (o) => added.push(o.metadata.name ?? ""),
    onError: (e) => errors.push(e),
  }).start();
  await until(() => watches === 2, "the second watch");
  t.equal(lists.length, 3, "list, 410, failed re-list, re-list");
  t.same(delays, [100, 150], "bounded doubling backoff");
  t.same(added, ["x", "y"]);
  t.equal(errors.length, 1, "the failed list is reported; the 410 is routine");
  await informer.stop();
});

t.test("a wrong token is a 401", async (t) => {
  const bad = new KubeClient({ server: cfg.server, ca: cfg.ca, token: "wrong" });
  t.teardown(() => bad.close());
  await rejectsApi(t, bad.resource("v1", "namespaces").list(), 401, "Unauthorized", "wrong token");
  const w = bad.resource("v1", "configmaps", NS).watch({ onEvent: () => {} });
  const err = await w.done.then(
    () => undefined,
    (e: unknown) => e,
  );
  t.ok(err instanceof ApiError && err.status === 401, "a watch with a wrong token rejects with a 401");
});

t.test("watch lines split across chunks and UTF-8 boundaries", async (t) => {
  // A plain HTTP server that writes events in awkward pieces, each once the client has read the
  // one before: pieces written apart in time could still arrive in one read on a busy machine.
  // (The client runs in this process: its socket is found through the net diagnostics channel.)
  const clientSockets: Socket[] = [];
  const onSocket = (m: unknown) => clientSockets.push((m as { socket: Socket }).socket);
  diagnostics.subscribe("net.client.socket", onSocket);
  t.teardown(() => diagnostics.unsubscribe("net.client.socket", onSocket));
  const a = Buffer.from(`${JSON.stringify({ type: "ADDED", object: cm("é€😀", { k: "ünï" }) })}\n`);
  const b = Buffer.from(`${JSON.stringify({ type: "MODIFIED", object: cm("b") })}\n`);
  const c = Buffer.from(JSON.stringify({ type: "DELETED", object: cm("c") }));
  const cut = a.indexOf(Buffer.from("€")) + 1; // inside the three-byte character
  const pieces = [a.subarray(0, cut), a.subarray(cut), b.subarray(0, 5), Buffer.concat([b.subarray(5), c])];
  let readApart = 0;
  const http = createServer(async (req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    const server = req.socket;
    const client = clientSockets.find((s) => s.localPort === server.remotePort);
    for (const p of pieces) {
      await new Promise((r) => res.write(p, r));
      if (client === undefined) continue; // counted below
      await waitFor(() => client.bytesRead >= server.bytesWritten, {
        what: "the client to read the piece",
        intervalMs: 1,
      }).then(
        () => readApart++,
        () => undefined,
      );
    }
    res.end(); // the last event has no trailing newline
  });
  await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
  const plain = new KubeClient({ server: `http://127.0.0.1:${(http.address() as AddressInfo).port}` });
  t.teardown(async () => {
    await plain.close();
    await new Promise((r) => http.close(r));
  });
  const events: WatchEvent[] = [];
  await plain.resource("v1", "configmaps", "x").watch({ onEvent: (e) => events.push(e) }).done;
  t.same(
    events.map((e) => [e.type, e.object.metadata.name]),
    [
      ["ADDED", "é€😀"],
      ["MODIFIED", "b"],
      ["DELETED", "c"],
    ],
  );
  t.same(events[0]?.object.data, { k: "ünï" });
  t.equal(readApart, pieces.length, "each piece was read by the client before the next was written");
});
