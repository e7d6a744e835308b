/**
 * The durable Raft log: the LogStore contract against LevelDB and the simulator's disk, then
 * damage: what LevelDB reports itself, what only our records' checks catch, and what nobody can.
 */
import { mkdtemp, readdir, readFile, rm, stat, truncate, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as zlib from "node:zlib";
import { SeededRand } from "@skiff/raft";
import { Level } from "level";
import t from "tap";
import { crc32 } from "../src/raftnode/crc32.js";
import { LevelDbLogStore } from "../src/raftnode/leveldb-logstore.js";
import { crc32c, liveTables, snappyDecompress, verifyTable } from "../src/raftnode/leveldb-table.js";
import {
  encodeEntries,
  encodeEntry,
  encodeHardState,
  encodeSnapshot,
  entryKey,
  HARD_STATE_KEY,
  parseKey,
  SNAPSHOT_KEY,
} from "../src/raftnode/logrecord.js";
import {
  CorruptionError,
  type LogStore,
  type LogUpdate,
  StorageWriteError,
} from "../src/raftnode/logstore.js";
import { SimDisk, SimLogStore } from "../src/sim/logstore.js";
import {
  canonical,
  entries,
  entry,
  hardState,
  LogModel,
  logStoreContract,
  snapshot,
} from "./logstore-contract.js";

const root = await mkdtemp(join(tmpdir(), "skiff-logstore-"));
t.teardown(() => rm(root, { recursive: true, force: true }));
let dirs = 0;
const newDir = () => join(root, `member-${dirs++}`);

t.test("crc32c and snappy, as LevelDB's tables use them", async (t) => {
  // RFC 3720 B.4: CRC-32C of 32 zero bytes and of the ASCII string "123456789".
  t.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
  t.equal(crc32c(Buffer.from("123456789")), 0xe3069283);
  // Snappy: a literal, then copies with 1- and 2-byte offsets that overlap what they produce.
  const s = Buffer.from([20, 0x08, 0x61, 0x62, 0x63, 0x15, 0x03, 0x1e, 0x0c, 0x00]);
  t.equal(snappyDecompress(s).toString(), "abcabcabcabcabcabcab");
  const long = Buffer.from("x".repeat(100));
  t.equal(
    snappyDecompress(Buffer.from([100, 0xf0, 99, ...long])).toString(),
    long.toString(),
    "a 100-byte literal",
  );
  t.throws(
    () => snappyDecompress(Buffer.from([4, 0x05, 0x00])),
    /copy overruns/,
    "a copy from before the start",
  );
  t.throws(() => snappyDecompress(Buffer.from([9, 0x08, 0x61, 0x62, 0x63])), /shorter than it claims/);
});

t.test("crc32 is the IEEE CRC-32 of zlib", async (t) => {
  const bytes = (s: string) => new TextEncoder().encode(s);
  t.equal(crc32(bytes("")), 0);
  t.equal(crc32(bytes("123456789")), 0xcbf43926, "the standard check value");
  t.equal(crc32(bytes("6789"), crc32(bytes("12345"))), 0xcbf43926, "continues from a previous crc");
  const zlibCrc = (zlib as { crc32?: (b: Uint8Array) => number }).crc32;
  if (zlibCrc === undefined) return;
  const rand = new SeededRand(1);
  for (let n = 0; n < 50; n++) {
    const b = Uint8Array.from({ length: rand.intn(3000) }, () => rand.intn(256));
    t.equal(crc32(b), zlibCrc(b), `random buffer ${n} (${b.length} bytes)`);
  }
});

logStoreContract(t, "LevelDbLogStore", async () => {
  const dir = newDir();
  return {
    open: () => LevelDbLogStore.open(dir),
    // No disk-full on demand here: closing the database under the store makes its next batch fail.
    breakWrites: (s: LogStore) => (s as unknown as { db: Level }).db.close(),
    destroy: () => rm(dir, { recursive: true, force: true }),
  };
});

logStoreContract(t, "SimLogStore", async () => {
  const disk = new SimDisk("sim-member");
  return {
    open: async () => {
      disk.failWrites(false); // the restarted member has a working disk again
      return SimLogStore.open(disk);
    },
    breakWrites: async () => disk.failWrites(true),
    destroy: async () => {},
  };
});

t.test("LevelDB: fsync exactly where asked, and always for snapshots", async (t) => {
  const s = await LevelDbLogStore.open(newDir());
  const db = (s as unknown as { db: Level<Uint8Array, Uint8Array> }).db;
  const seen: (boolean | undefined)[] = [];
  const batch = db.batch.bind(db) as (ops: unknown, o: { sync?: boolean }) => Promise<void>;
  Object.assign(db, {
    batch: (ops: unknown, o: { sync?: boolean }) => {
      seen.push(o.sync);
      return batch(ops, o);
    },
  });
  await s.save({ entries: entries(1, 3, 1), hardState: hardState(1, 0) }, true);
  await s.save({ entries: [], hardState: hardState(1, 3) }, false); // a commit-only Ready needs no fsync
  await s.saveSnapshot(snapshot(2, 1), 2, hardState(1, 3));
  await s.save({ entries: [], snapshot: snapshot(9, 2), hardState: hardState(2, 9) }, false);
  t.same(seen, [true, false, true, true], "one batch per call, synced as asked, and always for a snapshot");
  await s.close();
});

t.test(
  "SimDisk: one record per save; saveSnapshot deletes exactly the records up to the compact index",
  async (t) => {
    const disk = new SimDisk();
    const s = await SimLogStore.open(disk);
    const stored = () =>
      disk.records().flatMap(([k]) => {
        const p = parseKey(k);
        return p?.kind === "entry" ? [p.index] : [];
      });
    await s.save({ entries: entries(1, 3, 1), hardState: hardState(1, 0) }, false);
    await s.save({ entries: entries(4, 9, 1), hardState: hardState(1, 3) }, false);
    await s.save({ entries: entries(10, 12, 1), hardState: hardState(1, 9) }, true);
    t.same(stored(), [1, 4, 10], "a record under the first index of each save");
    await s.save({ entries: entries(6, 10, 2), hardState: hardState(2, 9) }, true);
    t.same(stored(), [1, 4, 6], "a truncating save supersedes the tail of 4..9 and deletes 10..12");
    t.same(
      (await (await SimLogStore.open(disk)).load()).entries.map((e) => [e.index, e.term]),
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((i) => [i, i < 6 ? 1 : 2]),
      "the log reads back with the superseded entries gone",
    );
    await s.saveSnapshot(snapshot(8, 2), 5, hardState(2, 9));
    t.same(stored(), [6], "records ending at or below 5 go; 6..10 stays for slow followers");
    await s.save({ entries: [], snapshot: snapshot(20, 2), hardState: hardState(2, 20) }, true);
    t.same(stored(), [], "a leader's snapshot leaves no entry behind");
    await s.save({ entries: entries(21, 22, 2), hardState: hardState(2, 20) }, true);
    t.same(
      (await (await SimLogStore.open(disk)).load()).entries.map((e) => e.index),
      [21, 22],
      "the log goes on after the snapshot",
    );
  },
);

/** The CorruptionError a promise rejects with (anything else fails the test). */
async function corruption(p: Promise<unknown>): Promise<CorruptionError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof CorruptionError) return err;
    throw err;
  }
  throw new Error("expected a CorruptionError, but the log loaded");
}

