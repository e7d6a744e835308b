import t from "tap";
import { checkWatch, type KvWrite, type WatchEvent, type WatcherStream } from "../src/check/watch.js";

// Revision 4 is a txn writing a and b together; revision 5 deletes a.
const writes: KvWrite[] = [
  { revision: 2, key: "a", type: "put", value: "a1" },
  { revision: 3, key: "b", type: "put", value: "b1" },
  { revision: 4, key: "a", type: "put", value: "a2" },
  { revision: 4, key: "b", type: "put", value: "b2" },
  { revision: 5, key: "a", type: "delete", value: null },
];
const ev = (revision: number, key: string, type: "put" | "delete", value: unknown, prevValue: unknown) =>
  ({ revision, key, type, value, prevValue }) as WatchEvent;
const e2 = ev(2, "a", "put", "a1", null);
const e3 = ev(3, "b", "put", "b1", null);
const e4a = ev(4, "a", "put", "a2", "a1");
const e4b = ev(4, "b", "put", "b2", "b1");
const e5 = ev(5, "a", "delete", null, "a2");

const watcher = (batches: WatchEvent[][], extra: Partial<WatcherStream> = {}): WatcherStream => ({
  id: "w",
  range: { start: "a", end: "c" },
  startRevision: 2,
  prevKv: true,
  batches,
  ...extra,
});
const types = (ws: WatcherStream[]) => checkWatch(ws, writes).violations.map((v) => v.type);

t.test("correct streams pass, including a single-key watcher and a late starter", async (t) => {
  const full = watcher([[e2], [e3, e4a, e4b], [e5]]);
  const single = watcher([[e4a], [e5]], { id: "s", range: { start: "a" }, startRevision: 3 });
  const late = watcher([[e4a, e4b], [e5]], { id: "l", startRevision: 4 });
  t.same(checkWatch([full, single, late], writes), { valid: true, violations: [] });
});

t.test("out of order revisions", async (t) => {
  t.same(types([watcher([[e3], [e2], [e4a, e4b], [e5]])]), ["unordered"]);
});

t.test("a duplicate event", async (t) => {
  t.same(types([watcher([[e2], [e3], [e3, e4a, e4b], [e5]])]), ["duplicate", "split-revision"]);
});

t.test("a gap: an acknowledged write never delivered", async (t) => {
  const r = checkWatch([watcher([[e2], [e4a, e4b], [e5]])], writes);
  t.same(
    r.violations.map((v) => [v.type, v.revision, v.key]),
    [["gap", 3, "b"]],
  );
});

t.test("a gap at the end is caught when the watcher is known to have caught up", async (t) => {
  t.same(types([watcher([[e2], [e3, e4a, e4b]], { endRevision: 5 })]), ["gap"]);
  t.same(types([watcher([[e2], [e3, e4a, e4b]])]), [], "otherwise it may just be behind");
});

t.test("a revision split across two batches", async (t) => {
  t.same(types([watcher([[e2], [e3, e4a], [e4b], [e5]])]), ["split-revision"]);
});

t.test("an event value differing from the acknowledged write", async (t) => {
  t.same(types([watcher([[e2], [e3, { ...e4a, value: "zz" }, e4b], [e5]])]), ["inconsistent"]);
});

t.test("a wrong prev_kv", async (t) => {
  t.same(types([watcher([[e2], [e3, { ...e4a, prevValue: "a0" }, e4b], [e5]])]), ["bad-prev-kv"]);
});

t.test("prev_kv after an unacknowledged write the watchers saw is the value of that write", async (t) => {
  // b3 at revision 6 was an info write: only the watch stream reveals it.
  const e6 = ev(6, "b", "put", "b3", "b2");
  const e7 = ev(7, "b", "put", "b4", "b3");
  const more = [...writes, { revision: 7, key: "b", type: "put" as const, value: "b4" }];
  const ok = watcher([[e2], [e3, e4a, e4b], [e5], [e6], [e7]]);
  t.same(checkWatch([ok], more).violations, []);
  const wrong = watcher([[e2], [e3, e4a, e4b], [e5], [e6], [{ ...e7, prevValue: "b2" }]]);
  t.same(
    checkWatch([wrong], more).violations.map((v) => v.type),
    ["bad-prev-kv"],
  );
});

t.test("an event for an unacknowledged (info) write is accepted", async (t) => {
  const extra = ev(6, "b", "put", "b3", "b2");
  t.same(types([watcher([[e2], [e3, e4a, e4b], [e5], [extra]])]), []);
});

t.test("watchers over the same range must agree", async (t) => {
  const extra = ev(6, "b", "put", "b3", "b2");
  const other = ev(6, "b", "put", "b4", "b2");
  const a = watcher([[e2], [e3, e4a, e4b], [e5], [extra]], { id: "a" });
  const b = watcher([[e2], [e3, e4a, e4b], [e5], [other]], { id: "b" });
  t.same(types([a, b]), ["disagree"]);
});
