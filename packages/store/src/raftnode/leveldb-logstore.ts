/**
 * The durable Raft log on LevelDB (one database per member). The format and its checks live in
 * logrecord.ts, shared with the simulator's disk; this file adds LevelDB's I/O, the fsync points
 * and the translation of LevelDB's own errors. See docs/storage.md.
 */
import { mkdir, open, readdir, readFile, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { HardState, Snapshot } from "@skiff/raft";
import { Level } from "level";
import { liveTables, verifyTable } from "./leveldb-table.js";
import {
  boundsAtOpen,
  ENTRY_KEY_MAX,
  ENTRY_KEY_MIN,
  type LogBounds,
  type LogOp,
  planSave,
  planSnapshot,
  SNAPSHOT_KEY,
  verifyLog,
  type WritePlan,
} from "./logrecord.js";
import {
  CorruptionError,
  type LogStore,
  type LogUpdate,
  type PersistedState,
  StorageWriteError,
} from "./logstore.js";

type Db = Level<Uint8Array, Uint8Array>;

/** Records read per round trip to LevelDB while loading. */
const LOAD_CHUNK = 512;

export class LevelDbLogStore implements LogStore {
  /** Set by the first failed write: from then on every write is refused (what reached disk is unknown). */
  private failure: StorageWriteError | undefined;
  /** Writes run one at a time, in call order, so each batch is planned against the bounds the previous one left. */
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    /** The member's LevelDB directory: named by every CorruptionError and StorageWriteError. */
    readonly dir: string,
    private readonly db: Db,
    private bounds: LogBounds,
  ) {}

  /**
   * Opens the member's log, creating it only when the directory is missing or empty. LevelDB's
   * own open errors (a damaged CURRENT, MANIFEST or table file) become CorruptionError naming the file.
   */
  static async open(dir: string): Promise<LevelDbLogStore> {
    const files = await listDir(dir);
    if (files === undefined || files.length === 0) await create(dir);
    else {
      checkLayout(dir, files);
      await checkTables(dir, files);
    }
    // Never createIfMissing on an existing log: LevelDB answers a lost CURRENT file with a fresh,
    // empty database (and deletes the old files as obsolete), a member that forgot its votes.
    const db = newDb(dir, false);
    try {
      await db.open();
      const snapshot = await db.get(SNAPSHOT_KEY);
      const keys = await db.keys({ gte: ENTRY_KEY_MIN, lte: ENTRY_KEY_MAX }).all();
      const last = keys.at(-1);
      const lastRecord = last === undefined ? undefined : await db.get(last);
      return new LevelDbLogStore(dir, db, boundsAtOpen(dir, snapshot, keys, lastRecord));
    } catch (err) {
      await db.close().catch(() => {});
      throw levelError(dir, err);
    }
  }

  async load(): Promise<PersistedState> {
    return this.serialized(async () => {
      try {
        const { state, bounds } = await verifyLog(this.dir, this.scan());
        this.bounds = bounds;
        return state;
      } catch (err) {
        throw levelError(this.dir, err);
      }
    });
  }

  /** Every record in key order, read in chunks so a long log is not read in one call. */
  private async *scan(): AsyncGenerator<readonly [Uint8Array, Uint8Array]> {
    const it = this.db.iterator();
    try {
      for (;;) {
        const chunk = await it.nextv(LOAD_CHUNK);
        if (chunk.length === 0) return;
        yield* chunk;
      }
    } finally {
      await it.close();
    }
  }

  save(update: LogUpdate, sync: boolean): Promise<void> {
    // Group commit: one Ready is one batch, and one fsync when the Ready asks for it. A leader's
    // snapshot is always synced (as etcd's WAL.SaveSnapshot): it replaces the whole log.
    return this.write(() => planSave(this.bounds, update), sync || update.snapshot !== undefined);
  }

  saveSnapshot(snapshot: Snapshot, compactIndex: number, hardState: HardState): Promise<void> {
    // Always synced: the entries it deletes are gone only once the snapshot that covers them is durable.
    return this.write(() => planSnapshot(this.bounds, snapshot, compactIndex, hardState), true);
  }

  private write(plan: () => WritePlan, sync: boolean): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.refused());
    return this.serialized(async () => {
      if (this.failure !== undefined) throw this.refused();
      const p = plan(); // an assertion here is a caller bug, not a disk failure: the store stays usable
      try {
        await this.db.batch(p.ops as LogOp[], { sync });
      } catch (err) {
        this.failure = new StorageWriteError(this.dir, err);
        throw this.failure;
      }
      this.bounds = p.commit();
    });
  }

  private refused(): StorageWriteError {
    return new StorageWriteError(this.dir, `refused: an earlier write failed (${this.failure?.message})`);
  }

  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn);
    this.queue = run.catch(() => {});
    return run;
  }

  async close(): Promise<void> {
    await this.queue;
    await this.db.close();
  }
}