async function loadDir(dir: string) {
  const s = await LevelDbLogStore.open(dir);
  try {
    return await s.load();
  } finally {
    await s.close();
  }
}

/**
 * Writes `batches` Readys of 3 entries (300 incompressible bytes each) and the hard state that
 * commits them: about 200 bytes short of 1 KiB per batch, so 200 batches span several of the
 * .log's 32 KiB blocks. With `flush`, reopens once: LevelDB turns the recovered .log into an
 * .ldb table at open, so the data then lives in a table file and the new .log is empty.
 */
async function writeLog(dir: string, batches: number, flush: boolean): Promise<LogModel> {
  const rand = new SeededRand(7);
  const m = new LogModel();
  const s = await LevelDbLogStore.open(dir);
  for (let b = 0; b < batches; b++) {
    const lo = m.lastIndex + 1;
    const term = 1 + Math.floor(b / 50);
    const ents = [lo, lo + 1, lo + 2].map((i) => ({
      ...entry(i, term),
      data: Uint8Array.from({ length: 300 }, () => rand.intn(256)),
    }));
    const u: LogUpdate = { entries: ents, hardState: hardState(term, lo + 2) };
    await s.save(u, false);
    m.save(u);
  }
  await s.close();
  if (flush) await (await LevelDbLogStore.open(dir)).close();
  return m;
}

