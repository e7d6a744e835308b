import t from "tap";
import {
  bootstrapStorage,
  ConfChangeType,
  decodeConfChange,
  EntryType,
  MemoryStorage,
  MessageType,
  message,
  NotLeaderError,
  ProposalDroppedError,
  RawNode,
  SeededRand,
  StateType,
} from "../src/index.js";
import { Net } from "./harness.js";

const enc = (s: string) => new TextEncoder().encode(s);

t.test("three nodes elect one leader and replicate proposals to all", async (t) => {
  const net = new Net([1, 2, 3]);
  net.campaign(1);
  t.same(net.leaders(), [1]);
  for (const id of [2, 3]) t.equal(net.node(id).rn.raft.lead, 1, `node ${id} follows 1`);
  net.propose(1, "a");
  net.propose(2, "b"); // forwarded by a follower
  for (const id of [1, 2, 3]) t.same(net.appliedText(id), ["a", "b"], `node ${id} applied both in order`);
  t.equal(net.node(3).storage.hardState.commit, net.node(1).rn.raft.raftLog.lastIndex());
});

t.test("an election happens by itself after the election timeout", async (t) => {
  const net = new Net([1, 2, 3, 4, 5], {}, 7);
  net.tick(40);
  t.equal(net.leaders().length, 1, "exactly one leader");
  const leader = net.leaders()[0] as number;
  const terms = new Set([...net.nodes.values()].map((n) => n.rn.raft.term));
  t.equal(terms.size, 1, "everyone agrees on the term");
  net.propose(leader, "x");
  for (const id of net.nodes.keys()) t.same(net.appliedText(id), ["x"]);
});

t.test("a candidate without a quorum does not become leader", async (t) => {
  const net = new Net([1, 2, 3]);
  net.isolate(1);
  net.campaign(1);
  t.equal(net.node(1).rn.raft.state, StateType.Candidate);
  t.same(net.leaders(), []);
});

t.test("a follower rejects a proposal with NotLeader when forwarding is disabled", async (t) => {
  const net = new Net([1, 2, 3], { disableProposalForwarding: true });
  net.campaign(1);
  t.throws(() => net.node(2).rn.propose(enc("x")), NotLeaderError);
  try {
    net.node(2).rn.propose(enc("x"));
  } catch (e) {
    t.equal((e as NotLeaderError).leader, 1, "names the leader");
  }
  const lonely = new Net([1, 2, 3]);
  t.throws(() => lonely.node(1).rn.propose(enc("x")), ProposalDroppedError, "no leader: dropped");
});

t.test("Figure 7: a new leader brings followers with missing and extra entries to its log", async (t) => {
  // Terms of the entries of each log in Raft paper Figure 7 (index 1..n).
  const leaderLog = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
  const followers: Record<number, number[]> = {
    2: [1, 1, 1, 4, 4, 5, 5, 6, 6], // (a) missing one
    3: [1, 1, 1, 4], // (b) missing many
    4: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6], // (c) one extra uncommitted
    5: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7], // (d) extra entries of a later term
    6: [1, 1, 1, 4, 4, 4, 4], // (e) extra entries of term 4
    7: [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3], // (f) entries of terms 2 and 3 never committed
  };
  const ids = [1, 2, 3, 4, 5, 6, 7];
  const net = new Net([]);
  const mk = (id: number, terms: number[]) => {
    const s = new MemoryStorage();
    bootstrapStorage(s, ids);
    s.append(
      terms.map((term, i) => ({
        term,
        index: i + 1,
        type: EntryType.Normal,
        data: enc(`t${term}i${i + 1}`),
      })),
    );
    s.setHardState({ term: 7, vote: 0, commit: 0 });
    net.add(id, s, new SeededRand(id));
  };
  mk(1, leaderLog);
  for (const [id, terms] of Object.entries(followers)) mk(Number(id), terms);
  // Node 1 wins term 8: its log is at least as up-to-date as a majority's (1,2,3,4,6 or so).
  net.campaign(1);
  t.same(net.leaders(), [1], "node 1 leads");
  net.propose(1, "new");
  const want = net
    .node(1)
    .rn.raft.raftLog.entries(1, Number.MAX_SAFE_INTEGER)
    .map((e) => `${e.index}:${e.term}`);
  for (const id of ids) {
    const got = net
      .node(id)
      .rn.raft.raftLog.entries(1, Number.MAX_SAFE_INTEGER)
      .map((e) => `${e.index}:${e.term}`);
    t.same(got, want, `log of node ${id} equals the leader's`);
  }
  t.equal(net.node(7).rn.raft.raftLog.committed, want.length, "follower (f) committed everything");
});

