import type { Entry } from "@skiff/raft";

/** The replicated application (the store's MVCC plugs in here). */
export interface StateMachine {
  /** Applies one committed normal entry; the result goes to the proposer, if it is waiting here. */
  apply(entry: Entry): unknown;
  /** The state as of the last applied entry, for a snapshot. */
  snapshot(): Uint8Array;
  /** Replaces the state with a snapshot's, taken at Raft index `index`. */
  restore(data: Uint8Array, index: number): void;
  /**
   * A state machine that keeps its state on disk (etcd's backend with its consistent index):
   * `advance` tells it every applied index (conf changes and duplicates included), `persist`
   * writes what was applied and resolves with the index it covers (the log is compacted only
   * behind it), and `streamSnapshot` builds a follower's snapshot off the hot path, at the index
   * it names (at or past the last applied one when called) to `onIndex` as soon as it is fixed.
   */
  advance?(index: number): void;
  persist?(): Promise<number>;
  streamSnapshot?(onIndex: (index: number) => void): Promise<{ index: number; data: Uint8Array }>;
}
