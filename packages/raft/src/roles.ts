import { CampaignType } from "./campaign.js";
import { NotLeaderError, ProposalDroppedError } from "./errors.js";
import { ProgressState } from "./progress.js";
import type { Raft } from "./raft.js";
import { VoteResult } from "./tracker.js";
import { type Message, MessageType, None, StateType } from "./types.js";

/** The leader's step function (etcd's stepLeader). */
export function stepLeader(r: Raft, m: Message): void {
  switch (m.type) {
    case MessageType.MsgBeat:
      r.bcastHeartbeat();
      return;
    case MessageType.MsgCheckQuorum:
      // CheckQuorum: a leader that has not heard a quorum within an election timeout steps down,
      // so an isolated leader stops serving (and its clients go elsewhere).
      if (!r.prs.quorumActive(r.id)) r.becomeFollower(r.term, None);
      for (const [id, pr] of r.prs.progress) if (id !== r.id) pr.recentActive = false;
      return;
    case MessageType.MsgProp:
      r.appendProposal(m);
      return;
    case MessageType.MsgReadIndex:
      leaderReadIndex(r, m);
      return;
  }

  const pr = r.prs.progress.get(m.from);
  if (pr === undefined) return; // not a member (any more)
  switch (m.type) {
    case MessageType.MsgAppResp: {
      pr.recentActive = true;
      if (m.reject) {
        // Fast backtracking: the follower's hint (index, and term at that index) lets us skip all
        // entries of terms it cannot have, instead of one probe per entry (§5.3 optimization).
        let nextProbeIdx = m.rejectHint;
        if (m.logTerm > 0) nextProbeIdx = r.raftLog.findConflictByTerm(m.rejectHint, m.logTerm);
        if (pr.maybeDecrTo(m.index, nextProbeIdx)) {
          if (pr.state === ProgressState.Replicate) pr.becomeProbe();
          r.sendAppend(m.from);
        }
        return;
      }
      const oldPaused = pr.isPaused();
      if (!pr.maybeUpdate(m.index)) return;
      if (pr.state === ProgressState.Probe) pr.becomeReplicate();
      else if (pr.state === ProgressState.Snapshot && pr.match >= pr.pendingSnapshot) {
        pr.becomeProbe();
        pr.becomeReplicate();
      } else if (pr.state === ProgressState.Replicate) pr.inflights.freeLE(m.index);

      if (r.maybeCommit()) {
        releasePendingReadIndexMessages(r);
        r.bcastAppend();
      } else if (oldPaused) {
        r.sendAppend(m.from);
      }
      // Pipeline: keep the window full while there are entries to send.
      while (r.maybeSendAppend(m.from, false)) {
        // each call sends one more MsgApp
      }
      if (m.from === r.leadTransferee && pr.match === r.raftLog.lastIndex()) r.sendTimeoutNow(m.from);
      return;
    }
    case MessageType.MsgHeartbeatResp: {
      pr.recentActive = true;
      pr.msgAppFlowPaused = false;
      // The follower is alive but the window is full: its acknowledgements were lost (a one-way
      // partition). Free one slot so an append goes out and its answer resynchronizes the window;
      // otherwise replication to it would stall forever (etcd does the same).
      if (pr.state === ProgressState.Replicate && pr.inflights.full()) pr.inflights.freeFirstOne();
      if (pr.match < r.raftLog.lastIndex()) r.sendAppend(m.from);
      if (r.readOnlyOption !== "safe" || m.context === undefined) return;
      const acks = r.readOnly.recvAck(m.from, m.context);
      if (acks === undefined || !r.prs.hasQuorum(acks)) return;
      for (const rs of r.readOnly.advance(m.context)) respondReadIndex(r, rs.req, rs.index);
      return;
    }
    case MessageType.MsgSnapStatus:
      if (pr.state !== ProgressState.Snapshot) return;
      if (m.reject) pr.pendingSnapshot = 0; // failed: probe from match again
      pr.becomeProbe();
      // Wait for a heartbeat response (or the follower's MsgAppResp) before the next append.
      pr.msgAppFlowPaused = true;
      return;
    case MessageType.MsgUnreachable:
      // Optimistic pipelining to an unreachable follower loses messages: go back to probing.
      if (pr.state === ProgressState.Replicate) pr.becomeProbe();
      return;
    case MessageType.MsgTransferLeader: {
      if (pr.isLearner) return;
      const transferee = m.from;
      if (r.leadTransferee !== None) {
        if (r.leadTransferee === transferee) return; // already in progress
        r.abortLeaderTransfer();
      }
      if (transferee === r.id) return; // already the leader
      // The transfer must finish within an election timeout (tickHeartbeat aborts it).
      r.electionElapsed = 0;
      r.leadTransferee = transferee;
      if (pr.match === r.raftLog.lastIndex()) r.sendTimeoutNow(transferee);
      else r.sendAppend(transferee);
      return;
    }
  }
}

function leaderReadIndex(r: Raft, m: Message): void {
  if (r.prs.isSingleton()) {
    respondReadIndex(r, m, r.raftLog.committed);
    return;
  }
  // A new leader does not know the commit index until it commits an entry of its own term
  // (Raft dissertation §6.4 step 1): hold reads until then.
  if (!r.committedEntryInCurrentTerm()) {
    r.pendingReadIndexMessages.push(m);
    return;
  }
  sendReadIndexResponse(r, m);
}

