/**
 * The MVCC's data on LevelDB (etcd's backend: bbolt with a batch interval). Applying a write stages
 * its records here; a flush writes everything staged plus the consistent index (the last applied
 * Raft index) in one LevelDB batch, without fsync: the Raft log is the durability, and a member
 * that restarts replays the log from the consistent index it finds here (etcd's
 * backend.batchInterval and consistentIndex). Once flushed, a record's value leaves memory and is
 * read back by revision (LevelDB's block cache and the OS page cache hold the hot ones).
 */
import { mkdir } from "node:fs/promises";
import { Level } from "level";
import type { History, Rec, ValueSource } from "../mvcc/history.js";
import {
  decodeIndexRecord,
  decodeNumber,
  encodeIndexRecord,
  encodeNumber,
  INDEX,
  metaKey,
  parseRevKey,
  prefixEnd,
  revKey,
  VALUE,
} from "./records.js";

type Db = Level<Uint8Array, Uint8Array>;
type Op = { type: "put"; key: Uint8Array; value: Uint8Array } | { type: "del"; key: Uint8Array };

/** etcd's default backend batch interval and limit. */
const BATCH_INTERVAL_MS = 100;
const BATCH_LIMIT_BYTES = 4 * 1024 * 1024;
/** Records per LevelDB read while streaming a snapshot, and while loading the index at start. */
const READ_CHUNK = 1024;
const LOAD_CHUNK = 16384;

/** What the last flush left on disk. */
export interface DiskMeta {
  consistentIndex: number;
  revision: number;
  compactRevision: number;
  /** The state machine's own state (leases, alarms, attributes), opaque here. */
  app: Uint8Array | undefined;
}

const keys = {
  consistentIndex: metaKey("consistent_index"),
  revision: metaKey("revision"),
  compactRevision: metaKey("compact_revision"),
  app: metaKey("app"),
} as const;

export class MvccDisk implements ValueSource {
  private ops: Op[] = [];
  private opBytes = 0;
  /** Records whose value is in memory until the batch holding it is written. */
  private inMemory: Rec[] = [];
  private clearFirst = false;
  private chain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private failure: Error | undefined;
  /** The state the next flush records (set by the state machine as it applies). */
  private next: DiskMeta = { consistentIndex: 0, revision: 1, compactRevision: -1, app: undefined };
  private appDirty = false;
  private durable = 0;
  /** The state the last flush wrote. */
  private flushed: DiskMeta = { ...this.next };
  private closed = false;

  private constructor(
    readonly dir: string,
    private readonly db: Db,
  ) {}