t.test("Figure 8: an entry of an earlier term is not committed by counting replicas", async (t) => {
  const net = new Net([1, 2, 3, 4, 5]);
  net.campaign(1); // its empty entry commits everywhere
  const base = net.node(1).rn.raft.raftLog.lastIndex();
  const oldTerm = net.node(1).rn.raft.term;
  for (const id of [3, 4, 5]) net.cutLink(1, id);
  net.propose(1, "old"); // index base+1 of oldTerm: only on S1 and S2
  net.heal();
  const old = base + 1;
  t.equal(net.node(1).rn.raft.raftLog.committed, base, "the old entry is not committed (no quorum)");
  // S1 is elected again in a later term (as in Figure 8 (c)); nothing is delivered meanwhile.
  const r = net.node(1).rn.raft;
  r.becomeFollower(r.term, 0);
  r.becomeCandidate();
  r.becomeLeader(); // appends its empty entry at index old+1, of the new term
  r.msgs = [];
  // The leader persists its own entry (its copy counts only once it is on disk).
  const n1 = net.node(1);
  const rd = n1.rn.ready();
  n1.storage.append(rd.entries);
  if (rd.hardState !== undefined) n1.storage.setHardState(rd.hardState);
  n1.rn.advance();
  const term = r.term;
  t.equal(r.raftLog.term(old), oldTerm);
  t.equal(r.raftLog.term(old + 1), term);
  const ack = (from: number, index: number) =>
    net.node(1).rn.step(message({ type: MessageType.MsgAppResp, from, to: 1, term, index }));
  // The old entry reaches a majority: S1, S2 and S3 ...
  ack(2, old);
  ack(3, old);
  t.equal(r.raftLog.committed, base, "... but is not committed by counting replicas (§5.4.2)");
  // ... it commits only with an entry of the current term on a majority.
  ack(2, old + 1);
  t.equal(r.raftLog.committed, base, "the new entry on S1 and S2 only: no quorum yet");
  ack(3, old + 1);
  t.equal(r.raftLog.committed, old + 1, "an entry of the current term on a majority commits both");
});

t.test(
  "without PreVote an isolated node disrupts the leader when it rejoins; with PreVote it does not",
  async (t) => {
    for (const preVote of [false, true]) {
      const net = new Net([1, 2, 3], { preVote });
      net.campaign(1);
      const leaderTerm = net.node(1).rn.raft.term;
      net.isolate(3);
      net.tick(50, [3]); // node 3 times out again and again while cut off
      const termWhileAway = net.node(3).rn.raft.term;
      net.heal();
      net.tick(25);
      if (preVote) {
        t.equal(termWhileAway, leaderTerm, "pre-vote keeps the isolated node's term");
        t.equal(net.node(1).rn.raft.state, StateType.Leader, "leader kept its role");
        t.equal(net.node(1).rn.raft.term, leaderTerm, "no term inflation");
      } else {
        t.ok(termWhileAway > leaderTerm, "term grew while isolated");
        t.ok(net.node(1).rn.raft.term >= termWhileAway, "leader was forced into the higher term");
      }
    }
  },
);

t.test(
  "an isolated leader steps down (CheckQuorum), a new one is elected, and it rejoins as follower",
  async (t) => {
    const net = new Net([1, 2, 3], { checkQuorum: true, preVote: true });
    net.campaign(1);
    net.propose(1, "before");
    net.isolate(1);
    net.node(1).rn.propose(enc("lost")); // accepted by the isolated leader, never committed
    net.settle();
    net.tick(30);
    t.not(net.node(1).rn.raft.state, StateType.Leader, "isolated leader stepped down");
    const newLeaders = net.leaders();
    t.equal(newLeaders.length, 1);
    const leader = newLeaders[0] as number;
    t.not(leader, 1);
    net.propose(leader, "after");
    net.heal();
    net.tick(5);
    for (const id of [1, 2, 3])
      t.same(net.appliedText(id), ["before", "after"], `node ${id}: uncommitted entry discarded`);
  },
);