function sendReadIndexResponse(r: Raft, m: Message): void {
  const ctx = m.context ?? new Uint8Array(0);
  if (r.readOnlyOption === "safe") {
    r.readOnly.addRequest(r.raftLog.committed, m, ctx);
    const acks = r.readOnly.recvAck(r.id, ctx);
    if (acks !== undefined && r.prs.hasQuorum(acks)) {
      for (const rs of r.readOnly.advance(ctx)) respondReadIndex(r, rs.req, rs.index);
      return;
    }
    r.bcastHeartbeatWithCtx(ctx);
  } else {
    // Lease-based: trusts that no other leader can exist within the lease (clock-dependent).
    respondReadIndex(r, m, r.raftLog.committed);
  }
}

export function releasePendingReadIndexMessages(r: Raft): void {
  if (r.pendingReadIndexMessages.length === 0 || !r.committedEntryInCurrentTerm()) return;
  const msgs = r.pendingReadIndexMessages;
  r.pendingReadIndexMessages = [];
  for (const m of msgs) sendReadIndexResponse(r, m);
}

function respondReadIndex(r: Raft, req: Message, index: number): void {
  const ctx = req.context ?? new Uint8Array(0);
  if (req.from === None || req.from === r.id) {
    r.readStates.push({ index, requestCtx: ctx });
  } else {
    r.send({ to: req.from, type: MessageType.MsgReadIndexResp, index, context: ctx });
  }
}

/** The step function of candidates and pre-candidates (etcd's stepCandidate). */
export function stepCandidate(r: Raft, m: Message): void {
  const myVoteRespType =
    r.state === StateType.PreCandidate ? MessageType.MsgPreVoteResp : MessageType.MsgVoteResp;
  switch (m.type) {
    case MessageType.MsgProp:
      throw new ProposalDroppedError("no leader (election in progress)");
    case MessageType.MsgApp:
      r.becomeFollower(m.term, m.from);
      handleAppendEntries(r, m);
      return;
    case MessageType.MsgHeartbeat:
      r.becomeFollower(m.term, m.from);
      handleHeartbeat(r, m);
      return;
    case MessageType.MsgSnap:
      r.becomeFollower(m.term, m.from);
      handleSnapshot(r, m);
      return;
    case MessageType.MsgTimeoutNow:
      return;
    default:
      if (m.type !== myVoteRespType) return;
      switch (r.poll(m.from, m.type, !m.reject)) {
        case VoteResult.VoteWon:
          if (r.state === StateType.PreCandidate) r.campaign(CampaignType.Election);
          else {
            r.becomeLeader();
            r.bcastAppend();
          }
          return;
        case VoteResult.VoteLost:
          // A rejected pre-vote or vote: back to follower in the current term (m.term may be higher
          // for a pre-vote, but a pre-vote never changes terms).
          r.becomeFollower(r.term, None);
          return;
        default:
          return;
      }
  }
}

/** The follower's step function (etcd's stepFollower). */
export function stepFollower(r: Raft, m: Message): void {
  switch (m.type) {
    case MessageType.MsgProp:
      if (r.lead === None) throw new ProposalDroppedError("no leader");
      if (r.disableProposalForwarding) throw new NotLeaderError(r.lead);
      r.send({ ...m, to: r.lead, term: undefined });
      return;
    case MessageType.MsgApp:
      r.electionElapsed = 0;
      r.lead = m.from;
      handleAppendEntries(r, m);
      return;
    case MessageType.MsgHeartbeat:
      r.electionElapsed = 0;
      r.lead = m.from;
      handleHeartbeat(r, m);
      return;
    case MessageType.MsgSnap:
      r.electionElapsed = 0;
      r.lead = m.from;
      handleSnapshot(r, m);
      return;
    case MessageType.MsgTransferLeader:
      if (r.lead === None) return;
      r.send({ ...m, to: r.lead, term: undefined });
      return;
    case MessageType.MsgTimeoutNow:
      // The leader hands over: campaign at once, without a pre-vote, and past voters' leases.
      r.hup(CampaignType.Transfer);
      return;
    case MessageType.MsgReadIndex:
      if (r.lead === None) throw new ProposalDroppedError("no leader to serve the read index");
      r.send({ ...m, to: r.lead, term: undefined });
      return;
    case MessageType.MsgReadIndexResp:
      r.readStates.push({ index: m.index, requestCtx: m.context ?? new Uint8Array(0) });
      return;
  }
}

function handleAppendEntries(r: Raft, m: Message): void {
  if (m.index < r.raftLog.committed) {
    r.send({ to: m.from, type: MessageType.MsgAppResp, index: r.raftLog.committed });
    return;
  }
  const lastNew = r.raftLog.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
  if (lastNew !== undefined) {
    r.send({ to: m.from, type: MessageType.MsgAppResp, index: lastNew });
    return;
  }
  // Reject with a hint: the largest index <= m.index whose term is <= m.logTerm, and its term.
  let hintIndex = Math.min(m.index, r.raftLog.lastIndex());
  hintIndex = r.raftLog.findConflictByTerm(hintIndex, m.logTerm);
  const hintTerm = r.raftLog.term(hintIndex);
  r.send({
    to: m.from,
    type: MessageType.MsgAppResp,
    index: m.index,
    reject: true,
    rejectHint: hintIndex,
    logTerm: hintTerm,
  });
}

function handleHeartbeat(r: Raft, m: Message): void {
  r.raftLog.commitTo(m.commit);
  r.send(
    m.context === undefined
      ? { to: m.from, type: MessageType.MsgHeartbeatResp }
      : { to: m.from, type: MessageType.MsgHeartbeatResp, context: m.context },
  );
}

function handleSnapshot(r: Raft, m: Message): void {
  const s = m.snapshot;
  if (s !== undefined && r.restore(s)) {
    r.send({ to: m.from, type: MessageType.MsgAppResp, index: r.raftLog.lastIndex() });
  } else {
    r.send({ to: m.from, type: MessageType.MsgAppResp, index: r.raftLog.committed });
  }
}
