import { type ConfChange, ConfChangeType, encodeConfChange } from "./confchange.js";
import type { Config } from "./config.js";
import { assert, ProposalDroppedError, RaftError } from "./errors.js";
import { isLocalMsg, isResponseMsg, message } from "./message.js";
import { Raft } from "./raft.js";
import { releasePendingReadIndexMessages } from "./roles.js";
import { emptyHardState, type MemoryStorage } from "./storage.js";
import {
  type ConfState,
  type Entry,
  EntryType,
  type HardState,
  type Message,
  MessageType,
  type NodeId,
  None,
  type Ready,
  type SoftState,
  StateType,
} from "./types.js";

export interface Status {
  readonly id: NodeId;
  readonly term: number;
  readonly vote: NodeId;
  readonly commit: number;
  readonly lead: NodeId;
  readonly raftState: StateType;
  readonly applied: number;
  readonly leadTransferee: NodeId;
  readonly config: ConfState;
  /** The leader's view of each member; empty on other roles. */
  readonly progress: ReadonlyMap<NodeId, { match: number; next: number; state: string }>;
}

/** What advance() must acknowledge: recorded when the Ready was handed out. */
interface ReadyMark {
  lastEntry: { index: number; term: number } | undefined;
  snapshotIndex: number | undefined;
  hardState: HardState | undefined;
  committed: readonly Entry[];
  /** Messages to this node to step once the Ready is persisted (its self-votes). */
  stepsOnAdvance: readonly Message[];
}

/**
 * The driver-facing API of the core (etcd's RawNode). Single-threaded and synchronous: the caller
 * feeds it ticks, messages and proposals; collects a Ready; persists, sends and applies; then calls
 * advance(). ready() may not be called again before advance().
 */
export class RawNode {
  readonly raft: Raft;
  private prevSoftState: SoftState;
  private prevHardState: HardState;
  private pending: ReadyMark | undefined;

  constructor(config: Config) {
    this.raft = new Raft(config);
    this.prevSoftState = this.raft.softState();
    const { hardState } = config.storage.initialState();
    this.prevHardState = hardState ?? emptyHardState;
  }

  /** Advances the logical clock by one tick (heartbeats, election timeouts, CheckQuorum). */
  tick(): void {
    this.raft.tick();
  }

  /** Makes this node campaign now (an election, or a pre-vote round first when PreVote is on). */
  campaign(): void {
    this.raft.step(message({ type: MessageType.MsgHup, from: this.raft.id }));
  }

  /**
   * Proposes data to be appended to the log. On a follower the proposal is forwarded to the leader
   * (or NotLeaderError is thrown when forwarding is disabled); ProposalDroppedError when it cannot
   * be taken (no leader, a leadership transfer in progress, too much uncommitted data).
   */
  propose(data: Uint8Array): void {
    this.proposeEntries([{ term: 0, index: 0, type: EntryType.Normal, data }]);
  }

  /** Proposes many entries at once: one message, one append, one broadcast (batching). */
  proposeBatch(datas: readonly Uint8Array[]): void {
    if (datas.length === 0) return;
    this.proposeEntries(datas.map((data) => ({ term: 0, index: 0, type: EntryType.Normal, data })));
  }

  /** Proposes a membership change; it takes effect when the application applies it (applyConfChange). */
  proposeConfChange(cc: ConfChange): void {
    this.proposeEntries([{ term: 0, index: 0, type: EntryType.ConfChange, data: encodeConfChange(cc) }]);
  }

  private proposeEntries(entries: Entry[]): void {
    this.raft.step(message({ type: MessageType.MsgProp, from: this.raft.id, entries }));
  }

  /**
   * Steps a message received from a peer. Messages of local types and responses from unknown
   * peers are ignored; a proposal forwarded to us that we cannot take is dropped (its sender
   * learns by timeout, as in etcd).
   */
  step(m: Message): void {
    if (isLocalMsg(m.type)) return;
    if (
      isResponseMsg(m.type) &&
      !this.raft.prs.progress.has(m.from) &&
      m.type !== MessageType.MsgReadIndexResp
    )
      return;
    try {
      this.raft.step(m);
    } catch (e) {
      if (e instanceof ProposalDroppedError || (e instanceof RaftError && e.code === "ErrNotLeader")) return;
      throw e;
    }
  }

