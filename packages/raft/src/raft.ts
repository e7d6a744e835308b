import { CampaignType, campaignTransfer } from "./campaign.js";
import { type Config, defaults, validateConfig } from "./config.js";
import { assert, ProposalDroppedError } from "./errors.js";
import { RaftLog } from "./log.js";
import { type MessageInit, message } from "./message.js";
import { Progress } from "./progress.js";
import type { Rand } from "./rand.js";
import { ReadOnly } from "./readonly.js";
import { releasePendingReadIndexMessages, stepCandidate, stepFollower, stepLeader } from "./roles.js";
import { ProgressTracker, type VoteResult } from "./tracker.js";
import {
  type ConfState,
  type Entry,
  EntryType,
  type HardState,
  type Message,
  MessageType,
  type NodeId,
  None,
  type ReadState,
  type SoftState,
  StateType,
} from "./types.js";

type StepFn = (r: Raft, m: Message) => void;

/**
 * The Raft state machine (etcd's `raft` struct). Pure: input is step()/tick(), output is `msgs`,
 * `readStates` and the log's unstable part, collected by RawNode into a Ready. Role behaviour
 * lives in roles.ts, one step function per role.
 */
export class Raft {
  readonly id: NodeId;
  term = 0;
  vote: NodeId = None;
  readStates: ReadState[] = [];
  readonly raftLog: RaftLog;
  readonly maxMsgSize: number;
  readonly maxUncommittedSize: number;
  readonly prs: ProgressTracker;
  state = StateType.Follower;
  isLearner = false;
  msgs: Message[] = [];
  /**
   * This node's answers to its own vote requests (etcd-raft 3.6's self-addressed msgsAfterAppend):
   * a candidate's vote for itself counts only once its new term and vote are on disk, so RawNode
   * steps these in advance(), after the Ready that carries that hard state was persisted. A
   * candidate that counted it at once could win, send appends of the new term before its fsync,
   * crash, restart in the old term and win the same term again with other entries.
   */
  msgsAfterAppend: Message[] = [];
  lead: NodeId = None;
  /** The member leadership is being transferred to, or None. */
  leadTransferee: NodeId = None;
  /** Only one conf change may be pending: the log index of the latest, compared with `applied`. */
  pendingConfIndex = 0;
  /** Bytes of entries appended by this leader and not yet committed (bounded by maxUncommittedSize). */
  uncommittedSize = 0;
  readOnly = new ReadOnly();
  readonly readOnlyOption: "safe" | "leaseBased";
  /** ReadIndex requests that arrived before this leader committed an entry of its own term. */
  pendingReadIndexMessages: Message[] = [];
  electionElapsed = 0;
  heartbeatElapsed = 0;
  readonly checkQuorum: boolean;
  readonly preVote: boolean;
  readonly heartbeatTimeout: number;
  readonly electionTimeout: number;
  randomizedElectionTimeout = 0;
  readonly disableProposalForwarding: boolean;
  private readonly rand: Rand;
  tickFn: () => void = () => this.tickElection();
  stepFn: StepFn = stepFollower;

  constructor(c: Config) {
    validateConfig(c);
    this.id = c.id;
    this.raftLog = new RaftLog(c.storage, c.maxCommittedSizePerReady ?? Number.MAX_SAFE_INTEGER);
    this.maxMsgSize = c.maxSizePerMsg ?? defaults.maxSizePerMsg;
    this.maxUncommittedSize = c.maxUncommittedEntriesSize ?? Number.MAX_SAFE_INTEGER;
    this.prs = new ProgressTracker(c.maxInflightMsgs ?? defaults.maxInflightMsgs);
    this.checkQuorum = c.checkQuorum ?? false;
    this.preVote = c.preVote ?? false;
    this.readOnlyOption = c.readOnlyOption ?? "safe";
    this.heartbeatTimeout = c.heartbeatTick;
    this.electionTimeout = c.electionTick;
    this.disableProposalForwarding = c.disableProposalForwarding ?? false;
    this.rand = c.rand;

    const { hardState, confState } = c.storage.initialState();
    this.applyConfState(confState);
    if (hardState.term !== 0 || hardState.vote !== None || hardState.commit !== 0) this.loadState(hardState);
    if (c.applied !== undefined && c.applied > 0) this.raftLog.appliedTo(c.applied);
    this.becomeFollower(this.term, None);
  }

