import type { Rand } from "./rand.js";
import type { Storage } from "./storage.js";
import type { NodeId } from "./types.js";

/** How the core is set up (etcd's raft.Config). Times are in ticks; the caller decides a tick's length. */
export interface Config {
  readonly id: NodeId;
  /** Ticks without hearing a leader before a follower campaigns; randomized in [e, 2e). */
  readonly electionTick: number;
  /** Ticks between leader heartbeats; must be < electionTick. */
  readonly heartbeatTick: number;
  readonly storage: Storage;
  /** The last index the application applied before this (re)start. */
  readonly applied?: number;
  /** Bytes of entries in one MsgApp (a single larger entry is still sent). Default 1 MiB. */
  readonly maxSizePerMsg?: number;
  /** Committed entries handed out in one Ready, in bytes. Default unlimited. */
  readonly maxCommittedSizePerReady?: number;
  /** Bytes of proposed but uncommitted entries before proposals are dropped. Default unlimited. */
  readonly maxUncommittedEntriesSize?: number;
  /** In-flight MsgApp messages per follower in Replicate state. Default 256. */
  readonly maxInflightMsgs?: number;
  /** A leader that has not heard a quorum for an election timeout steps down. */
  readonly checkQuorum?: boolean;
  /** Pre-vote round first, so a partitioned node cannot disrupt the cluster on rejoin (§9.6). */
  readonly preVote?: boolean;
  /**
   * "safe" (default): ReadIndex confirms leadership with a heartbeat round. "leaseBased": the
   * leader answers from its lease alone; this depends on bounded clock drift and needs checkQuorum.
   */
  readonly readOnlyOption?: "safe" | "leaseBased";
  /** A follower rejects proposals (NotLeaderError) instead of forwarding them to the leader. */
  readonly disableProposalForwarding?: boolean;
  /** Seeded randomness for election timeouts. */
  readonly rand: Rand;
}

export const defaults = {
  maxSizePerMsg: 1024 * 1024,
  maxInflightMsgs: 256,
};

export function validateConfig(c: Config): void {
  const fail = (why: string) => {
    throw new Error(`raft: invalid config: ${why}`);
  };
  if (!Number.isSafeInteger(c.id) || c.id <= 0) fail("id must be a positive integer");
  if (!(c.heartbeatTick > 0)) fail("heartbeatTick must be greater than 0");
  if (!(c.electionTick > c.heartbeatTick)) fail("electionTick must be greater than heartbeatTick");
  if (c.maxInflightMsgs !== undefined && !(c.maxInflightMsgs > 0))
    fail("maxInflightMsgs must be greater than 0");
  if (c.readOnlyOption === "leaseBased" && !c.checkQuorum)
    fail("checkQuorum must be enabled when readOnlyOption is leaseBased");
}