/** The highest-numbered LevelDB file with this extension (the newest). */
async function newest(dir: string, ext: ".log" | ".ldb"): Promise<string> {
  const files = (await readdir(dir)).filter((f) => /^\d+\./.test(f) && f.endsWith(ext)).sort();
  const f = files.at(-1);
  if (f === undefined) throw new Error(`no ${ext} file in ${dir}`);
  return join(dir, f);
}

async function flipMiddleBit(file: string): Promise<void> {
  const b = await readFile(file);
  b[b.length >> 1] = (b[b.length >> 1] as number) ^ 0x10;
  await writeFile(file, b);
}

async function truncateTo(file: string, fraction: number): Promise<void> {
  await truncate(file, Math.floor((await stat(file)).size * fraction));
}

// Findings on LevelDB 1.20 (classic-level 3.0.0), which cannot turn on paranoid_checks:
// - .log damage is NOT reported by LevelDB: it drops what it cannot read and opens. A torn tail
//   is dropped silently (an older, consistent state: nobody can tell it from lost unsynced
//   writes); a bad record in the middle drops the rest of its 32 KiB block and replays what
//   follows, which leaves a hole that our contiguity check reports; a deleted .log opens as if
//   its writes never happened, which our layout check (a LevelDB directory always has a .log)
//   reports.
// - .ldb damage: a deleted table is reported by LevelDB (missing files). A flipped bit inside a
//   block is not (block checksums are not verified without paranoid_checks), and where it lands
//   in a key LevelDB's own assertions abort the process; so open() checks every block checksum
//   of every table the MANIFEST names first (leveldb-table.ts), which also reports truncation.
// - CURRENT and MANIFEST damage is reported by LevelDB at open, except a deleted CURRENT, which
//   LevelDB would answer with a fresh empty database: we never open with createIfMissing.
t.test("LevelDB damage", async (t) => {
  t.test("a truncated .log loses its tail silently: an older, consistent state loads", async (t) => {
    const dir = newDir();
    const m = await writeLog(dir, 200, false);
    await truncateTo(await newest(dir, ".log"), 0.6);
    const st = await loadDir(dir);
    t.ok(
      st.entries.length > 0 && st.entries.length < m.log.length,
      `${st.entries.length} of ${m.log.length} entries`,
    );
    const prefix = new LogModel();
    prefix.log = m.log.slice(0, st.entries.length);
    prefix.hardState = hardState(st.hardState.term, st.entries.length);
    t.equal(canonical(st), canonical(prefix.expected()), "exactly the state after an earlier batch");
  });

  t.test("a bit flipped in the middle of the .log leaves a hole that our checks report", async (t) => {
    const dir = newDir();
    await writeLog(dir, 200, false);
    await flipMiddleBit(await newest(dir, ".log"));
    const err = await corruption(loadDir(dir));
    t.match(err, { file: dir, message: /entries \d+\.\.\d+ are missing/ });
    t.type(err.index, "number");
  });

  t.test("a deleted .log is reported by our layout check", async (t) => {
    const dir = newDir();
    await writeLog(dir, 20, false);
    await unlink(await newest(dir, ".log"));
    t.match(await corruption(loadDir(dir)), { file: dir, message: /\.log file is missing/ });
  });

  t.test("a truncated .ldb is reported by LevelDB, naming the file", async (t) => {
    const dir = newDir();
    await writeLog(dir, 200, true);
    const ldb = await newest(dir, ".ldb");
    await truncateTo(ldb, 0.6);
    t.match(await corruption(loadDir(dir)), { file: ldb, message: /LevelDB/ });
  });

  t.test("a bit flipped in the middle of an .ldb is reported at open, naming the table", async (t) => {
    const dir = newDir();
    await writeLog(dir, 200, true);
    const ldb = await newest(dir, ".ldb");
    await flipMiddleBit(ldb);
    t.match(await corruption(loadDir(dir)), {
      file: ldb,
      message: /LevelDB table: .*block checksum mismatch/,
    });
  });

  t.test("a bit flipped anywhere in a table's blocks or footer handles is found", async (t) => {
    const dir = newDir();
    await writeLog(dir, 200, true);
    const ldb = await newest(dir, ".ldb");
    const pristine = await readFile(ldb);
    t.equal(verifyTable(pristine), undefined, "the table as LevelDB wrote it is intact");
    // Every byte but the footer's zero padding (40 bytes of handles at most, then the magic)
    // belongs to a block, a block trailer or the footer's handles and magic.
    const footerAt = pristine.length - 48;
    let handlesEnd = footerAt;
    for (let varints = 0; varints < 4; handlesEnd++)
      if (((pristine[handlesEnd] as number) & 0x80) === 0) varints++;
    const places = [
      ...Array.from({ length: 200 }, (_, i) => Math.floor((handlesEnd * i) / 200)),
      ...Array.from({ length: handlesEnd - footerAt }, (_, i) => footerAt + i),
      ...Array.from({ length: 8 }, (_, i) => pristine.length - 8 + i),
    ];
    const missed = places.filter((at) => {
      const b = Buffer.from(pristine);
      b[at] = (b[at] as number) ^ 0x04;
      return verifyTable(b) === undefined;
    });
    t.same(missed, [], `every one of ${places.length} flips found`);
    t.match(verifyTable(pristine.subarray(0, 30)), /shorter .* than a table footer/);
  });

  t.test(
    "a half-written table the MANIFEST does not name is left to LevelDB, which deletes it",
    async (t) => {
      const dir = newDir();
      const m = await writeLog(dir, 200, true);
      const ldb = await newest(dir, ".ldb");
      const orphan = join(dir, "999999.ldb");
      await writeFile(orphan, (await readFile(ldb)).subarray(0, 1000));
      const current = (await readFile(join(dir, "CURRENT"), "utf8")).trim();
      const live = liveTables(await readFile(join(dir, current)));
      t.ok(live?.has(Number(/(\d+)\.ldb$/.exec(ldb)?.[1])), "the MANIFEST names the real table");
      t.notOk(live?.has(999999), "and not the orphan");
      t.equal(canonical(await loadDir(dir)), canonical(m.expected()), "the log loads whole");
      t.notOk((await readdir(dir)).includes("999999.ldb"), "LevelDB removed the orphan");
    },
  );

  t.test("a deleted .ldb is reported by LevelDB at open", async (t) => {
    const dir = newDir();
    await writeLog(dir, 20, true);
    const ldb = await newest(dir, ".ldb");
    await unlink(ldb);
    t.match(await corruption(loadDir(dir)), { file: ldb, message: /missing files/ });
  });

  t.test("damaged CURRENT and MANIFEST files are reported at open", async (t) => {
    const cases: [string, (dir: string) => Promise<void>, RegExp, RegExp][] = [
      ["CURRENT deleted", (d) => unlink(join(d, "CURRENT")), /does not exist/, /member-\d+$/],
      ["CURRENT garbage", (d) => writeFile(join(d, "CURRENT"), "garbage\n"), /No such file/, /CURRENT$/],
      ["MANIFEST deleted", async (d) => unlink(join(d, await manifest(d))), /No such file/, /MANIFEST-\d+$/],
      [
        "MANIFEST truncated",
        async (d) => truncate(join(d, await manifest(d)), 10),
        /Corruption/,
        /member-\d+$/,
      ],
    ];
    for (const [what, damage, message, file] of cases) {
      const dir = newDir();
      await writeLog(dir, 5, true);
      await damage(dir);
      t.match(await corruption(loadDir(dir)), { file, message }, what);
    }
  });

  t.test("a member open elsewhere is locked, not corrupt", async (t) => {
    const dir = newDir();
    const s = await LevelDbLogStore.open(dir);
    t.teardown(() => s.close());
    const err = await LevelDbLogStore.open(dir).then(
      () => undefined,
      (e: unknown) => e,
    );
    t.ok(err instanceof Error && !(err instanceof CorruptionError), "LEVEL_LOCKED is passed on as it is");
  });
});

