import type { NodeId } from "./types.js";

/** Base of every error the core raises on purpose; `code` is stable for callers to branch on. */
export class RaftError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The requested index is below the first available one: it was compacted into a snapshot. */
export class CompactedError extends RaftError {
  constructor() {
    super("ErrCompacted", "requested index is unavailable due to compaction");
  }
}

/** The requested index is past the last one in storage. */
export class UnavailableError extends RaftError {
  constructor() {
    super("ErrUnavailable", "requested entry at index is unavailable");
  }
}

/** A snapshot older than the one storage has was offered. */
export class SnapOutOfDateError extends RaftError {
  constructor() {
    super("ErrSnapOutOfDate", "requested index is older than the existing snapshot");
  }
}

/** The application cannot produce a snapshot right now; the leader retries later. */
export class SnapshotTemporarilyUnavailableError extends RaftError {
  constructor() {
    super("ErrSnapshotTemporarilyUnavailable", "snapshot is temporarily unavailable");
  }
}

/** The proposal was dropped: no leader known, a transfer in progress, or this node was removed. */
export class ProposalDroppedError extends RaftError {
  constructor(reason: string) {
    super("ErrProposalDropped", `raft proposal dropped: ${reason}`);
  }
}

/** Proposal forwarding is disabled and this node is not the leader: ask `leader` instead. */
export class NotLeaderError extends RaftError {
  constructor(readonly leader: NodeId) {
    super("ErrNotLeader", `not the leader; the leader is ${leader === 0 ? "unknown" : leader}`);
  }
}

/** An impossible state: crash loudly rather than corrupt data (assertions stay on in production). */
export function assert(cond: unknown, message: string): asserts cond {
  if (!cond) throw new RaftError("AssertionFailed", `raft: assertion failed: ${message}`);
}
