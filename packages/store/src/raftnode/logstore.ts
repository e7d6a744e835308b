import type { Entry, HardState, Snapshot } from "@skiff/raft";

/** Everything a member persisted, as read back at start-up. */
export interface PersistedState {
  readonly hardState: HardState;
  /** The latest snapshot (index 0 and empty data when there is none). */
  readonly snapshot: Snapshot;
  /** Every entry after snapshot.metadata.index, contiguous and in order. */
  readonly entries: Entry[];
}

/** What one Ready asks to persist: written as one atomic batch. */
export interface LogUpdate {
  /** New entries; any stored entry at or after entries[0].index is replaced (truncated). */
  readonly entries: readonly Entry[];
  readonly hardState?: HardState;
  /** A snapshot received from the leader: replaces the whole log (entries up to its index go). */
  readonly snapshot?: Snapshot;
}

/**
 * A member's durable Raft log (the "WAL"): entries, hard state and snapshot. Two implementations
 * share one contract test suite: LevelDB (real disk, fsync) and the simulator's disk.
 */
export interface LogStore {
  /**
   * Reads everything back and verifies it: every entry's checksum, contiguity, and that the hard
   * state's commit index is in the log. Throws CorruptionError (naming the file and the index) on
   * any damage: a member never serves from a damaged log.
   */
  load(): Promise<PersistedState>;
  /**
   * Writes an update as one batch. With sync, resolves only after the data is on stable storage
   * (fsync). Rejects with StorageWriteError on any I/O failure; after a failure the store refuses
   * further writes (it is "failed"), because what reached the disk is then unknown.
   */
  save(update: LogUpdate, sync: boolean): Promise<void>;
  /**
   * Records a snapshot the application took at snapshot.metadata.index (which is <= the last
   * entry) and deletes entries up to compactIndex (<= the snapshot's index), with the member's
   * current hard state (its commit is at least the snapshot's index). One synced batch.
   */
  saveSnapshot(snapshot: Snapshot, compactIndex: number, hardState: HardState): Promise<void>;
  close(): Promise<void>;
}

/** The persisted log is damaged: refuse to start. */
export class CorruptionError extends Error {
  constructor(
    readonly file: string,
    readonly index: number | undefined,
    detail: string,
  ) {
    super(`corrupt raft log in ${file}${index === undefined ? "" : ` at index ${index}`}: ${detail}`);
    this.name = "CorruptionError";
  }
}

/** A write failed (disk full, I/O error). The member stops accepting writes. */
export class StorageWriteError extends Error {
  constructor(
    readonly file: string,
    cause: unknown,
  ) {
    super(`raft log write to ${file} failed: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = "StorageWriteError";
  }
}