async function manifest(dir: string): Promise<string> {
  return (await readdir(dir)).find((f) => f.startsWith("MANIFEST-")) as string;
}

t.test("records that are whole but wrong are caught by the log checks", async (t) => {
  type Raw = Level<Uint8Array, Uint8Array>;
  const cases: [string, (db: Raw) => Promise<void>, RegExp, number | undefined][] = [
    [
      "a record under another index's key",
      (db) => db.put(entryKey(6), encodeEntry(entry(5, 1))),
      /record of entry 5 stored under the key of entry 6/,
      6,
    ],
    ["a missing record", (db) => db.del(entryKey(3)), /entries 3\.\.3 are missing/, 3],
    [
      "a decreasing term",
      (db) => db.put(entryKey(6), encodeEntries([entry(6, 0)])),
      /term 0 after term 1/,
      6,
    ],
    [
      "a decreasing term inside a record",
      (db) => db.put(entryKey(4), encodeEntries([entry(4, 1), entry(5, 0)])),
      /term 0 after term 1/,
      5,
    ],
    [
      "a gap between records",
      (db) => db.put(entryKey(8), encodeEntries([entry(8, 1)])),
      /entries 7\.\.7 are missing/,
      7,
    ],
    [
      "a commit beyond the log",
      (db) => db.put(HARD_STATE_KEY, encodeHardState(hardState(1, 9))),
      /commit 9 is beyond the last index 6/,
      9,
    ],
    [
      "a hard state older than the entries",
      (db) => db.put(HARD_STATE_KEY, encodeHardState(hardState(0, 6))),
      /newer than the hard state's term/,
      6,
    ],
    [
      "a snapshot that disagrees with the log",
      (db) => db.put(SNAPSHOT_KEY, encodeSnapshot(snapshot(3, 2))),
      /differs from the snapshot's term/,
      3,
    ],
    [
      "a record of the wrong type",
      (db) => db.put(entryKey(2), encodeHardState(hardState(1, 2))),
      /HardState where Entries belongs/,
      2,
    ],
    [
      "a key the format never writes",
      (db) => db.put(Uint8Array.of(0x7a), Uint8Array.of(1)),
      /unknown key 0x7a/,
      undefined,
    ],
  ];
  for (const [what, damage, message, index] of cases) {
    const dir = newDir();
    const s = await LevelDbLogStore.open(dir);
    await s.save({ entries: entries(1, 2, 1), hardState: hardState(1, 0) }, false);
    await s.save({ entries: entries(3, 3, 1), hardState: hardState(1, 2) }, false);
    await s.save({ entries: entries(4, 6, 1), hardState: hardState(1, 6) }, true);
    await s.close();
    const db: Raw = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: "view", valueEncoding: "view" });
    await db.open();
    await damage(db);
    await db.close();
    t.match(await corruption(loadDir(dir)), { file: dir, index, message }, what);
  }
});