t.test("partial connectivity: plain Raft is disrupted; PreVote+CheckQuorum stays stable", async (t) => {
  // Link 1-2 is cut; node 3 hears both. Node 2 cannot hear leader 1 and keeps campaigning. In plain
  // Raft its higher terms reach node 3 and depose the working leader (elections, dropped
  // proposals). With PreVote + CheckQuorum, node 3 ignores pre-votes while it hears a leader.
  // (The new leader's empty entry keeps this from becoming an endless flip-flop: the cut-off
  // node's log falls behind, so it can disrupt but not win; see docs/raft.md.)
  for (const stable of [false, true]) {
    const net = new Net([1, 2, 3], stable ? { preVote: true, checkQuorum: true } : {}, 3);
    net.campaign(1);
    const leaderTerm = net.node(1).rn.raft.term;
    net.cutLink(1, 2);
    let leaderChanges = 0;
    let last = 1;
    let dropped = 0;
    for (let i = 0; i < 300; i++) {
      net.tick(1);
      try {
        net.node(3).rn.propose(enc(`p${i}`));
        net.settle();
      } catch {
        dropped++;
      }
      // The real leader is the one of the highest term (a stale one may not know yet).
      const leaders = net.leaders().map((id) => net.node(id).rn.raft);
      leaders.sort((a, b) => b.term - a.term);
      const cur = leaders[0]?.id ?? 0;
      if (cur !== 0 && cur !== last) {
        leaderChanges++;
        last = cur;
      }
    }
    const term3 = net.node(3).rn.raft.term;
    if (stable) {
      t.equal(leaderChanges, 0, "no leadership change");
      t.equal(term3, leaderTerm, "no term inflation");
      t.equal(net.appliedText(3).length, 300, "every proposal committed");
    } else {
      t.ok(leaderChanges >= 1, `the cut-off node deposed the leader (${leaderChanges} changes)`);
      t.ok(term3 > leaderTerm, `terms inflated to ${term3}`);
      t.ok(dropped > 0, `${dropped} proposals dropped during elections`);
    }
  }
});

t.test("ReadIndex: answered after a heartbeat quorum; never answered by an isolated leader", async (t) => {
  const net = new Net([1, 2, 3]);
  net.campaign(1);
  net.propose(1, "a");
  net.node(1).rn.readIndex(enc("r1"));
  net.settle();
  const rs = net.node(1).readStates;
  t.equal(rs.length, 1);
  t.equal(rs[0]?.index, net.node(1).rn.raft.raftLog.committed, "read index is the commit index");
  t.ok(net.count(MessageType.MsgHeartbeat) > 0, "confirmed by a heartbeat round");
  // From a follower: forwarded to the leader and answered back.
  net.node(2).rn.readIndex(enc("r2"));
  net.settle();
  t.equal(net.node(2).readStates[0]?.index, net.node(1).rn.raft.raftLog.committed);
  // An isolated leader cannot confirm its leadership: the read stays pending.
  net.isolate(1);
  net.node(1).rn.readIndex(enc("r3"));
  net.tick(5, [1]);
  t.equal(net.node(1).readStates.length, 1, "no answer without a quorum");
});

t.test("ReadIndex on a new leader waits until it commits an entry of its term", async (t) => {
  const net = new Net([1, 2, 3]);
  net.campaign(1);
  net.isolate(1);
  const n2 = net.node(2);
  n2.rn.campaign();
  // Deliver the vote round by hand, then cut node 2 off before its first append goes out.
  for (let i = 0; i < 2; i++) {
    net.handleReadies();
    net.deliver();
  }
  const r2 = n2.rn.raft;
  t.equal(r2.state, StateType.Leader);
  net.heal();
  net.isolate(2);
  net.settle();
  n2.rn.readIndex(enc("early"));
  net.settle();
  t.equal(r2.pendingReadIndexMessages.length, 1, "held until an entry of this term commits");
  t.equal(n2.readStates.length, 0);
  net.heal();
  net.tick(2, [2]);
  t.equal(n2.readStates.length, 1, "answered after the commit");
  t.equal(r2.raftLog.term(n2.readStates[0]?.index ?? 0), r2.term, "at an index of the new term");
});

