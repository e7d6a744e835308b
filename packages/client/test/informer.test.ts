/**
 * The Informer against a fake ResourceClient whose lists and watches the test drives, with an
 * injected timer: events to handlers, the delete's final state (from the event, or the last cached
 * state as a tombstone when a re-list finds it), bookmarks, re-list on 410, resync, handlers added
 * late or throwing, frozen objects, and waiting for a sync that an abort ends.
 */
import type { KubeObject } from "@skiff/api";
import { waitFor } from "@skiff/testkit";
import t from "tap";
import {
  type DeletedFinalStateUnknown,
  Informer,
  type InformerOptions,
  NodeNameIndexFunc,
  type ObjectList,
  type ResourceClient,
  type WatchEvent,
} from "../src/index.js";

type Obj = KubeObject & { spec?: { nodeName?: string } };

const obj = (name: string, rv: string, labels: Record<string, string> = {}, nodeName?: string): Obj => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace: "ns", resourceVersion: rv, labels },
  ...(nodeName === undefined ? {} : { spec: { nodeName } }),
});

interface FakeWatch {
  rv: string | undefined;
  emit(type: WatchEvent["type"], o: KubeObject): void;
  /** Ends the stream as a server timeout does. */
  end(): void;
}

/** A ResourceClient whose list answers come from a queue and whose watches the test drives. */
function fakeResource(lists: (ObjectList<Obj> | Error)[]) {
  const watches: FakeWatch[] = [];
  let listCalls = 0;
  const rc = {
    apiVersion: "v1",
    resource: "pods",
    namespace: undefined,
    async listAll() {
      const next = lists[listCalls++];
      if (next === undefined) return new Promise<never>(() => {}); // hangs: no more answers scripted
      if (next instanceof Error) throw next;
      return next;
    },
    watch(o: { resourceVersion?: string; onEvent(e: WatchEvent<Obj>): void }) {
      let end = () => {};
      const done = new Promise<void>((r) => (end = r));
      watches.push({
        rv: o.resourceVersion,
        emit: (type, object) => o.onEvent({ type, object: object as Obj }),
        end,
      });
      return { done, stop: () => end() };
    },
  } as unknown as ResourceClient<Obj>;
  return { rc, watches, listCalls: () => listCalls };
}

const list = (rv: string, items: Obj[]): ObjectList<Obj> => ({ items, metadata: { resourceVersion: rv } });

/** Injected timers: the test fires them. */
function fakeTimers() {
  const pending = new Map<number, { f: () => void; ms: number }>();
  const cleared: number[] = [];
  let next = 1;
  return {
    opts: {
      setTimeout: (f: () => void, ms: number) => {
        pending.set(next, { f, ms });
        return next++;
      },
      clearTimeout: (h: unknown) => {
        cleared.push(h as number);
        pending.delete(h as number);
      },
    } satisfies Pick<InformerOptions, "setTimeout" | "clearTimeout">,
    pending: () => [...pending.values()].map((p) => p.ms),
    cleared,
    /** Fires the timers set for ms (all of them, once). */
    fire(ms: number) {
      for (const [h, p] of [...pending]) if (p.ms === ms) pending.delete(h) && p.f();
    },
  };
}

/** Records every handler call as a line. */
function recorder() {
  const log: string[] = [];
  const tombstones: DeletedFinalStateUnknown<Obj>[] = [];
  return {
    log,
    tombstones,
    handlers: {
      onAdd: (o: Obj, initial: boolean) => log.push(`add ${o.metadata.name}${initial ? " (initial)" : ""}`),
      onUpdate: (old: Obj, o: Obj) =>
        log.push(`update ${o.metadata.name} ${old.metadata.resourceVersion}->${o.metadata.resourceVersion}`),
      onDelete: (o: Obj, tomb?: DeletedFinalStateUnknown<Obj>) => {
        log.push(`delete ${o.metadata.name} v=${o.metadata.labels?.v ?? ""}${tomb ? " (tombstone)" : ""}`);
        if (tomb) tombstones.push(tomb);
      },
    },
  };
}