// classic-level exposes neither paranoid_checks nor verify_checksums (binding.cc reads only
// createIfMissing, errorIfExists, compression, cacheSize, writeBufferSize, blockSize,
// maxOpenFiles, blockRestartInterval, maxFileSize): open() checks the table files' block
// checksums itself (checkTables), and the CRC on each of our records covers the rest.
function newDb(dir: string, createIfMissing: boolean): Db {
  return new Level<Uint8Array, Uint8Array>(dir, {
    keyEncoding: "view",
    valueEncoding: "view",
    createIfMissing,
    errorIfExists: createIfMissing,
  });
}

/**
 * Creates an empty database in a side directory renamed into place when complete (etcd creates
 * its WAL directory the same way): a crash during creation leaves no half-made database, which
 * open() would refuse for good since it never re-creates.
 */
async function create(dir: string): Promise<void> {
  const tmp = join(dirname(dir), `${basename(dir)}.creating`);
  await rm(tmp, { recursive: true, force: true });
  await mkdir(dirname(dir), { recursive: true });
  const db = newDb(tmp, true);
  await db.open();
  await db.close();
  await rename(tmp, dir); // atomic; replaces an empty directory
  // The rename is durable only once the parent directory is synced; else a crash could undo it
  // after writes went into the renamed directory.
  const parent = await open(dirname(dir), "r");
  try {
    await parent.sync();
  } finally {
    await parent.close();
  }
}

/** The directory's file names, or undefined when it does not exist. */
async function listDir(dir: string): Promise<string[] | undefined> {
  try {
    return await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

/**
 * LevelDB opens a database whose .log was deleted without a word, as if the writes since its last
 * flush never happened. But every open of LevelDB starts a new .log that stays until the next
 * open, so a database directory without any .log has lost it: refuse.
 */
function checkLayout(dir: string, files: readonly string[]): void {
  if (!files.includes("CURRENT")) return; // LevelDB reports this itself (createIfMissing is off)
  if (!files.some((f) => /^\d{6,}\.log$/.test(f))) {
    throw new CorruptionError(dir, undefined, "LevelDB's write-ahead .log file is missing (deleted?)");
  }
}

/**
 * Verifies every block checksum of every live table file before LevelDB opens one (see
 * leveldb-table.ts: without it, some damage aborts the process inside LevelDB). Live: named by
 * the MANIFEST that CURRENT names; a MANIFEST that cannot be read is left to LevelDB to report.
 */
async function checkTables(dir: string, files: readonly string[]): Promise<void> {
  const current = files.includes("CURRENT") ? (await readFile(join(dir, "CURRENT"), "utf8")).trim() : "";
  if (!/^MANIFEST-\d+$/.test(current) || !files.includes(current)) return;
  const live = liveTables(await readFile(join(dir, current)));
  if (live === undefined) return;
  for (const f of files) {
    const m = /^(\d{6,})\.(?:ldb|sst)$/.exec(f);
    if (m === null || !live.has(Number(m[1]))) continue;
    const why = verifyTable(await readFile(join(dir, f)));
    if (why !== undefined) throw new CorruptionError(join(dir, f), undefined, `LevelDB table: ${why}`);
  }
}

/** LevelDB's files, as its messages name them (e.g. "Corruption: 1 missing files; e.g.: /d/000005.ldb"). */
const LEVELDB_FILE = /(\d{6,}\.(?:ldb|sst|log)|MANIFEST-\d{6,}|CURRENT)\b/;
/** "IO error: <path>: No such file or directory": a file the database needs is gone. */
const MISSING_FILE = /IO error: (\S+): No such file/;

/**
 * Translates an error LevelDB raised into CorruptionError when it reports damage (its code is
 * LEVEL_CORRUPTION, or it names a missing or unreadable database file), naming that file when it
 * says which. Anything else (LEVEL_LOCKED: another process has the member open) is passed on.
 */
function levelError(dir: string, err: unknown): unknown {
  if (err instanceof CorruptionError) return err;
  const chain = causes(err);
  const text = chain.map((e) => e.message).join(": ");
  const corrupt =
    chain.some((e) => e.code === "LEVEL_CORRUPTION") ||
    /corrupt|does not exist|missing files|no such file/i.test(text) ||
    (chain.some((e) => e.code === "LEVEL_IO_ERROR") && LEVELDB_FILE.test(text));
  if (!corrupt) return err;
  const missing = MISSING_FILE.exec(text)?.[1];
  // A missing file that is not one of LevelDB's names came from CURRENT (it names the MANIFEST).
  const file = LEVELDB_FILE.exec(text)?.[1] ?? (missing === undefined ? undefined : "CURRENT");
  return new CorruptionError(file === undefined ? dir : join(dir, file), undefined, `LevelDB: ${text}`);
}

function causes(err: unknown): { message: string; code?: string }[] {
  const out: { message: string; code?: string }[] = [];
  for (let e: unknown = err; e instanceof Error && out.length < 5; e = e.cause) {
    out.push({ message: e.message, code: (e as { code?: string }).code });
  }
  return out;
}