  softState(): SoftState {
    return { lead: this.lead, raftState: this.state };
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.raftLog.committed };
  }

  /** Whether this node may become leader: a voter of the current configuration. */
  promotable(): boolean {
    return this.prs.voters.has(this.id);
  }

  private loadState(hs: HardState): void {
    assert(
      hs.commit >= this.raftLog.committed && hs.commit <= this.raftLog.lastIndex(),
      `hs.commit ${hs.commit} is out of range [${this.raftLog.committed}, ${this.raftLog.lastIndex()}]`,
    );
    this.raftLog.committed = hs.commit;
    this.term = hs.term;
    this.vote = hs.vote;
  }

  // ---- sending ----

  /** Queues a message; the caller sends it after persisting the Ready that carries it. */
  send(init: MessageInit): void {
    const t = init.type;
    // A message without a sender is ours (None is 0, so a forwarded local message gets our id).
    const from = init.from || this.id;
    if (
      t === MessageType.MsgVote ||
      t === MessageType.MsgVoteResp ||
      t === MessageType.MsgPreVote ||
      t === MessageType.MsgPreVoteResp
    ) {
      // Votes carry the term of the election they are for, not necessarily ours (pre-vote uses term+1).
      assert(init.term !== undefined && init.term !== 0, `term should be set when sending ${MessageType[t]}`);
      this.msgs.push(message(init, from, init.term));
      return;
    }
    assert(
      init.term === undefined,
      `term should not be set when sending ${MessageType[t]} (was ${init.term})`,
    );
    // Proposals and read requests forwarded to the leader are local-like: they carry no term.
    const term = t === MessageType.MsgProp || t === MessageType.MsgReadIndex ? 0 : this.term;
    this.msgs.push(message(init, from, term));
  }

  /** Sends an append (or a snapshot) to `to` if its flow control allows. Returns whether it sent. */
  maybeSendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.prs.progress.get(to);
    if (pr === undefined || pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.raftLog.termOrUndefined(prevIndex);
    let ents: Entry[] | undefined;
    if (prevTerm !== undefined) {
      try {
        ents = this.raftLog.entries(pr.next, this.maxMsgSize);
      } catch {
        ents = undefined; // compacted: fall back to a snapshot
      }
    }
    if (prevTerm === undefined || ents === undefined) return this.maybeSendSnapshot(to, pr);
    if (ents.length === 0 && !sendIfEmpty) return false;
    this.send({
      to,
      type: MessageType.MsgApp,
      index: prevIndex,
      logTerm: prevTerm,
      entries: ents,
      commit: this.raftLog.committed,
    });
    const last = ents.length > 0 ? (ents[ents.length - 1] as Entry).index : 0;
    pr.sentEntries(ents.length, last);
    return true;
  }

  private maybeSendSnapshot(to: NodeId, pr: Progress): boolean {
    if (!pr.recentActive) return false; // don't send a snapshot to a member we have not heard from
    let snapshot: ReturnType<RaftLog["snapshot"]>;
    try {
      snapshot = this.raftLog.snapshot();
    } catch {
      return false; // temporarily unavailable: retry on a later heartbeat
    }
    assert(snapshot.metadata.index !== 0, "need non-empty snapshot");
    pr.becomeSnapshot(snapshot.metadata.index);
    this.send({ to, type: MessageType.MsgSnap, snapshot });
    return true;
  }

  sendAppend(to: NodeId): void {
    this.maybeSendAppend(to, true);
  }

  sendHeartbeat(to: NodeId, ctx: Uint8Array | undefined): void {
    // A follower may not have the leader's whole log yet: never tell it to commit past its match.
    const pr = this.prs.progress.get(to) as Progress;
    const commit = Math.min(pr.match, this.raftLog.committed);
    this.send(
      ctx === undefined
        ? { to, type: MessageType.MsgHeartbeat, commit }
        : { to, type: MessageType.MsgHeartbeat, commit, context: ctx },
    );
  }

  bcastAppend(): void {
    for (const id of this.prs.ids()) if (id !== this.id) this.sendAppend(id);
  }

  bcastHeartbeat(): void {
    this.bcastHeartbeatWithCtx(this.readOnly.lastPendingRequestCtx());
  }

  bcastHeartbeatWithCtx(ctx: Uint8Array | undefined): void {
    for (const id of this.prs.ids()) if (id !== this.id) this.sendHeartbeat(id, ctx);
  }

  // ---- commit and append ----

  /** Advances the commit index to what a quorum matched, if that entry is of this term (§5.4.2). */
  maybeCommit(): boolean {
    return this.raftLog.maybeCommit(this.prs.committed(), this.term);
  }

  committedEntryInCurrentTerm(): boolean {
    return this.raftLog.term(this.raftLog.committed) === this.term;
  }

  /** Appends proposals to the leader's own log. Returns false when the uncommitted budget is exceeded. */
  appendEntry(es: Entry[]): boolean {
    let li = this.raftLog.lastIndex();
    const out: Entry[] = new Array(es.length);
    for (let i = 0; i < es.length; i++) {
      const e = es[i] as Entry;
      out[i] = { term: this.term, index: ++li, type: e.type, data: e.data };
    }
    if (!this.increaseUncommittedSize(out)) return false;
    this.raftLog.append(out);
    // The leader's own copy counts toward a quorum only once it is on its disk: see
    // onPersisted(). So the caller may send MsgApp before its own fsync (dissertation §10.2.1).
    return true;
  }

  private increaseUncommittedSize(ents: readonly Entry[]): boolean {
    let s = 0;
    for (const e of ents) s += e.data.length;
    // An empty entry (a new leader's) is always allowed, and so is one batch when nothing is pending.
    if (this.uncommittedSize > 0 && s > 0 && this.uncommittedSize + s > this.maxUncommittedSize) return false;
    this.uncommittedSize += s;
    return true;
  }

  reduceUncommittedSize(ents: readonly Entry[]): void {
    if (this.uncommittedSize === 0) return;
    let s = 0;
    for (const e of ents) s += e.data.length;
    this.uncommittedSize = s > this.uncommittedSize ? 0 : this.uncommittedSize - s;
  }

  /** The last index known to be in stable storage (entries above it are unstable). */
  lastPersistedIndex(): number {
    return Math.min(this.raftLog.lastIndex(), this.raftLog.unstable.offset - 1);
  }

  /**
   * Entries up to (index, term) reached this node's stable storage. A leader now counts its own
   * copy in the quorum, which may commit entries (a single-voter cluster commits here).
   */
  onPersisted(index: number, term: number): void {
    if (this.state !== StateType.Leader || this.raftLog.termOrUndefined(index) !== term) return;
    const pr = this.prs.progress.get(this.id);
    if (pr === undefined || !pr.maybeUpdate(index)) return;
    if (this.maybeCommit()) {
      releasePendingReadIndexMessages(this);
      this.bcastAppend();
    }
  }

  // ---- role transitions ----

  reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = None;
    }
    this.lead = None;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.abortLeaderTransfer();
    this.prs.resetVotes();
    const last = this.raftLog.lastIndex();
    for (const [id, old] of this.prs.progress) {
      const pr = new Progress(0, last + 1, this.prs.maxInflight, old.isLearner);
      if (id === this.id) pr.match = this.lastPersistedIndex();
      this.prs.progress.set(id, pr);
    }
    this.pendingConfIndex = 0;
    this.uncommittedSize = 0;
    this.readOnly = new ReadOnly();
    this.pendingReadIndexMessages = [];
  }

  becomeFollower(term: number, lead: NodeId): void {
    this.stepFn = stepFollower;
    this.reset(term);
    this.tickFn = () => this.tickElection();
    this.lead = lead;
    this.state = StateType.Follower;
  }

  becomeCandidate(): void {
    assert(this.state !== StateType.Leader, "invalid transition [leader -> candidate]");
    this.stepFn = stepCandidate;
    this.reset(this.term + 1);
    this.tickFn = () => this.tickElection();
    this.vote = this.id;
    this.state = StateType.Candidate;
  }

  becomePreCandidate(): void {
    assert(this.state !== StateType.Leader, "invalid transition [leader -> pre-candidate]");
    // A pre-candidate changes neither its term nor its vote (Raft dissertation §9.6).
    this.stepFn = stepCandidate;
    this.prs.resetVotes();
    this.tickFn = () => this.tickElection();
    this.lead = None;
    this.state = StateType.PreCandidate;
  }

  becomeLeader(): void {
    assert(this.state !== StateType.Follower, "invalid transition [follower -> leader]");
    this.stepFn = stepLeader;
    this.reset(this.term);
    this.tickFn = () => this.tickHeartbeat();
    this.lead = this.id;
    this.state = StateType.Leader;
    (this.prs.progress.get(this.id) as Progress).becomeReplicate();
    // Conservatively treat every uncommitted entry as a possible conf change.
    this.pendingConfIndex = this.raftLog.lastIndex();
    // An empty entry of the new term: committing it commits everything before (§5.4.2, §8).
    const ok = this.appendEntry([{ term: 0, index: 0, type: EntryType.Normal, data: new Uint8Array(0) }]);
    assert(ok, "empty entry was dropped");
    this.uncommittedSize = 0; // the empty entry does not count against the budget
  }

  // ---- elections ----

  hup(t: CampaignType): void {
    if (this.state === StateType.Leader) return;
    if (!this.promotable()) return;
    // An unapplied committed conf change could make this node not a voter: wait until it is applied.
    if (this.hasUnappliedConfChanges()) return;
    this.campaign(t);
  }

  private hasUnappliedConfChanges(): boolean {
    const lo = this.raftLog.applied + 1;
    const hi = this.raftLog.committed + 1;
    if (lo >= hi) return false;
    for (let i = lo; i < hi; i += 1024) {
      let ents: Entry[];
      try {
        ents = this.raftLog.slice(i, Math.min(hi, i + 1024), Number.MAX_SAFE_INTEGER);
      } catch {
        return false;
      }
      for (const e of ents) if (e.type === EntryType.ConfChange) return true;
    }
    return false;
  }

  campaign(t: CampaignType): void {
    if (!this.promotable()) return;
    let term: number;
    let voteMsg: MessageType;
    if (t === CampaignType.PreElection) {
      this.becomePreCandidate();
      voteMsg = MessageType.MsgPreVote;
      term = this.term + 1; // the term we would campaign in; not yet ours
    } else {
      this.becomeCandidate();
      voteMsg = MessageType.MsgVote;
      term = this.term;
    }
    const respType =
      voteMsg === MessageType.MsgPreVote ? MessageType.MsgPreVoteResp : MessageType.MsgVoteResp;
    // Our own vote is delivered back to us after the Ready holding the new term and vote is
    // persisted (see msgsAfterAppend); a single-voter cluster wins then. A pre-vote persists
    // nothing, but goes the same way (as in etcd-raft 3.6).
    this.msgsAfterAppend.push(message({ type: respType, to: this.id }, this.id, term));
    const lastIndex = this.raftLog.lastIndex();
    const lastTerm = this.raftLog.lastTerm();
    for (const id of [...this.prs.voters].sort((a, b) => a - b)) {
      if (id === this.id) continue;
      const init = { to: id, term, type: voteMsg, index: lastIndex, logTerm: lastTerm };
      this.send(t === CampaignType.Transfer ? { ...init, context: campaignTransfer } : init);
    }
  }

  poll(id: NodeId, _t: MessageType, granted: boolean): VoteResult {
    this.prs.recordVote(id, granted);
    return this.prs.tallyVotes().result;
  }

  // ---- ticks ----

  tick(): void {
    this.tickFn();
  }

  pastElectionTimeout(): boolean {
    return this.electionElapsed >= this.randomizedElectionTimeout;
  }

  resetRandomizedElectionTimeout(): void {
    this.randomizedElectionTimeout = this.electionTimeout + this.rand.intn(this.electionTimeout);
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.pastElectionTimeout()) {
      this.electionElapsed = 0;
      this.step(message({ type: MessageType.MsgHup, from: this.id }));
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTimeout) {
      this.electionElapsed = 0;
      if (this.checkQuorum) this.step(message({ type: MessageType.MsgCheckQuorum, from: this.id }));
      // A transfer that did not finish within an election timeout is abandoned.
      if (this.state === StateType.Leader && this.leadTransferee !== None) this.abortLeaderTransfer();
    }
    if (this.state !== StateType.Leader) return;
    if (this.heartbeatElapsed >= this.heartbeatTimeout) {
      this.heartbeatElapsed = 0;
      this.step(message({ type: MessageType.MsgBeat, from: this.id }));
    }
  }

  abortLeaderTransfer(): void {
    this.leadTransferee = None;
  }

  sendTimeoutNow(to: NodeId): void {
    this.send({ to, type: MessageType.MsgTimeoutNow });
  }

  // ---- the step dispatcher: term rules common to every role (Raft §5.1), then the role's step ----

  step(m: Message): void {
    if (m.term === 0) {
      // local message
    } else if (m.term > this.term) {
      if (m.type === MessageType.MsgVote || m.type === MessageType.MsgPreVote) {
        const force = m.context !== undefined && sameBytes(m.context, campaignTransfer);
        const inLease = this.checkQuorum && this.lead !== None && this.electionElapsed < this.electionTimeout;
        // While we hear from a leader, ignore disruptive votes (§4.2.3, "CheckQuorum").
        if (!force && inLease) return;
      }
      if (m.type === MessageType.MsgPreVote) {
        // A pre-vote never changes our term.
      } else if (m.type === MessageType.MsgPreVoteResp && !m.reject) {
        // We bump our term when the pre-vote wins, not per response.
      } else if (
        m.type === MessageType.MsgApp ||
        m.type === MessageType.MsgHeartbeat ||
        m.type === MessageType.MsgSnap
      ) {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, None);
      }
    } else if (m.term < this.term) {
      if (
        (this.checkQuorum || this.preVote) &&
        (m.type === MessageType.MsgHeartbeat || m.type === MessageType.MsgApp)
      ) {
        // A stale leader, probably isolated then healed: our higher term makes it step down.
        // Without this, with CheckQuorum or PreVote it could never learn of the newer term.
        this.send({ to: m.from, type: MessageType.MsgAppResp });
      } else if (m.type === MessageType.MsgPreVote) {
        this.send({ to: m.from, term: this.term, type: MessageType.MsgPreVoteResp, reject: true });
      }
      return;
    }

    switch (m.type) {
      case MessageType.MsgHup:
        if (m.context !== undefined && sameBytes(m.context, campaignTransfer))
          this.hup(CampaignType.Transfer);
        else this.hup(this.preVote ? CampaignType.PreElection : CampaignType.Election);
        return;
      case MessageType.MsgVote:
      case MessageType.MsgPreVote: {
        // We can vote for the same candidate again (a retransmission), for anyone if we have not
        // voted and know no leader, and in a pre-vote for anyone with a higher term.
        const canVote =
          this.vote === m.from ||
          (this.vote === None && this.lead === None) ||
          (m.type === MessageType.MsgPreVote && m.term > this.term);
        const respType =
          m.type === MessageType.MsgVote ? MessageType.MsgVoteResp : MessageType.MsgPreVoteResp;
        if (canVote && this.raftLog.isUpToDate(m.index, m.logTerm)) {
          this.send({ to: m.from, term: m.term, type: respType });
          if (m.type === MessageType.MsgVote) {
            this.electionElapsed = 0;
            this.vote = m.from;
          }
        } else {
          this.send({ to: m.from, term: this.term, type: respType, reject: true });
        }
        return;
      }
      default:
        this.stepFn(this, m);
    }
  }

  // ---- proposals (leader side), shared by local and forwarded MsgProp ----

  /** Appends proposed entries as leader; throws ProposalDroppedError when it cannot. */
  appendProposal(m: Message): void {
    assert(m.entries.length > 0, "stepped empty MsgProp");
    if (!this.prs.progress.has(this.id))
      throw new ProposalDroppedError("this node was removed from the configuration");
    if (this.leadTransferee !== None)
      throw new ProposalDroppedError(`leadership is being transferred to ${this.leadTransferee}`);
    const ents = m.entries.slice();
    for (let i = 0; i < ents.length; i++) {
      const e = ents[i] as Entry;
      if (e.type !== EntryType.ConfChange) continue;
      if (this.pendingConfIndex > this.raftLog.applied) {
        // Only one conf change may be in flight (single-server changes, dissertation §4.1).
        ents[i] = { term: 0, index: 0, type: EntryType.Normal, data: new Uint8Array(0) };
      } else {
        this.pendingConfIndex = this.raftLog.lastIndex() + i + 1;
      }
    }
    if (!this.appendEntry(ents)) throw new ProposalDroppedError("too many uncommitted entries");
    this.bcastAppend();
  }

  // ---- membership ----

  applyConfState(cs: ConfState): void {
    this.prs.voters = new Set(cs.voters);
    this.prs.learners = new Set(cs.learners);
    const last = this.raftLog.lastIndex();
    const next = new Map<NodeId, Progress>();
    for (const id of [...cs.voters, ...cs.learners]) {
      const old = this.prs.progress.get(id);
      const isLearner = this.prs.learners.has(id);
      if (old !== undefined) {
        old.isLearner = isLearner;
        next.set(id, old);
      } else {
        const pr = new Progress(0, last + 1, this.prs.maxInflight, isLearner);
        if (id === this.id) pr.match = this.lastPersistedIndex();
        // A new member counts as active so that the leader probes (and snapshots) it at once.
        pr.recentActive = true;
        next.set(id, pr);
      }
    }
    this.prs.progress = next;
    this.isLearner = this.prs.learners.has(this.id);
  }

  /** Snapshot restore on a follower; returns whether the snapshot was taken (etcd's restore). */
  restore(
    s: { metadata: { index: number; term: number; confState: ConfState } } & { data: Uint8Array },
  ): boolean {
    if (s.metadata.index <= this.raftLog.committed) return false;
    // Committed entries handed out in a Ready are still being applied: a snapshot now would be
    // overtaken by them (their conf changes applied on top of the snapshot's configuration).
    // Refuse; the leader sends it again once this node answers.
    if (this.raftLog.applying > this.raftLog.applied) return false;
    if (this.state !== StateType.Follower) {
      // Only a leader sends snapshots, and a leader of a higher term would have made us a follower.
      this.becomeFollower(this.term + 1, None);
      return false;
    }
    // etcd refuses a snapshot whose configuration lacks this node. A member that was just added
    // can be sent a snapshot taken before its conf change was applied; refusing would stall it
    // until a newer snapshot exists. Taking it is safe: the node is not promotable until a
    // configuration that contains it arrives in the log.
    const cs = s.metadata.confState;
    if (this.raftLog.matchTerm(s.metadata.index, s.metadata.term)) {
      // We have the entry already: fast-forward the commit index instead of restoring.
      this.raftLog.commitTo(s.metadata.index);
      return false;
    }
    this.raftLog.restore(s);
    this.prs.progress = new Map();
    this.applyConfState(cs);
    const pr = this.prs.progress.get(this.id);
    if (pr !== undefined) pr.maybeUpdate(pr.next - 1);
    return true;
  }
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