t.test(
  "events reach the handlers; a delete carries the event's final state; objects are frozen",
  async (t) => {
    const fake = fakeResource([list("10", [obj("a", "1"), obj("b", "2", { v: "1" })])]);
    const rec = recorder();
    const errors: unknown[] = [];
    const mutations: unknown[] = [];
    const inf = new Informer(fake.rc, { ...rec.handlers, onError: (e) => errors.push(e) });
    // One handler that throws on every call, and one that tries to change what it is given.
    inf.addEventHandler({
      onAdd: () => {
        throw new Error("handler bug");
      },
    });
    inf.addEventHandler({
      onUpdate: (_old, o) => {
        try {
          (o.metadata.labels as Record<string, string>).touched = "yes";
        } catch (e) {
          mutations.push(e);
        }
      },
    });
    t.teardown(() => inf.stop());
    inf.start();
    t.ok(await inf.waitForSync());
    await waitFor(() => fake.watches.length === 1, { what: "the watch" });
    const w = fake.watches[0] as FakeWatch;
    t.equal(w.rv, "10", "the watch starts at the list's resourceVersion");
    w.emit("ADDED", obj("c", "11"));
    w.emit("MODIFIED", obj("a", "12"));
    w.emit("DELETED", obj("b", "13", { v: "final" }));
    w.emit("DELETED", obj("never-seen", "14"));
    t.same(rec.log, ["add a (initial)", "add b (initial)", "add c", "update a 1->12", "delete b v=final"]);
    t.same(rec.tombstones, [], "a watched delete has no tombstone");
    t.equal(errors.length, 3, "each throw of the bad handler is reported, and nothing stops");
    t.equal(mutations.length, 1);
    t.ok(mutations[0] instanceof TypeError, "changing a cached object throws");
    t.equal(inf.get("ns/a")?.metadata.labels?.touched, undefined);
    t.same(
      inf
        .list()
        .map((o) => o.metadata.name)
        .sort(),
      ["a", "c"],
    );
    t.equal(inf.lastSyncResourceVersion(), "14");
  },
);

t.test("bookmarks advance the resourceVersion a watch resumes from", async (t) => {
  const fake = fakeResource([list("10", [obj("a", "1")])]);
  const rec = recorder();
  const inf = new Informer(fake.rc, rec.handlers).start();
  t.teardown(() => inf.stop());
  await waitFor(() => fake.watches.length === 1, { what: "the first watch" });
  fake.watches[0]?.emit("BOOKMARK", { apiVersion: "v1", kind: "Pod", metadata: { resourceVersion: "20" } });
  t.equal(inf.lastSyncResourceVersion(), "20");
  fake.watches[0]?.end();
  await waitFor(() => fake.watches.length === 2, { what: "the watch to resume" });
  t.equal(fake.watches[1]?.rv, "20", "resumed at the bookmark, not re-listed");
  t.equal(fake.listCalls(), 1);
  t.same(rec.log, ["add a (initial)"], "a bookmark calls no handler");
});