t.test("a log written one record per entry (earlier versions) still loads and goes on", async (t) => {
  const dir = newDir();
  await (await LevelDbLogStore.open(dir)).close();
  const db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: "view", valueEncoding: "view" });
  await db.open();
  await db.batch([
    ...entries(1, 4, 1).map((e) => ({ type: "put" as const, key: entryKey(e.index), value: encodeEntry(e) })),
    { type: "put", key: HARD_STATE_KEY, value: encodeHardState(hardState(1, 2)) },
  ]);
  await db.close();
  const s = await LevelDbLogStore.open(dir);
  t.same(
    (await s.load()).entries.map((e) => e.index),
    [1, 2, 3, 4],
  );
  await s.save({ entries: entries(3, 5, 2), hardState: hardState(2, 2) }, true);
  await s.close();
  const again = await LevelDbLogStore.open(dir);
  t.same(
    (await again.load()).entries.map((e) => [e.index, e.term]),
    [
      [1, 1],
      [2, 1],
      [3, 2],
      [4, 2],
      [5, 2],
    ],
  );
  await again.close();
});

/** Random Readys against a SimDisk: appends, some rewriting a suffix, some synced, some snapshots. */
async function simWorkload(
  s: LogStore,
  m: LogModel,
  rand: SeededRand,
  steps: number,
  onSave: (sync: boolean) => void,
) {
  for (let i = 0; i < steps; i++) {
    const { commit } = m.hardState;
    const term = 1 + Math.floor(i / 8);
    if (rand.intn(10) === 0 && commit > m.snapshot.metadata.index) {
      const snap = snapshot(commit, m.log.find((e) => e.index === commit)?.term ?? -1);
      await s.saveSnapshot(snap, commit - 1, m.hardState);
      m.saveSnapshot(snap, commit - 1, m.hardState);
      onSave(true);
      continue;
    }
    const lo = i % 8 === 0 && m.lastIndex > commit ? m.lastIndex : m.lastIndex + 1;
    const hi = lo + rand.intn(3);
    const u: LogUpdate = {
      entries: entries(lo, hi, term),
      hardState: hardState(term, Math.max(commit, hi - 2)),
    };
    const sync = rand.intn(3) === 0;
    await s.save(u, sync);
    m.save(u);
    onSave(sync);
  }
}