  /**
   * Requests a linearizable read point. The answer is a ReadState with the same ctx in a later
   * Ready: serve the read once the applied index reaches ReadState.index. ctx must be unique.
   */
  readIndex(ctx: Uint8Array): void {
    this.raft.step(message({ type: MessageType.MsgReadIndex, from: None, context: ctx }));
  }

  /** Starts transferring leadership to `to` (it gets MsgTimeoutNow once caught up). */
  transferLeadership(to: NodeId): void {
    this.raft.step(message({ type: MessageType.MsgTransferLeader, from: to }));
  }

  /** Tells the leader that `id` could not be reached (go back to probing it). */
  reportUnreachable(id: NodeId): void {
    this.raft.step(message({ type: MessageType.MsgUnreachable, from: id }));
  }

  /** Tells the leader how sending a snapshot to `id` went. */
  reportSnapshot(id: NodeId, ok: boolean): void {
    this.raft.step(message({ type: MessageType.MsgSnapStatus, from: id, reject: !ok }));
  }

  /**
   * Applies a committed membership change. Call it when applying a ConfChange entry, in log order.
   * Single-server changes (Raft dissertation §4.1): at most one is pending at a time (the leader
   * replaces a second one with an empty entry), which keeps any two majorities overlapping.
   */
  applyConfChange(cc: ConfChange): ConfState {
    const r = this.raft;
    const cs = r.prs.confState();
    const voters = new Set(cs.voters);
    const learners = new Set(cs.learners);
    switch (cc.type) {
      case ConfChangeType.AddNode:
        learners.delete(cc.nodeId); // promotes a learner
        voters.add(cc.nodeId);
        break;
      case ConfChangeType.AddLearnerNode:
        voters.delete(cc.nodeId);
        learners.add(cc.nodeId);
        break;
      case ConfChangeType.RemoveNode:
        voters.delete(cc.nodeId);
        learners.delete(cc.nodeId);
        break;
      default:
        assert(false, `unknown conf change type ${cc.type as number}`);
    }
    r.applyConfState({ voters: [...voters], learners: [...learners] });
    if (r.state === StateType.Leader) {
      if (!r.prs.voters.has(r.id)) {
        // Removed (or demoted) leader: step down so that the remaining voters elect a leader.
        r.becomeFollower(r.term, None);
      } else {
        // The quorum may have shrunk: entries may be committed now.
        if (r.maybeCommit()) releasePendingReadIndexMessages(r);
        r.bcastAppend();
        if (r.leadTransferee !== None && !r.prs.progress.has(r.leadTransferee)) r.abortLeaderTransfer();
      }
    }
    return r.prs.confState();
  }

  hasReady(): boolean {
    const r = this.raft;
    if (!softStateEqual(r.softState(), this.prevSoftState)) return true;
    const hs = r.hardState();
    if (!hardStateEqual(hs, emptyHardState) && !hardStateEqual(hs, this.prevHardState)) return true;
    if (r.raftLog.hasPendingSnapshot()) return true;
    if (r.msgs.length > 0 || r.raftLog.unstableEntries().length > 0 || r.raftLog.hasNextEnts()) return true;
    if (r.msgsAfterAppend.length > 0) return true;
    return r.readStates.length > 0;
  }

  /** Everything the caller must persist, send and apply now (see the Ready type for the order). */
  ready(): Ready {
    assert(this.pending === undefined, "ready() called again before advance()");
    const r = this.raft;
    const entries = r.raftLog.unstableEntries().slice();
    const committedEntries = r.raftLog.nextEnts();
    const lastCommitted = committedEntries[committedEntries.length - 1];
    if (lastCommitted !== undefined) r.raftLog.applying = lastCommitted.index;
    const ss = r.softState();
    const hs = r.hardState();
    const softChanged = !softStateEqual(ss, this.prevSoftState);
    const hardChanged = !hardStateEqual(hs, this.prevHardState);
    const snapshot = r.raftLog.hasPendingSnapshot() ? r.raftLog.unstable.snapshot : undefined;
    const rd: {
      -readonly [K in keyof Ready]: Ready[K];
    } = {
      readStates: r.readStates,
      entries,
      committedEntries,
      messages: r.msgs,
      mustSync:
        entries.length > 0 || hs.term !== this.prevHardState.term || hs.vote !== this.prevHardState.vote,
    };
    if (softChanged) {
      rd.softState = ss;
      this.prevSoftState = ss;
    }
    if (hardChanged) rd.hardState = hs;
    if (snapshot !== undefined) rd.snapshot = snapshot;
    const stepsOnAdvance = r.msgsAfterAppend;
    r.msgs = [];
    r.msgsAfterAppend = [];
    r.readStates = [];
    const last = entries[entries.length - 1];
    this.pending = {
      lastEntry: last === undefined ? undefined : { index: last.index, term: last.term },
      snapshotIndex: snapshot?.metadata.index,
      hardState: hardChanged ? hs : undefined,
      committed: committedEntries,
      stepsOnAdvance,
    };
    return rd;
  }