  static async open(dir: string): Promise<MvccDisk> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: "view", valueEncoding: "view" });
    await db.open();
    return new MvccDisk(dir, db);
  }

  /** The consistent index of the last completed flush. */
  get durableIndex(): number {
    return this.durable;
  }

  /**
   * Reads the metadata and every index record into `h` (values stay on disk). Records past the
   * stored revision are from a flush cut short: they are dropped, and the log replays them.
   */
  async load(h: History): Promise<DiskMeta> {
    const meta: DiskMeta = {
      consistentIndex: decodeNumber(await this.db.get(keys.consistentIndex)) ?? 0,
      revision: decodeNumber(await this.db.get(keys.revision)) ?? 1,
      compactRevision: decodeNumber(await this.db.get(keys.compactRevision)) ?? -1,
      app: await this.db.get(keys.app),
    };
    const stray: Op[] = [];
    const it = this.db.iterator({ gte: new Uint8Array([INDEX]), lt: prefixEnd(INDEX) });
    h.beginBulk();
    try {
      for (;;) {
        const batch = await it.nextv(LOAD_CHUNK);
        if (batch.length === 0) break;
        for (const [key, value] of batch) {
          const { main, sub } = parseRevKey(key);
          if (main > meta.revision) {
            stray.push({ type: "del", key }, { type: "del", key: revKey(VALUE, main, sub) });
            continue;
          }
          const { k, rec } = decodeIndexRecord(main, sub, value);
          h.append(k, rec);
        }
      }
    } finally {
      h.endBulk();
      await it.close();
    }
    if (stray.length > 0) await this.db.batch(stray);
    h.values = this;
    this.next = { ...meta, app: undefined };
    this.flushed = { ...this.next };
    this.durable = meta.consistentIndex;
    return meta;
  }

  read(main: number, sub: number): Uint8Array {
    const v = this.db.getSync(revKey(VALUE, main, sub));
    // Assertion: the index names a revision whose value was written with it.
    if (v === undefined)
      throw new Error(`mvcc disk: value of revision ${main}.${sub} is missing in ${this.dir}`);
    return v;
  }

  /** A committed write's record: its index entry and (for a put) its value. */
  stagePut(k: string, rec: Rec): void {
    this.push({ type: "put", key: revKey(INDEX, rec.main, rec.sub), value: encodeIndexRecord(k, rec) });
    if (rec.live && rec.value !== undefined) {
      this.push({ type: "put", key: revKey(VALUE, rec.main, rec.sub), value: rec.value });
      this.inMemory.push(rec);
    }
  }

  /** Records a compaction dropped. */
  stageDrop(recs: readonly Rec[]): void {
    for (const r of recs) {
      this.push({ type: "del", key: revKey(INDEX, r.main, r.sub) });
      if (r.live) this.push({ type: "del", key: revKey(VALUE, r.main, r.sub) });
    }
  }

  /** Everything goes: the next flush empties the database first (a snapshot from the leader). */
  stageReset(): void {
    this.ops = [];
    this.opBytes = 0;
    this.clearFirst = true;
  }

  /** The state after the last applied entry; written with the next flush. */
  noteApplied(consistentIndex: number, revision: number, compactRevision: number): void {
    this.next.consistentIndex = consistentIndex;
    this.next.revision = revision;
    this.next.compactRevision = compactRevision;
    this.schedule();
  }

  /** The state machine's own state changed; `app` is its encoding. */
  noteApp(app: Uint8Array): void {
    this.next.app = app;
    this.appDirty = true;
    this.schedule();
  }

  /** Writes everything staged so far; resolves with the consistent index now on disk. */
  flush(): Promise<number> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.failure) return Promise.reject(this.failure);
    const run = this.chain.then(() => this.writeStaged());
    this.chain = run.catch((e: Error) => {
      this.failure ??= e;
    });
    return run.then(() => this.durable);
  }

  /**
   * Flushes, then opens a consistent view (a LevelDB snapshot) of exactly what was flushed: writes
   * that follow go on, the view does not see them. The caller closes it.
   */
  async snapshotView(): Promise<SnapshotView> {
    let view: SnapshotView | undefined;
    // Taken inside the flush chain, so no later batch slips in between.
    const taken = this.chain.then(async () => {
      await this.writeStaged();
      view = new SnapshotView(this.db, this.durable, this.flushed.revision, this.flushed.compactRevision);
    });
    this.chain = taken.catch((e: Error) => {
      this.failure ??= e;
    });
    await taken;
    return view as SnapshotView;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush().catch(() => undefined);
    this.closed = true;
    await this.chain;
    await this.db.close();
  }

  private push(op: Op): void {
    this.ops.push(op);
    this.opBytes += op.key.length + (op.type === "put" ? op.value.length : 0);
    if (this.opBytes >= BATCH_LIMIT_BYTES) void this.flush().catch(() => undefined);
  }

  private schedule(): void {
    if (this.timer !== undefined || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush().catch(() => undefined);
    }, BATCH_INTERVAL_MS);
    this.timer.unref();
  }

  private async writeStaged(): Promise<void> {
    const next = { ...this.next };
    if (this.ops.length === 0 && !this.appDirty && next.consistentIndex === this.durable && !this.clearFirst)
      return;
    const ops = this.ops;
    const recs = this.inMemory;
    const clear = this.clearFirst;
    this.ops = [];
    this.opBytes = 0;
    this.inMemory = [];
    this.clearFirst = false;
    ops.push(
      { type: "put", key: keys.consistentIndex, value: encodeNumber(next.consistentIndex) },
      { type: "put", key: keys.revision, value: encodeNumber(next.revision) },
      { type: "put", key: keys.compactRevision, value: encodeNumber(next.compactRevision) },
    );
    if (this.appDirty && next.app !== undefined) ops.push({ type: "put", key: keys.app, value: next.app });
    this.appDirty = false;
    if (clear) await this.db.clear();
    // A large batch (a snapshot's install) goes in pieces; the meta records are in the last one,
    // and load() drops records past the stored revision if a crash cuts it short.
    for (let at = 0; at < ops.length; ) {
      let bytes = 0;
      let end = at;
      while (end < ops.length && (bytes < BATCH_LIMIT_BYTES || end === at)) {
        const op = ops[end] as Op;
        bytes += op.key.length + (op.type === "put" ? op.value.length : 0);
        end++;
      }
      await this.db.batch(ops.slice(at, end));
      at = end;
    }
    for (const r of recs) r.value = undefined;
    this.durable = next.consistentIndex;
    this.flushed = next;
  }
}

/** A consistent read-only view of the database, for streaming a snapshot out in chunks. */
export class SnapshotView {
  private readonly snap: ReturnType<Db["snapshot"]>;

  constructor(
    private readonly db: Db,
    readonly consistentIndex: number,
    readonly revision: number,
    readonly compactRevision: number,
  ) {
    this.snap = db.snapshot();
  }

  /** Records (values included) in revision order, a chunk at a time. */
  async *records(): AsyncGenerator<{ k: string; rec: Rec }[]> {
    const it = this.db.iterator({ gte: new Uint8Array([INDEX]), lt: prefixEnd(INDEX), snapshot: this.snap });
    try {
      for (;;) {
        const batch = await it.nextv(READ_CHUNK);
        if (batch.length === 0) return;
        const out: { k: string; rec: Rec }[] = [];
        const valueKeys: Uint8Array[] = [];
        for (const [key, value] of batch) {
          const { main, sub } = parseRevKey(key);
          const r = decodeIndexRecord(main, sub, value);
          out.push(r);
          if (r.rec.live) valueKeys.push(revKey(VALUE, main, sub));
        }
        const values = await this.db.getMany(valueKeys, { snapshot: this.snap });
        let v = 0;
        for (const r of out) {
          if (!r.rec.live) continue;
          const value = values[v++];
          if (value === undefined)
            throw new Error(`mvcc disk: value of ${r.rec.main}.${r.rec.sub} is missing`);
          r.rec.value = value;
        }
        yield out;
      }
    } finally {
      await it.close();
    }
  }

  /** The state machine's own state as of the view. */
  app(): Promise<Uint8Array | undefined> {
    return this.db.get(keys.app, { snapshot: this.snap });
  }

  close(): Promise<void> {
    return this.snap.close();
  }
}
