/**
 * The watch cache's promise to clients, as a property: a list at R followed by a watch from R,
 * while a random writer creates, updates and deletes, sees exactly the writes after R, in order,
 * each once, across small windows (events leave the window while the watcher is on) and store
 * watch breaks (the cache resumes). Plus the unit cases behind it: lagging caches, deletes without
 * a previous value, and own writes that never reach clients.
 */
import { Registry } from "@skiff/api";
import { waitFor } from "@skiff/testkit";
import fc from "fast-check";
import t from "tap";
import type { EtcdKV, WatchCallbacks } from "../src/storage/etcd.js";
import { objectKey, RegistryStore } from "../src/storage/registry-store.js";
import { ResourceCache } from "../src/storage/watch-cache.js";
import { embeddedBackend } from "./backends.js";

const configmaps = new Registry().resource("", "v1", "configmaps");
if (configmaps === undefined) throw new Error("no configmaps");
const kind = configmaps;

/** The store, with a switch that breaks every open watch (as a store restart or a network cut). */
function breakable(inner: EtcdKV): EtcdKV & { breakWatches(): void } {
  const open = new Set<{ cb: WatchCallbacks; cancel(): void }>();
  return {
    range: (...a) => inner.range(...a),
    txn: (...a) => inner.txn(...a),
    leaseGrant: (...a) => inner.leaseGrant(...a),
    close: () => inner.close(),
    watch(prefix, from, cb) {
      const h = inner.watch(prefix, from, cb);
      const w = { cb, cancel: () => h.cancel() };
      open.add(w);
      return {
        cancel: () => {
          open.delete(w);
          h.cancel();
        },
        requestProgress: () => h.requestProgress?.(),
      };
    },
    breakWatches() {
      for (const w of [...open]) {
        open.delete(w);
        w.cancel();
        w.cb.failed({ error: "broken by the test" });
      }
    },
  };
}

type Op = { op: "put"; name: string } | { op: "delete"; name: string } | { op: "break" };

t.test("a watch from a list's revision sees exactly the later writes, in order", async (t) => {
  const backend = await embeddedBackend();
  const inner = backend.kv?.();
  if (inner === undefined) throw new Error("no in-process store");
  t.teardown(async () => {
    inner.close();
    await backend.stop();
  });
  const op = fc.oneof(
    {
      weight: 5,
      arbitrary: fc.record({ op: fc.constant("put" as const), name: fc.constantFrom("a", "b", "c", "d") }),
    },
    {
      weight: 2,
      arbitrary: fc.record({ op: fc.constant("delete" as const), name: fc.constantFrom("a", "b", "c", "d") }),
    },
    { weight: 1, arbitrary: fc.constant({ op: "break" as const }) },
  );
  let run = 0;
  let expiredRuns = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.array(op, { minLength: 1, maxLength: 40 }),
      fc.nat(40),
      fc.integer({ min: 2, max: 12 }),
      async (ops: Op[], listAt: number, windowSize: number) => {
        run++;
        const kv = breakable(inner);
        const store = new RegistryStore(kv);
        const ns = `p${run}`;
        const cache = new ResourceCache(store, kind, windowSize);
        await cache.start();
        const log: string[] = []; // every write after the list, as the watch must show it
        const seen: string[] = [];
        let listRevision = 0;
        let sub: ReturnType<ResourceCache["subscribe"]>;
        let expired = false;
        const startWatch = async () => {
          const list = await store.list(kind, ns);
          listRevision = list.revision;
          // The list is the store's: the cache may be behind it, so it waits as a watch does.
          t.ok(await cache.waitFresh(listRevision, 10_000), "the cache reaches the list's revision");
          sub = cache.subscribe(ns, listRevision, {
            deliver: (events) => {
              for (const e of events) seen.push(`${e.type} ${e.object.metadata.name} ${e.revision}`);
              return true;
            },
            closed: () => undefined,
          });
          if (sub === undefined) expired = listRevision < cache.windowStart;
        };
        const exists = new Set<string>();
        for (const [i, o] of ops.entries()) {
          if (i === Math.min(listAt, ops.length - 1)) await startWatch();
          const writing = listRevision > 0;
          if (o.op === "break") {
            kv.breakWatches();
            continue;
          }
          const obj = {
            apiVersion: "v1",
            kind: "ConfigMap",
            metadata: { name: o.name, namespace: ns },
            data: { i: String(i) },
          };
          const key = objectKey(kind, ns, o.name);
          if (o.op === "put") {
            const r = await kv.txn([], [{ put: { key, value: Buffer.from(JSON.stringify(obj)) } }]);
            if (writing) log.push(`${exists.has(o.name) ? "MODIFIED" : "ADDED"} ${o.name} ${r.revision}`);
            exists.add(o.name);
          } else if (exists.has(o.name)) {
            // A plain delete: the store watch carries the previous value, or the cache's copy serves.
            const r = await kv.txn([], [{ delete: { key } }]);
            if (writing) log.push(`DELETED ${o.name} ${r.revision}`);
            exists.delete(o.name);
          }
        }
        if (listRevision === 0) await startWatch();
        const last = (await inner.range("/registry/", { countOnly: true })).revision;
        await cache.waitFresh(last, 10_000);
        cache.stop();
        if (expired) {
          expiredRuns++;
          return true; // 410: the list is older than the window (the client re-lists), never a gap
        }
        await waitFor(() => seen.length >= log.length, {
          what: "the watch's events",
          timeoutMs: 10_000,
        }).catch(() => undefined);
        t.same(seen, log, `run ${run}: exactly the writes after ${listRevision}, in order`);
        return JSON.stringify(seen) === JSON.stringify(log);
      },
    ),
    { numRuns: 40, seed: 17 },
  );
  t.comment(`${run} runs, ${expiredRuns} ended as 410 (list older than a small window)`);
});