t.test("a lagging follower catches up by snapshot after the leader compacted its log", async (t) => {
  const net = new Net([1, 2, 3]);
  net.campaign(1);
  net.isolate(3);
  for (let i = 0; i < 20; i++) net.propose(1, `v${i}`);
  const leader = net.node(1);
  const applied = leader.rn.raft.raftLog.applied;
  leader.storage.createSnapshot(applied, leader.rn.raft.prs.confState(), enc("state"));
  leader.storage.compact(applied);
  net.heal();
  net.tick(3);
  t.ok(net.count(MessageType.MsgSnap) >= 1, "a snapshot was sent");
  t.equal(net.node(3).storage.snapshot().metadata.index, applied, "follower installed it");
  net.propose(1, "after");
  t.same(net.appliedText(3), ["after"], "then replicates normally");
  t.equal(net.node(3).rn.raft.raftLog.committed, leader.rn.raft.raftLog.committed);
});

t.test("membership: a learner catches up, is promoted, and a voter is removed", async (t) => {
  const net = new Net([1, 2, 3]);
  net.campaign(1);
  net.propose(1, "a");
  const s4 = new MemoryStorage();
  bootstrapStorage(s4, [1, 2, 3]);
  net.add(4, s4, new SeededRand(4));
  net.node(1).rn.proposeConfChange({ type: ConfChangeType.AddLearnerNode, nodeId: 4 });
  net.settle();
  net.tick(2);
  t.same(net.node(1).rn.raft.prs.confState().learners, [4]);
  t.same(net.appliedText(4), ["a"], "learner caught up");
  t.notOk(net.node(1).rn.raft.prs.voters.has(4), "learner does not vote");
  net.node(1).rn.proposeConfChange({ type: ConfChangeType.AddNode, nodeId: 4 });
  net.settle();
  t.same(net.node(1).rn.raft.prs.confState().voters, [1, 2, 3, 4], "promoted");
  t.same(net.node(4).rn.raft.prs.confState().voters, [1, 2, 3, 4], "the learner knows it too");
  net.node(1).rn.proposeConfChange({ type: ConfChangeType.RemoveNode, nodeId: 2 });
  net.settle();
  t.same(net.node(1).rn.raft.prs.confState().voters, [1, 3, 4], "removed");
  net.nodes.delete(2);
  net.isolate(3); // 1 and 4 are still a quorum of {1,3,4}
  net.propose(1, "b");
  t.same(net.appliedText(4), ["a", "b"]);
});

t.test("only one conf change may be pending at a time", async (t) => {
  const net = new Net([1, 2, 3]);
  net.campaign(1);
  net.isolate(1);
  net.node(1).rn.proposeConfChange({ type: ConfChangeType.AddLearnerNode, nodeId: 4 });
  net.node(1).rn.proposeConfChange({ type: ConfChangeType.AddLearnerNode, nodeId: 5 });
  const ents = net.node(1).rn.raft.raftLog.unstableEntries();
  t.same(
    ents.map((e) => e.type),
    [EntryType.ConfChange, EntryType.Normal],
    "the second became an empty normal entry",
  );
});

t.test("leadership transfer: the transferee becomes leader; proposals are dropped meanwhile", async (t) => {
  const net = new Net([1, 2, 3], { checkQuorum: true, preVote: true });
  net.campaign(1);
  net.propose(1, "a");
  net.node(1).rn.transferLeadership(3);
  net.settle();
  t.same(net.leaders(), [3], "node 3 leads");
  t.ok(net.count(MessageType.MsgTimeoutNow) === 1);
  net.propose(3, "b");
  for (const id of [1, 2, 3]) t.same(net.appliedText(id), ["a", "b"]);
  // A transfer to a lagging node waits for it to catch up; proposals are refused meanwhile.
  net.isolate(2);
  net.node(3).rn.transferLeadership(2);
  net.settle();
  t.throws(() => net.node(3).rn.propose(enc("c")), ProposalDroppedError);
  net.tick(25, [1, 3]); // times out: the transfer is abandoned
  t.equal(net.node(3).rn.raft.leadTransferee, 0, "transfer aborted after an election timeout");
});

