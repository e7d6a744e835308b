/**
 * The MVCC's LevelDB backend (src/backend/mvcc-disk.ts) under the MVCC store: what a write stages
 * is read back after a flush from disk, a reopened database gives the same answers, records past
 * the stored revision (a flush cut short) are dropped, and a snapshot view does not see later writes.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t from "tap";
import { MvccDisk } from "../src/backend/mvcc-disk.js";
import { encodeIndexRecord, INDEX, revKey } from "../src/backend/records.js";
import { History } from "../src/mvcc/history.js";
import { MvccStore } from "../src/mvcc/store.js";
import { decodeFullSnapshot, encodeFullSnapshot } from "../src/server/snapshot-stream.js";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

async function openStore(dir: string): Promise<{ disk: MvccDisk; mvcc: MvccStore; index: number }> {
  const disk = await MvccDisk.open(dir);
  const h = new History();
  const meta = await disk.load(h);
  const mvcc = new MvccStore({ sink: disk });
  mvcc.adopt(h, meta.revision, meta.compactRevision);
  return { disk, mvcc, index: meta.consistentIndex };
}

t.test("writes survive a reopen; values leave memory once flushed", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "skiff-mvcc-disk-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  let { disk, mvcc } = await openStore(dir);
  for (let i = 0; i < 50; i++) mvcc.put({ key: enc(`k${i % 20}`), value: enc(`v${i}`) });
  mvcc.deleteRange({ key: enc("k3") });
  mvcc.txn({
    compare: [{ key: enc("k1"), target: "VALUE", result: "EQUAL", value: enc("v41") }],
    success: [{ request_put: { key: enc("t"), value: enc("yes"), lease: 0n } }],
  });
  mvcc.compact(30);
  disk.noteApplied(77, mvcc.revision, mvcc.compacted);
  t.equal(await disk.flush(), 77, "the flush covers the consistent index");
  const rec = mvcc.h.getRec("k5", mvcc.revision);
  t.equal(rec?.value, undefined, "a flushed value is no longer held in memory");
  t.equal(
    dec(mvcc.range({ key: enc("k5") }).kvs[0]?.value ?? new Uint8Array()),
    "v45",
    "and is read back from disk",
  );
  const before = mvcc.range({ key: enc("k"), range_end: enc("l") });
  const eventsBefore = mvcc.eventsSince(35, enc("k"), enc("l"));
  await disk.close();

  ({ disk, mvcc } = await openStore(dir));
  t.teardown(() => disk.close());
  const reopened = await openStore(dir).catch((e: Error) => e);
  t.ok(reopened instanceof Error, "a second open of the same database is refused (LevelDB's lock)");
  t.same(mvcc.range({ key: enc("k"), range_end: enc("l") }), before, "the same range after a reopen");
  t.same(mvcc.eventsSince(35, enc("k"), enc("l")), eventsBefore, "the same history for a watch");
  t.equal(mvcc.compacted, 30, "the compact revision is kept");
  t.throws(() => mvcc.range({ key: enc("k1"), revision: 20 }), /compacted/, "below it is gone");
  t.equal(dec(mvcc.range({ key: enc("t") }).kvs[0]?.value ?? new Uint8Array()), "yes");
});

t.test("records past the stored revision (a flush cut short) are dropped at load", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "skiff-mvcc-disk-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const { disk, mvcc } = await openStore(dir);
  mvcc.put({ key: enc("a"), value: enc("1") });
  disk.noteApplied(1, mvcc.revision, mvcc.compacted);
  await disk.flush();
  await disk.close();
  // A record at revision 9 with no meta covering it, as a crash between two batches would leave.
  const { Level } = await import("level");
  const db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: "view", valueEncoding: "view" });
  await db.put(
    revKey(INDEX, 9, 0),
    encodeIndexRecord("b", {
      main: 9,
      sub: 0,
      live: false,
      create: 0,
      version: 0,
      lease: 0n,
      size: 0,
      value: undefined,
    }),
  );
  await db.close();
  const again = await openStore(dir);
  t.teardown(() => again.disk.close());
  t.equal(again.mvcc.revision, 2, "the revision is the stored one");
  t.same(again.mvcc.eventsSince(2, enc("b")), [], "the stray record is not in the history");
  t.equal(again.index, 1);
});

t.test("a snapshot view holds what was flushed, not what came after", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "skiff-mvcc-disk-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const { disk, mvcc } = await openStore(dir);
  t.teardown(() => disk.close());
  for (let i = 0; i < 3000; i++) mvcc.put({ key: enc(`key/${i}`), value: enc(`value ${i}`) });
  disk.noteApplied(3000, mvcc.revision, mvcc.compacted);
  const view = await disk.snapshotView();
  // Writes go on while the view is read.
  for (let i = 0; i < 100; i++) mvcc.put({ key: enc(`late/${i}`), value: enc("x") });
  disk.noteApplied(3100, mvcc.revision, mvcc.compacted);
  await disk.flush();
  const data = await encodeFullSnapshot(view);
  await view.close();
  const full = decodeFullSnapshot(data);
  t.ok(full, "the streamed format decodes");
  t.equal(full?.consistentIndex, 3000);
  t.equal(full?.revision, 3001);
  const copy = new MvccStore();
  copy.adopt(full?.history as History, full?.revision as number, full?.compactRevision as number);
  t.equal(copy.range({ key: enc("key/"), range_end: enc("key0"), count_only: true }).count, 3000);
  t.equal(copy.range({ key: enc("late/"), range_end: enc("late0"), count_only: true }).count, 0);
  t.same(
    copy.range({ key: enc("key/7") }).kvs,
    mvcc.range({ key: enc("key/7"), revision: 3001 }).kvs,
    "records equal the source's",
  );
});
