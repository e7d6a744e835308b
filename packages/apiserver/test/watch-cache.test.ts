/**
 * The watch cache: many watchers share one store watch per resource type; a watcher that cannot
 * keep up is cut off (bounded memory); revisions older than the window are refused (410).
 */
import { Registry } from "@skiff/api";
import { waitFor } from "@skiff/testkit";
import t from "tap";
import { authenticator } from "../src/auth.js";
import { createApiServer } from "../src/server.js";
import type { EtcdKV, Kv, WatchCallbacks } from "../src/storage/etcd.js";
import { GrpcEtcd } from "../src/storage/etcd.js";
import { RegistryStore } from "../src/storage/registry-store.js";
import { ResourceCache } from "../src/storage/watch-cache.js";
import { skiffBackend } from "./backends.js";

const configmaps = new Registry().resource("", "v1", "configmaps");
if (configmaps === undefined) throw new Error("no configmaps");

/** A store with nothing in it whose single watch the test drives by hand. */
function fakeKv(): EtcdKV & { cb?: WatchCallbacks; watches: number } {
  const kv = {
    watches: 0,
    cb: undefined as WatchCallbacks | undefined,
    range: async () => ({ revision: 10, kvs: [], more: false, count: 0 }),
    txn: async () => ({ succeeded: true, revision: 11, gets: [] }),
    leaseGrant: async () => "1",
    watch(_prefix: string, _from: number, cb: WatchCallbacks) {
      kv.watches++;
      kv.cb = cb;
      return { cancel() {} };
    },
    close() {},
  };
  return kv;
}

const put = (name: string, rev: number): { type: "put"; kv: Kv; prevKv: undefined } => ({
  type: "put",
  prevKv: undefined,
  kv: {
    key: Buffer.from(`/registry/configmaps/default/${name}`),
    value: Buffer.from(
      JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: "default" } }),
    ),
    mod_revision: String(rev),
    create_revision: String(rev),
  },
});

t.test("a watcher that does not keep up is cut off; the others go on", async (t) => {
  const kv = fakeKv();
  const cache = new ResourceCache(new RegistryStore(kv), configmaps, 100, 5);
  await cache.start();
  let fastSeen = 0;
  let slowClosed = "";
  cache.subscribe(undefined, 10, {
    deliver: (e) => {
      fastSeen += e.length;
      return true;
    },
    closed: () => undefined,
  });
  cache.subscribe(undefined, 10, {
    deliver: () => false,
    closed: (why) => {
      slowClosed = why;
    },
  });
  for (let i = 0; i < 10; i++) kv.cb?.events([put(`c${i}`, 11 + i)]);
  t.equal(slowClosed, "slow", "cut off after its bounded number of undelivered batches");
  t.equal(fastSeen, 10, "the fast watcher got every event");
  t.equal(cache.subscriberCount, 1);
  t.equal(cache.list(undefined).items.length, 10);
  t.equal(cache.revision, 20);
});

t.test("the window: recent revisions are replayed, older ones refused", async (t) => {
  const kv = fakeKv();
  const cache = new ResourceCache(new RegistryStore(kv), configmaps, 4);
  await cache.start();
  for (let i = 0; i < 6; i++) kv.cb?.events([put(`c${i}`, 11 + i)]);
  const seen: number[] = [];
  const sub = cache.subscribe(undefined, 13, {
    deliver: (e) => {
      seen.push(...e.map((x) => x.revision));
      return true;
    },
    closed: () => undefined,
  });
  t.ok(sub, "13 is inside the window");
  t.same(seen, [14, 15, 16], "replayed from the window");
  t.equal(
    cache.subscribe(undefined, 11, { deliver: () => true, closed: () => undefined }),
    undefined,
    "too old",
  );
});

t.test("200 watchers on a real store: one store watch per resource type", async (t) => {
  const backend = await skiffBackend();
  const inner = new GrpcEtcd(backend.endpoints);
  let watches = 0;
  const kv: EtcdKV = {
    range: (...a) => inner.range(...a),
    txn: (...a) => inner.txn(...a),
    leaseGrant: (...a) => inner.leaseGrant(...a),
    watch: (...a) => {
      watches++;
      return inner.watch(...a);
    },
    close: () => inner.close(),
  };
  const server = await createApiServer({
    kv,
    authenticate: authenticator(new Map([["tok", { name: "a", groups: [] }]])),
  });
  t.teardown(async () => {
    await server.close();
    inner.close();
    await backend.stop();
  });
  // Create-only kinds (the reviews) are never stored, so never watched.
  const kinds = new Registry().kinds.filter((k) => k.verbs === undefined).length;
  t.equal(watches, kinds, "one store watch per resource type at start");
  const headers = { authorization: "Bearer tok" };
  const rv = (await server.app.inject({ url: "/api/v1/namespaces/default/configmaps", headers })).json()
    .metadata.resourceVersion;
  // The watchers stay open until the event reached all of them (a condition, not a watch timeout
  // that a slow machine could reach first); the server's close in the teardown ends them.
  const watchers = await Promise.all(
    Array.from({ length: 200 }, () =>
      server.app.inject({
        url: `/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${rv}`,
        headers,
        payloadAsStream: true,
      }),
    ),
  );
  const bodies = watchers.map((w) => {
    const body = { text: "" };
    w.stream().on("data", (d: Buffer) => {
      body.text += d.toString();
    });
    return body;
  });
  const created = await server.app.inject({
    method: "POST",
    url: "/api/v1/namespaces/default/configmaps",
    headers: { ...headers, "content-type": "application/json" },
    payload: JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "shared" } }),
  });
  t.equal(created.statusCode, 201);
  const saw = (b: { text: string }) =>
    b.text.includes('"type":"ADDED"') && b.text.includes('"name":"shared"');
  await waitFor(() => bodies.every(saw), { what: "the event on all 200 watchers" }).catch(() => undefined);
  const got = bodies.filter(saw).length;
  t.equal(got, 200, "every watcher saw the event");
  t.equal(watches, kinds, "and still one store watch per resource type");
});