t.test(
  "flow control: a follower in Replicate gets at most maxInflightMsgs unacknowledged appends",
  async (t) => {
    const net = new Net([1, 2, 3], { maxInflightMsgs: 4, maxSizePerMsg: 1 });
    net.campaign(1);
    net.propose(1, "warm");
    net.cutOneWay(2, 1); // acknowledgements from 2 are lost
    for (let i = 0; i < 20; i++) net.node(1).rn.propose(enc(`p${i}`));
    net.handleReadies();
    const toTwo = net.queue.filter((m) => m.type === MessageType.MsgApp && m.to === 2);
    t.equal(toTwo.length, 4, "window of 4 messages");
    net.settle();
  },
);

t.test(
  "fast backtracking: a diverged follower is repaired in a few round trips, not one per entry",
  async (t) => {
    const net = new Net([1, 2, 3]);
    net.campaign(1);
    net.isolate(1);
    for (let i = 0; i < 100; i++) net.node(1).rn.propose(enc(`stale${i}`)); // uncommitted, term 1
    net.settle();
    net.heal();
    net.isolate(1);
    net.campaign(2);
    for (let i = 0; i < 5; i++) net.propose(2, `good${i}`);
    net.heal();
    const before = net.delivered.length;
    net.tick(3);
    const rejects = net.delivered
      .slice(before)
      .filter((m) => m.type === MessageType.MsgAppResp && m.reject).length;
    t.ok(rejects <= 3, `rejections: ${rejects}`);
    t.same(net.appliedText(1), ["good0", "good1", "good2", "good3", "good4"]);
  },
);

t.test("a single-voter cluster commits at once", async (t) => {
  const net = new Net([1]);
  net.campaign(1);
  net.propose(1, "solo");
  t.same(net.appliedText(1), ["solo"]);
  net.node(1).rn.readIndex(enc("r"));
  net.settle();
  t.equal(net.node(1).readStates.length, 1);
});

t.test("a candidate counts its own vote only once its term and vote are persisted", async (t) => {
  // etcd-raft 3.6: the self-vote is stepped in advance(), after the Ready carrying the new term
  // and vote. Counting it at once let a lone voter lead a term, crash before its fsync and lead
  // the same term again with other entries (issue 22's replay, pinned in sim-scripted.test.ts).
  for (const preVote of [false, true]) {
    const storage = new MemoryStorage();
    bootstrapStorage(storage, [1], [2]);
    const rn = new RawNode({
      id: 1,
      electionTick: 10,
      heartbeatTick: 1,
      storage,
      rand: new SeededRand(1),
      preVote,
    });
    // Apply the bootstrap conf changes first (a node does not campaign with one unapplied).
    for (const e of rn.ready().committedEntries)
      if (e.type === EntryType.ConfChange) rn.applyConfChange(decodeConfChange(e.data));
    rn.advance();
    rn.campaign();
    let persistedTerm = storage.hardState.term;
    for (let i = 0; i < 5 && rn.raft.state !== StateType.Leader; i++) {
      const rd = rn.ready();
      t.not(rn.raft.state, StateType.Leader, `preVote=${preVote}: not leader before the write`);
      t.notOk(
        rd.messages.some((m) => m.type === MessageType.MsgApp),
        `preVote=${preVote}: no append leaves before the term is durable`,
      );
      storage.append(rd.entries);
      if (rd.hardState !== undefined) {
        storage.setHardState(rd.hardState);
        persistedTerm = rd.hardState.term;
      }
      rn.advance();
    }
    t.equal(rn.raft.state, StateType.Leader, `preVote=${preVote}: leader after advance()`);
    t.equal(persistedTerm, rn.raft.term, `preVote=${preVote}: the term it leads was on disk first`);
  }
});
