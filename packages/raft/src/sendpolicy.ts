/**
 * When a Ready's messages may leave relative to the write of the same Ready: the one policy that
 * the store's node loop (packages/store, raftnode/node.ts) runs and the simulator's "store" loop
 * drives, so that the simulator checks the policy that is deployed.
 *
 * A message may leave while the Ready's entries and hard state are still being written when it
 * promises nothing about this node's disk (Raft dissertation §10.2.1): a leader's appends and
 * heartbeats (its own copy counts toward commit only after advance(), onPersisted), forwarded
 * proposals and reads, pre-votes and their answers (they change no term or vote), heartbeat and
 * read-index answers, and hand-over signals. Vote requests, vote answers and append
 * acknowledgements wait for the disk (etcd's msgsAfterAppend holds the answers; vote requests are
 * held as well, which costs one fsync of latency per election and promises nothing early).
 */
import { type HardState, type Message, MessageType, type Ready } from "./types.js";

const sentBeforeWrite: ReadonlySet<MessageType> = new Set([
  MessageType.MsgApp,
  MessageType.MsgHeartbeat,
  MessageType.MsgSnap,
  MessageType.MsgProp,
  MessageType.MsgReadIndex,
  MessageType.MsgReadIndexResp,
  MessageType.MsgHeartbeatResp,
  MessageType.MsgTransferLeader,
  MessageType.MsgTimeoutNow,
  MessageType.MsgPreVote,
  MessageType.MsgPreVoteResp,
]);

/** Whether `m` may be sent before the write of the Ready that carries it completes. */
export function mayPrecedeWrite(m: Message): boolean {
  return sentBeforeWrite.has(m.type);
}

/** A Ready's messages split into those sent when its write starts and those sent after it. */
export function splitByWrite(msgs: readonly Message[]): { early: Message[]; late: Message[] } {
  const early: Message[] = [];
  const late: Message[] = [];
  for (const m of msgs) (mayPrecedeWrite(m) ? early : late).push(m);
  return { early, late };
}

/**
 * Whether the Ready's only durable change is a newer commit index. Raft needs the term and vote
 * durable, not the commit (a restarted member learns it again), so the store does not write such
 * a Ready: the newer commit goes with the next write, and its messages leave at once.
 * `stored` is the hard state as last written (or kept in memory for the next write).
 */
export function isCommitOnly(rd: Ready, stored: HardState): boolean {
  const hs = rd.hardState;
  return (
    hs !== undefined &&
    rd.entries.length === 0 &&
    rd.snapshot === undefined &&
    hs.term === stored.term &&
    hs.vote === stored.vote
  );
}