  /** Acknowledges the last Ready: its entries are stable and its committed entries applied. */
  advance(): void {
    const p = this.pending;
    assert(p !== undefined, "advance() without a ready()");
    this.pending = undefined;
    const r = this.raft;
    if (p.hardState !== undefined) this.prevHardState = p.hardState;
    // The caller installed the snapshot in its state machine: everything up to it is applied.
    if (p.snapshotIndex !== undefined && p.snapshotIndex > r.raftLog.applied)
      r.raftLog.appliedTo(p.snapshotIndex);
    const lastCommitted = p.committed[p.committed.length - 1];
    if (lastCommitted !== undefined) {
      r.raftLog.appliedTo(lastCommitted.index);
      r.reduceUncommittedSize(p.committed);
    }
    if (p.lastEntry !== undefined) {
      r.raftLog.stableTo(p.lastEntry.index, p.lastEntry.term);
      r.onPersisted(p.lastEntry.index, p.lastEntry.term);
    }
    if (p.snapshotIndex !== undefined) r.raftLog.stableSnapTo(p.snapshotIndex);
    // The Ready's hard state is durable now: a candidate may count its own vote (etcd-raft 3.6's
    // stepsOnAdvance). A vote of an older term, or of a campaign given up meanwhile, is ignored.
    for (const m of p.stepsOnAdvance) r.step(m);
  }

  /** Whether a Ready was handed out and not yet advanced. */
  get readyPending(): boolean {
    return this.pending !== undefined;
  }

  status(): Status {
    const r = this.raft;
    const progress = new Map<NodeId, { match: number; next: number; state: string }>();
    if (r.state === StateType.Leader) {
      for (const id of r.prs.ids()) {
        const pr = r.prs.progress.get(id);
        if (pr !== undefined)
          progress.set(id, { match: pr.match, next: pr.next, state: pr.toString().split(" ")[0] as string });
      }
    }
    return {
      id: r.id,
      term: r.term,
      vote: r.vote,
      commit: r.raftLog.committed,
      lead: r.lead,
      raftState: r.state,
      applied: r.raftLog.applied,
      leadTransferee: r.leadTransferee,
      config: r.prs.confState(),
      progress,
    };
  }
}

/**
 * Writes the initial membership of a brand-new cluster into empty storage, as etcd does: one
 * committed AddNode conf-change entry per voter (then learner) at indexes 1..N in term 1, so that
 * the log itself carries the membership and a member that joins later (with an empty log)
 * rebuilds the same configuration by replaying it. The initial ConfState is recorded as well,
 * so that the members can campaign before they have applied those entries; applying them again
 * changes nothing.
 */
export function bootstrapStorage(
  storage: MemoryStorage,
  voters: readonly NodeId[],
  learners: readonly NodeId[] = [],
): void {
  assert(storage.lastIndex() === 0 && storage.hardState.term === 0, "bootstrap on non-empty storage");
  assert(voters.length > 0, "bootstrap needs at least one voter");
  const changes: ConfChange[] = [
    ...voters.map((nodeId) => ({ type: ConfChangeType.AddNode, nodeId })),
    ...learners.map((nodeId) => ({ type: ConfChangeType.AddLearnerNode, nodeId })),
  ];
  storage.append(
    changes.map((cc, i) => ({
      term: 1,
      index: i + 1,
      type: EntryType.ConfChange,
      data: encodeConfChange(cc),
    })),
  );
  storage.setHardState({ term: 1, vote: None, commit: changes.length });
  storage.snap = {
    metadata: { index: 0, term: 0, confState: { voters: [...voters], learners: [...learners] } },
    data: storage.snap.data,
  };
}

function softStateEqual(a: SoftState, b: SoftState): boolean {
  return a.lead === b.lead && a.raftState === b.raftState;
}

function hardStateEqual(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}
