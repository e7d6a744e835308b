/**
 * The plain data of Raft: entries, states and messages. Everything here is structured-clone and
 * msgpackr friendly (numbers, strings, booleans, arrays, Uint8Array), so a transport can encode it
 * as it is. Names follow etcd's raftpb.
 */

/** A member id. 0 means "none" (no leader, no vote), as in etcd. */
export type NodeId = number;
export const None: NodeId = 0;

export enum EntryType {
  Normal = 0,
  /** data is an encoded ConfChange (see confchange.ts). */
  ConfChange = 1,
}

export interface Entry {
  readonly term: number;
  readonly index: number;
  readonly type: EntryType;
  readonly data: Uint8Array;
}

/** What must survive a crash besides the log (Raft paper Figure 2, "persistent state"). */
export interface HardState {
  readonly term: number;
  readonly vote: NodeId;
  readonly commit: number;
}

export enum StateType {
  Follower = 0,
  Candidate = 1,
  Leader = 2,
  PreCandidate = 3,
}

/** Volatile state that is useful to the caller (logging, routing) but need not be persisted. */
export interface SoftState {
  readonly lead: NodeId;
  readonly raftState: StateType;
}

/** The membership as of some log index. Single-server changes: no joint configuration. */
export interface ConfState {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
}

export interface SnapshotMetadata {
  readonly index: number;
  readonly term: number;
  readonly confState: ConfState;
}

export interface Snapshot {
  readonly metadata: SnapshotMetadata;
  /** The application's state machine image as of metadata.index. */
  readonly data: Uint8Array;
}

export enum MessageType {
  /** Local: start an election (campaign). */
  MsgHup = 0,
  /** Local: leader sends heartbeats. */
  MsgBeat = 1,
  /** Local or forwarded: propose entries. */
  MsgProp = 2,
  MsgApp = 3,
  MsgAppResp = 4,
  MsgVote = 5,
  MsgVoteResp = 6,
  MsgSnap = 7,
  MsgHeartbeat = 8,
  MsgHeartbeatResp = 9,
  /** Local: the transport could not reach `from`. */
  MsgUnreachable = 10,
  /** Local: outcome of sending a snapshot to `from` (reject = failed). */
  MsgSnapStatus = 11,
  /** Local: leader checks it still hears a quorum. */
  MsgCheckQuorum = 12,
  /** Local or forwarded: transfer leadership to `from`. */
  MsgTransferLeader = 13,
  /** Leader tells the transferee to campaign at once (ignoring its election timer). */
  MsgTimeoutNow = 14,
  MsgReadIndex = 15,
  MsgReadIndexResp = 16,
  MsgPreVote = 17,
  MsgPreVoteResp = 18,
}

export interface Message {
  readonly type: MessageType;
  readonly to: NodeId;
  readonly from: NodeId;
  readonly term: number;
  /** MsgApp: term of the entry at `index`; MsgAppResp reject: term hint; votes: last log term. */
  readonly logTerm: number;
  /** MsgApp: index preceding `entries`; MsgAppResp: matched index; votes: last log index. */
  readonly index: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
  readonly snapshot?: Snapshot;
  readonly reject: boolean;
  /** MsgAppResp reject: the follower's suggested index to probe next (fast backtracking). */
  readonly rejectHint: number;
  /** MsgHeartbeat(Resp)/MsgReadIndex(Resp): the ReadIndex request context; MsgVote: campaign kind. */
  readonly context?: Uint8Array;
}

/** The answer to a ReadIndex request: reads for `requestCtx` may be served once `index` is applied. */
export interface ReadState {
  readonly index: number;
  readonly requestCtx: Uint8Array;
}

/**
 * What the core asks its caller to do, in this order, before calling `advance()`:
 *
 * 1. **Persist first**: write `entries` (appending, after truncating any conflicting suffix),
 *    `hardState` and `snapshot` to stable storage, with an fsync when `mustSync` is true.
 * 2. **Only then send** `messages`. A vote, an append acknowledgement or an entry a follower
 *    acknowledges must be durable before anyone hears of it, or a crash could make the node
 *    forget a promise (Raft paper §5.2, §5.3; etcd's Ready contract).
 * 3. Apply `committedEntries` to the state machine (they are already durable on a quorum), and
 *    serve `readStates` once their index is applied.
 */
export interface Ready {
  /** Set only when it changed since the last Ready. */
  readonly softState?: SoftState;
  /** Set only when it changed since the last Ready. Persist before sending `messages`. */
  readonly hardState?: HardState;
  readonly readStates: readonly ReadState[];
  /** New log entries to persist before sending `messages`. */
  readonly entries: readonly Entry[];
  /** A snapshot to persist and install (replacing the state machine) before anything else. */
  readonly snapshot?: Snapshot;
  /** Entries known committed: apply them in order. */
  readonly committedEntries: readonly Entry[];
  /** Outbound messages. Send them only AFTER entries, hardState and snapshot are persisted. */
  readonly messages: readonly Message[];
  /** Whether the persistence of this Ready needs an fsync (term, vote or entries changed). */
  readonly mustSync: boolean;
}