t.test("a 410 re-lists: a missed delete is a tombstone with the last cached state", async (t) => {
  const timers = fakeTimers();
  const fake = fakeResource([
    list("10", [obj("a", "1"), obj("b", "2", { v: "1" })]),
    new Error("list failed"),
    list("30", [obj("a", "1"), obj("c", "25")]),
  ]);
  const rec = recorder();
  const errors: unknown[] = [];
  const inf = new Informer(fake.rc, {
    ...rec.handlers,
    ...timers.opts,
    backoff: { initialMs: 100, maxMs: 150 },
    onError: (e) => errors.push(e),
  }).start();
  t.teardown(() => inf.stop());
  await waitFor(() => fake.watches.length === 1, { what: "the first watch" });
  fake.watches[0]?.emit("MODIFIED", obj("b", "5", { v: "2" }));
  fake.watches[0]?.emit("ERROR", { kind: "Status", code: 410, reason: "Expired" } as unknown as KubeObject);
  await waitFor(() => timers.pending().includes(100), { what: "the first backoff" });
  timers.fire(100);
  await waitFor(() => timers.pending().includes(150), { what: "the second backoff, after the failed list" });
  timers.fire(150);
  await waitFor(() => fake.watches.length === 2, { what: "the watch after the re-list" });
  t.equal(fake.watches[1]?.rv, "30");
  t.same(rec.log, [
    "add a (initial)",
    "add b (initial)",
    "update b 2->5",
    "delete b v=2 (tombstone)",
    "add c",
  ]);
  t.same(rec.tombstones[0]?.key, "ns/b");
  t.equal(rec.tombstones[0]?.obj.metadata.resourceVersion, "5", "the last state the cache saw");
  t.equal(errors.length, 1, "the failed list is reported; the 410 is routine");
});

t.test("resync hands every cached object to onUpdate each period", async (t) => {
  const timers = fakeTimers();
  const fake = fakeResource([list("10", [obj("a", "1"), obj("b", "2")])]);
  const updates: [Obj, Obj][] = [];
  const inf = new Informer(fake.rc, {
    ...timers.opts,
    resyncPeriodMs: 60_000,
    onUpdate: (old, o) => updates.push([old, o]),
  }).start();
  t.teardown(() => inf.stop());
  await inf.waitForSync();
  t.same(timers.pending(), [60_000], "armed once synced");
  timers.fire(60_000);
  t.equal(updates.length, 2);
  t.ok(
    updates.every(([old, o]) => old === o),
    "resync: the same object as old and new",
  );
  t.same(timers.pending(), [60_000], "re-armed");
  timers.fire(60_000);
  t.equal(updates.length, 4);
  await inf.stop();
  t.same(timers.pending(), [], "stop clears the resync timer");
});

t.test("a handler added late first gets every cached object; remove stops it", async (t) => {
  const n = 10_000;
  const items = Array.from({ length: n }, (_, i) => obj(`p${i}`, `${i + 1}`, {}, `node${i % 100}`));
  const fake = fakeResource([list(`${n}`, items)]);
  let early = 0;
  const inf = new Informer(fake.rc, { onAdd: () => early++ }).start();
  t.teardown(() => inf.stop());
  await inf.waitForSync();
  t.equal(early, n, "one onAdd per object");
  const rec = recorder();
  const reg = inf.addEventHandler(rec.handlers);
  t.equal(rec.log.length, n, "the late handler is given every cached object, once");
  t.equal(rec.log[0], "add p0 (initial)");
  t.ok(reg.hasSynced());
  await waitFor(() => fake.watches.length === 1, { what: "the watch" });
  fake.watches[0]?.emit("ADDED", obj("new", "20000"));
  t.equal(rec.log.at(-1), "add new");
  reg.remove();
  fake.watches[0]?.emit("DELETED", obj("new", "20001"));
  t.equal(rec.log.at(-1), "add new", "a removed handler is not called");
  // Indexes added after sync index the cache; the lister reads through them.
  inf.addIndexers({ nodeName: NodeNameIndexFunc });
  t.equal(inf.lister().byIndex("nodeName", "node7").length, n / 100);
});

t.test("waitForSync ends with false on abort or stop", async (t) => {
  const fake = fakeResource([]); // the list never answers
  const inf = new Informer(fake.rc).start();
  const ac = new AbortController();
  const waiting = inf.waitForSync(ac.signal);
  ac.abort();
  t.equal(await waiting, false);
  const other = inf.waitForSync();
  void inf.stop();
  t.equal(await other, false);
  t.notOk(inf.hasSynced());
});
