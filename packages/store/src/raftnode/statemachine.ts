import type { Entry } from "@skiff/raft";

/** The replicated application (the store's MVCC plugs in here). */
export interface StateMachine {
  /** Applies one committed normal entry; the result goes to the proposer, if it is waiting here. */
  apply(entry: Entry): unknown;
  /** The state as of the last applied entry, for a snapshot. */
  snapshot(): Uint8Array;
  /** Replaces the state with a snapshot's. */
  restore(data: Uint8Array): void;
}
