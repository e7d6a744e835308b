/**
 * The simulator's disk: an in-memory key-value disk with the faults of a real one, and a LogStore
 * on it that writes the same records and runs the same checks as the LevelDB store (logrecord.ts),
 * so a fault the simulator injects is caught exactly as on a real disk. Deterministic: no timers,
 * no global randomness (faults take the simulation's seeded Rand).
 */
import type { HardState, Rand, Snapshot } from "@skiff/raft";
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
} from "../raftnode/logrecord.js";
import {
  type LogStore,
  type LogUpdate,
  type PersistedState,
  StorageWriteError,
} from "../raftnode/logstore.js";

const hexKey = (key: Uint8Array) => Buffer.from(key).toString("hex");
const keyBytes = (hex: string) => new Uint8Array(Buffer.from(hex, "hex"));

/**
 * One member's disk. Writes are batches, applied in order. A synced batch is durable together with
 * every batch before it (fsync of an append-only log, as LevelDB's); the unsynced batches since the
 * last sync are in the page cache and a crash keeps only some prefix of them.
 */
export class SimDisk {
  /** What survives any crash (hex key -> record). */
  private readonly stable = new Map<string, Uint8Array>();
  /** Unsynced batches since the last synced one, oldest first. */
  private pending: LogOp[][] = [];
  /** The last batch written, for tearLastWrite. */
  private lastBatch: readonly LogOp[] | undefined;
  private failing = false;
  /** Bumped by every crash: a store opened before it is dead and may not write. */
  generation = 0;

  constructor(readonly name = "simdisk") {}

  /** Makes every later write fail (a full or broken disk) until called with false. */
  failWrites(on: boolean): void {
    this.failing = on;
  }

  write(ops: readonly LogOp[], sync: boolean): void {
    if (this.failing) throw new Error(`ENOSPC: no space left on device (simulated, ${this.name})`);
    const batch = [...ops];
    this.lastBatch = batch;
    this.pending.push(batch);
    if (sync) this.flush(this.pending.length);
  }

  /** Makes the first n pending batches durable. */
  private flush(n: number): void {
    for (const batch of this.pending.slice(0, n)) {
      for (const op of batch) {
        if (op.type === "put") this.stable.set(hexKey(op.key), op.value);
        else this.stable.delete(hexKey(op.key));
      }
    }
    this.pending = [];
  }

  /** Power loss: every synced write survives, of the unsynced ones a seeded-random prefix. */
  crash(rand: Rand): void {
    this.flush(rand.intn(this.pending.length + 1));
    this.generation++;
  }

  /**
   * Power loss in the middle of the last batch: everything before it survives, and of its records
   * a prefix (random with rand, else the first half) is whole and the rest are torn (cut short,
   * as a partly written sector). Returns how many records were torn.
   */
  tearLastWrite(rand?: Rand): number {
    const last = this.lastBatch;
    this.flush(this.pending.length);
    this.generation++;
    if (last === undefined) return 0;
    const puts = last.filter((op) => op.type === "put");
    if (puts.length === 0) return 0;
    const whole = rand === undefined ? Math.floor(puts.length / 2) : rand.intn(puts.length);
    for (const op of puts.slice(whole)) {
      this.stable.set(hexKey(op.key), op.value.slice(0, Math.floor(op.value.length / 2)));
    }
    return puts.length - whole;
  }

  /** Bit rot: flips one random bit of one random stored record. Returns the key's hex. */
  flipBit(rand: Rand): string {
    const keys = [...this.view().keys()].sort();
    if (keys.length === 0) throw new Error(`flipBit: ${this.name} is empty`);
    const key = keys[rand.intn(keys.length)] as string;
    // Flip the newest copy, the one a read returns (it may still be in an unsynced batch).
    const op = this.pending
      .flat()
      .reverse()
      .find((o) => o.type === "put" && hexKey(o.key) === key);
    const value = op?.type === "put" ? op.value : (this.stable.get(key) as Uint8Array);
    const damaged = value.slice();
    const bit = rand.intn(damaged.length * 8);
    damaged[bit >> 3] = (damaged[bit >> 3] as number) ^ (1 << (bit & 7));
    if (op?.type === "put")
      this.pending = this.pending.map((b) => b.map((o) => (o === op ? { ...op, value: damaged } : o)));
    else this.stable.set(key, damaged);
    return key;
  }

  /** What a read sees: the durable records with the pending batches applied. */
  private view(): Map<string, Uint8Array> {
    const view = new Map(this.stable);
    for (const op of this.pending.flat()) {
      if (op.type === "put") view.set(hexKey(op.key), op.value);
      else view.delete(hexKey(op.key));
    }
    return view;
  }

  /** Every record in key order (hex preserves byte order). */
  records(): [Uint8Array, Uint8Array][] {
    return [...this.view()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => [keyBytes(k), v]);
  }

  get(key: Uint8Array): Uint8Array | undefined {
    return this.view().get(hexKey(key));
  }
}

export class SimLogStore implements LogStore {
  private failure: StorageWriteError | undefined;
  private readonly generation: number;

  private constructor(
    private readonly disk: SimDisk,
    private bounds: LogBounds,
  ) {
    this.generation = disk.generation;
  }

  /** Opens the log on a disk (after a crash: the restarted member's view of it). */
  static async open(disk: SimDisk): Promise<SimLogStore> {
    const entryKeys = disk.records().filter(([k]) => inEntryRange(k));
    return new SimLogStore(
      disk,
      boundsAtOpen(
        disk.name,
        disk.get(SNAPSHOT_KEY),
        entryKeys.map(([k]) => k),
        entryKeys.at(-1)?.[1],
      ),
    );
  }

  async load(): Promise<PersistedState> {
    const { state, bounds } = await verifyLog(this.disk.name, this.disk.records());
    this.bounds = bounds;
    return state;
  }

  async save(update: LogUpdate, sync: boolean): Promise<void> {
    this.write(planSave(this.bounds, update), sync || update.snapshot !== undefined); // as LevelDbLogStore
  }

  async saveSnapshot(snapshot: Snapshot, compactIndex: number, hardState: HardState): Promise<void> {
    this.write(planSnapshot(this.bounds, snapshot, compactIndex, hardState), true);
  }

  /** Lands the batch on the disk at once (the caller's await is the only delay). */
  private write(plan: WritePlan, sync: boolean): void {
    if (this.failure !== undefined) {
      throw new StorageWriteError(
        this.disk.name,
        `refused: an earlier write failed (${this.failure.message})`,
      );
    }
    try {
      if (this.disk.generation !== this.generation) throw new Error("the disk crashed under this store");
      this.disk.write(plan.ops, sync);
    } catch (err) {
      this.failure = new StorageWriteError(this.disk.name, err);
      throw this.failure;
    }
    this.bounds = plan.commit();
  }

  async close(): Promise<void> {}
}

function inEntryRange(key: Uint8Array): boolean {
  return Buffer.compare(key, ENTRY_KEY_MIN) >= 0 && Buffer.compare(key, ENTRY_KEY_MAX) <= 0;
}