t.test("SimDisk faults", async (t) => {
  t.test("a crash keeps every synced write and a prefix of the unsynced ones", async (t) => {
    let lostSome = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const rand = new SeededRand(seed);
      const disk = new SimDisk(`sim-${seed}`);
      const s = await SimLogStore.open(disk);
      const m = new LogModel();
      const states = [canonical(m.expected())];
      let synced = 0;
      await simWorkload(s, m, rand, 30, (sync) => {
        states.push(canonical(m.expected()));
        if (sync) synced = states.length - 1;
      });
      disk.crash(rand);
      await t.rejects(
        s.save({ entries: [] }, true),
        StorageWriteError,
        `seed ${seed}: the crashed store writes no more`,
      );
      const loaded = canonical(await (await SimLogStore.open(disk)).load());
      const at = states.lastIndexOf(loaded);
      if (at < synced)
        t.fail(`seed ${seed}: loaded state ${at} is older than the last synced one (${synced})`);
      if (at !== states.length - 1) lostSome++;
    }
    t.ok(lostSome > 0, `${lostSome} of 40 crashes lost unsynced writes`);
  });

  t.test("a leader's snapshot is synced even when the Ready did not ask", async (t) => {
    const disk = new SimDisk();
    const s = await SimLogStore.open(disk);
    await s.save({ entries: entries(1, 2, 1), hardState: hardState(1, 1) }, false);
    await s.save({ entries: [], snapshot: snapshot(7, 2), hardState: hardState(2, 7) }, false);
    disk.crash(new SeededRand(1));
    t.equal((await (await SimLogStore.open(disk)).load()).snapshot.metadata.index, 7);
  });

  t.test("a torn last write is detected on load", async (t) => {
    for (let seed = 1; seed <= 30; seed++) {
      const rand = new SeededRand(seed);
      const disk = new SimDisk(`sim-${seed}`);
      await simWorkload(await SimLogStore.open(disk), new LogModel(), rand, 12, () => {});
      const torn = disk.tearLastWrite(seed % 2 === 0 ? rand : undefined);
      t.ok(torn > 0, `seed ${seed}: ${torn} records torn`);
      const err = await corruption(SimLogStore.open(disk).then((s) => s.load()));
      t.equal(err.file, disk.name);
    }
  });

  t.test("a flipped bit in any record is detected on load", async (t) => {
    for (let seed = 1; seed <= 60; seed++) {
      const rand = new SeededRand(seed);
      const disk = new SimDisk(`sim-${seed}`);
      await simWorkload(await SimLogStore.open(disk), new LogModel(), rand, 12, () => {});
      const key = disk.flipBit(rand);
      const err = await corruption(SimLogStore.open(disk).then((s) => s.load()));
      t.match(err.message, /checksum mismatch|too short/, `seed ${seed}: key ${key}`);
    }
  });
});