/** A store with nothing in it whose single watch the test drives by hand. */
function handDriven(): EtcdKV & { cb?: WatchCallbacks } {
  const kv: EtcdKV & { cb?: WatchCallbacks } = {
    range: async () => ({ revision: 10, kvs: [], more: false, count: 0 }),
    txn: async () => ({ succeeded: true, revision: 11, gets: [] }),
    leaseGrant: async () => "1",
    watch(_p, _f, cb) {
      kv.cb = cb;
      return { cancel() {} };
    },
    close() {},
  };
  return kv;
}

const storeKv = (name: string, rev: number) => ({
  key: Buffer.from(`/registry/configmaps/default/${name}`),
  value: Buffer.from(
    JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: "default" } }),
  ),
  mod_revision: String(rev),
  create_revision: String(rev),
});

t.test("a lagging cache, deletes without a previous value, own writes", async (t) => {
  const kv = handDriven();
  const cache = new ResourceCache(new RegistryStore(kv), kind, 100);
  await cache.start();
  const seen: string[] = [];
  // A watch from 13 while the cache is at 10: events up to 13 are not for it.
  cache.subscribe(undefined, 13, {
    deliver: (es) => {
      for (const e of es) seen.push(`${e.type} ${e.object.metadata.name} ${e.revision}`);
      return true;
    },
    closed: () => undefined,
  });
  for (let r = 11; r <= 14; r++) kv.cb?.events([{ type: "put", kv: storeKv(`c${r}`, r), prevKv: undefined }]);
  kv.cb?.events([
    { type: "delete", kv: { ...storeKv("c11", 15), value: Buffer.alloc(0) }, prevKv: undefined },
  ]);
  t.same(
    seen,
    ["ADDED c14 14", "DELETED c11 15"],
    "nothing at or below 13; the delete from the cache's copy",
  );
  t.equal(cache.snapshot(undefined).items.length, 3, "no ghost left");
  kv.cb?.events([
    { type: "put", kv: storeKv("t1", 16), prevKv: undefined },
    { type: "put", kv: storeKv("t2", 16), prevKv: undefined },
  ]);
  t.same(seen.slice(2), ["ADDED t1 16", "ADDED t2 16"], "two keys of one transaction");
  const fresh = cache.waitFresh(17, 5000);
  kv.cb?.progress?.(17);
  t.equal(await fresh, true, "a progress notification moves a quiet cache forward");
  cache.observe({ namespace: "default", name: "mine" }, 20, {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "mine", namespace: "default", resourceVersion: "20" },
  });
  t.notOk(
    cache.snapshot("default").items.some((o) => o.metadata.name === "mine"),
    "own writes never in what clients get",
  );
  t.ok(
    cache.list("default").items.some((o) => o.metadata.name === "mine"),
    "admission reads its own writes",
  );
  t.equal(await cache.waitFresh(30, 200), false, "a revision never reached: false after the wait");
  cache.stop();
});

t.test("a broken store watch resumes; a compaction re-lists and closes the watchers", async (t) => {
  const kv = handDriven();
  let from = 0;
  const watchFn = kv.watch.bind(kv);
  kv.watch = (p, f, cb) => {
    from = f;
    return watchFn(p, f, cb);
  };
  const cache = new ResourceCache(new RegistryStore(kv), kind, 100);
  await cache.start();
  const closed: string[] = [];
  let got = 0;
  cache.subscribe(undefined, 10, {
    deliver: (es) => {
      got += es.length;
      return true;
    },
    closed: (why) => closed.push(why),
  });
  kv.cb?.events([{ type: "put", kv: storeKv("a", 11), prevKv: undefined }]);
  kv.cb?.failed({ error: "stream reset" });
  await waitFor(() => cache.storeWatches === 2, { what: "the resumed store watch" });
  t.equal(from, 12, "resumed right after the cache's revision");
  t.same(closed, [], "no watcher noticed");
  kv.cb?.events([{ type: "put", kv: storeKv("b", 12), prevKv: undefined }]);
  t.equal(got, 2, "and events go on");
  kv.cb?.failed({ compacted: 12 });
  t.same(closed, ["reset"], "a compaction closes the watchers (they re-list or resume)");
  await waitFor(() => cache.storeWatches === 3, { what: "the re-list" });
  t.equal(cache.relists, 1);
  cache.stop();
});
