/**
 * Scripted simulator scenarios: interleavings too exact for a random schedule to hit on purpose,
 * written as events on a simulated cluster (scriptedCluster) with every invariant checked.
 */
import t, { type Test } from "tap";
import { NotLeaderError, ProposalDroppedError, type RawNode, StateType } from "../src/index.js";
import { InvariantViolation, type SimCluster, type SimOptions, scriptedCluster } from "../src/sim/index.js";
import type { SimNode } from "../src/sim/node.js";
import { encodeValue } from "../src/sim/statemachine.js";

/** A quiet network and disk: only what the script does happens. */
const quiet: Partial<SimOptions> = {
  network: { dropRate: 0, dupRate: 0, reorderRate: 0 },
  disk: { tornWrites: false },
  trace: "tail",
  tailLines: 80,
};

function node(c: SimCluster, id: number): SimNode {
  const n = c.nodes.get(id);
  if (n === undefined) throw new Error(`no n${id}`);
  return n;
}

/** Proposes value v at n now, inside the current event (no separate client event). */
function proposeNow(c: SimCluster, n: SimNode, raw: RawNode, v: number): void {
  try {
    raw.propose(encodeValue(v));
    n.proposed.add(v);
    c.trace.add(`n${n.id} propose v${v}`);
  } catch (e) {
    if (!(e instanceof ProposalDroppedError || e instanceof NotLeaderError)) throw e;
    c.trace.add(`n${n.id} propose v${v} refused: ${e.message}`);
  }
}

/** Runs the scheduler to `until`; an invariant violation fails the test with the trace tail. */
function run(t: Test, c: SimCluster, until: number): boolean {
  try {
    c.sched.runUntil(until);
    return true;
  } catch (e) {
    if (!(e instanceof InvariantViolation)) throw e;
    t.fail(`${e.invariant} at t=${c.sched.now}ms: ${e.detail}`, { trace: c.trace.lines().slice(-40) });
    return false;
  }
}

/**
 * The replay of issue 22: one voter (n1) plus a learner (n2). n1 restarts at term 2, campaigns
 * and takes a proposal in the same step, so one Ready carries its new term and vote, the entries
 * 5/3 (the leader's empty entry) and 6/3 "P1", and the MsgApp for them (sent before the write, as
 * the store's node loop sends appends). n1 crashes before that write is on disk, restarts at
 * term 2 again and wins term 3 a second time with 6/3 "P2". Counting its own vote before the
 * term and vote were durable let it lead term 3 twice: the learner took the second MsgApp as the
 * entries it had and applied P1 where the leader applied P2. Counting the self-vote only after it
 * is persisted (etcd-raft 3.6) makes the first incarnation a mere candidate when it crashes.
 */
for (const [preVote, loop] of [
  [false, "store"],
  [true, "store"],
  [true, "etcd"],
] as const) {
  t.test(
    `regression: one voter plus a learner never leads a term twice (preVote=${preVote}, ${loop} loop)`,
    async (t) => {
      const c = scriptedCluster({
        seed: 22,
        nodes: 1,
        learners: 1,
        raft: { loop, preVote, checkQuorum: true, earlySend: true },
        ...quiet,
      });
      c.bootstrap();
      const n1 = node(c, 1);
      const n2 = node(c, 2);
      if (!run(t, c, 400)) return;
      t.equal(n1.raw?.raft.state, StateType.Leader, "n1 leads");
      t.equal(n1.raw?.raft.term, 2, "in term 2");
      c.nodeEvent(n1, 0, (raw) => proposeNow(c, n1, raw, 1));
      if (!run(t, c, 450)) return;
      t.equal(n2.sm.values.join(","), "1", "the learner applied v1");

      // Restart n1 at term 2 (a crash when nothing is in flight loses nothing).
      c.crash(n1, 10);
      if (!run(t, c, 461)) return;
      t.ok(n1.up, "n1 restarted");
      t.equal(n1.storage.hardState.term, 2, "at term 2");
      // Campaign and propose P1 in one step, then crash before the Ready's write completes.
      c.nodeEvent(n1, 0, (raw) => {
        raw.campaign();
        proposeNow(c, n1, raw, 2);
        c.sched.after(0, () => c.crash(n1, 10));
      });
      if (!run(t, c, 472)) return;
      t.ok(n1.up, "n1 restarted again");
      t.equal(n1.storage.hardState.term, 2, "term 3 never reached n1's disk");
      // Campaign again and propose P2 in one step; this time the write completes.
      c.nodeEvent(n1, 0, (raw) => {
        raw.campaign();
        proposeNow(c, n1, raw, 3);
      });
      // Proposals a client would retry once n1 leads.
      c.sched.at(520, () => c.nodeEvent(n1, 0, (raw) => proposeNow(c, n1, raw, 4)));
      if (!run(t, c, 700)) return;
      t.equal(n1.raw?.raft.state, StateType.Leader, "n1 leads again");
      t.equal(n1.raw?.raft.term, 3, "in term 3");
      t.ok(n1.sm.values.includes(4), "n1 applied the value proposed after its election");
      t.equal(n2.sm.appliedIndex, n1.sm.appliedIndex, "the learner caught up");
      t.equal(n2.sm.digest, n1.sm.digest, "leader and learner applied the same entries");
      t.same(n2.sm.values, n1.sm.values, "and the same values");
    },
  );
}

/** Runs the scheduler a millisecond at a time until cond holds; false (and a failure) past maxMs. */
function until(t: Test, c: SimCluster, what: string, cond: () => boolean, maxMs = 300): boolean {
  for (let i = 0; i <= maxMs; i++) {
    if (cond()) return true;
    if (!run(t, c, c.sched.now + 1)) return false;
  }
  t.fail(`${what}: not within ${maxMs}ms`, { trace: c.trace.lines().slice(-40) });
  return false;
}

const isLeader = (n: SimNode) => n.raw?.raft.state === StateType.Leader;
const termOf = (n: SimNode) => n.raw?.raft.term ?? 0;

/**
 * Raft paper Figure 8 with real elections, on five voters. (a) S1 leads term 2 and gets X (index
 * k) to S2 only, then crashes. (b) S5 wins term 3 with S3 and S4 and appends its own index k
 * alone, then crashes. (c) S1 wins term 4 and brings X to S3: X is on a majority (S1, S2, S3),
 * but S1's own term-4 entry is on S1 and S3 only, so X must not commit. S1 crashes. (d) S5 wins
 * term 5 with S2 and S4 and overwrites index k everywhere. A core that committed X by counting
 * its replicas would be caught by committed-entry-stable (a leader's in-memory commit counts).
 */
for (const loop of ["store", "etcd"] as const) {
  t.test(`Figure 8: an old-term entry on a majority is not committed (${loop} loop)`, async (t) => {
    const c = scriptedCluster({
      seed: 8,
      nodes: 5,
      raft: { loop, preVote: false, checkQuorum: false, earlySend: true },
      ...quiet,
      network: { minDelayMs: 2, maxDelayMs: 2, dropRate: 0, dupRate: 0, reorderRate: 0 },
      disk: { minLatencyMs: 1, maxLatencyMs: 1, tornWrites: false },
    });
    c.bootstrap();
    const s = [1, 2, 3, 4, 5].map((id) => node(c, id));
    const [s1, s2, s3, s4, s5] = s as [SimNode, SimNode, SimNode, SimNode, SimNode];
    const cut = (from: SimNode, ...to: SimNode[]) => {
      for (const n of to) c.net.cut(from.id, n.id);
    };
    /** Heals every link once what is on the wire (cut) has arrived and been dropped. */
    const uncutAll = () => {
      if (!run(t, c, c.sched.now + 3)) return false;
      for (const a of s) for (const b of s) if (a !== b) c.net.uncut(a.id, b.id);
      return true;
    };
    const act = (n: SimNode, fn: (raw: RawNode) => void) => {
      c.nodeEvent(n, 0, fn);
      return run(t, c, c.sched.now);
    };
    const lastTerm = (n: SimNode) => n.storage.term(n.storage.lastIndex());

    /** Campaigns until n leads a term above `above` (a refused campaign is retried in a higher term). */
    const win = (n: SimNode, above: number, what: string): boolean => {
      for (let i = 0; i < 5; i++) {
        if (!act(n, (raw) => raw.campaign())) return false;
        for (let ms = 0; ms < 20; ms++) {
          if (isLeader(n) && termOf(n) > above) return true;
          if (!run(t, c, c.sched.now + 1)) return false;
        }
      }
      t.fail(`${what}: no`, { trace: c.trace.lines().slice(-40) });
      return false;
    };

    // S1 leads and everyone has its log.
    if (!win(s1, 0, "S1 leads")) return;
    const t1 = termOf(s1);
    const caughtUp = () => s.every((n) => n.storage.lastIndex() === s1.raw?.raft.raftLog.lastIndex());
    if (!until(t, c, "all have S1's log", caughtUp)) return;
    // (a) X reaches S2 only.
    cut(s1, s3, s4, s5);
    if (!act(s1, (raw) => proposeNow(c, s1, raw, 1))) return;
    const k = s1.raw?.raft.raftLog.lastIndex() ?? 0; // X's index
    if (!until(t, c, "X on S1 and S2", () => s1.storage.lastIndex() === k && s2.storage.lastIndex() === k))
      return;
    c.crash(s1, 100_000);
    // (b) S5 wins a newer term (S2's log is longer: it refuses) and keeps its index k to itself.
    if (!win(s5, t1, "S5 leads")) return;
    const t5 = termOf(s5);
    cut(s5, s1, s2, s3, s4); // its appends are still on the wire: they arrive cut
    if (!until(t, c, "S5's index k on its disk", () => s5.storage.lastIndex() === k)) return;
    t.equal(lastTerm(s5), t5, "S5 has an entry of its term at index k");
    c.crash(s5, 100_000);
    // (c) S1 restarts and wins a term above S5's (S2, S3, S4 vote for it), and brings X to S3,
    // while the entry of its new term reaches S3 only.
    if (!uncutAll()) return;
    c.restart(s1);
    if (!win(s1, t5, "S1 leads again")) return;
    cut(s1, s2, s4, s5);
    if (!until(t, c, "X and S1's new entry on S3", () => s3.storage.lastIndex() === k + 1)) return;
    t.equal(s3.storage.term(k), t1, "X (S1's first term) is on S1, S2 and S3: a majority");
    t.ok((s1.raw?.raft.raftLog.committed ?? 0) < k, "S1 did not commit X");
    c.crash(s1, 100_000);
    // (d) S5 restarts and wins again with S2 and S4 (S3's last entry is newer: it refuses).
    const t4 = termOf(s1);
    if (!uncutAll()) return;
    c.restart(s5);
    if (!win(s5, t4, "S5 leads again")) return;
    if (!until(t, c, "index k committed", () => (s5.raw?.raft.raftLog.committed ?? 0) > k)) return;
    for (const n of [s2, s3, s4]) t.equal(n.storage.term(k), t5, `S${n.id} has S5's entry at k`);
    // Everyone converges on S5's history once S1 is back.
    c.restart(s1);
    if (!act(s5, (raw) => proposeNow(c, s5, raw, 2))) return;
    if (!until(t, c, "all apply the same history", () => s.every((n) => n.sm.values.includes(2)))) return;
    for (const n of s) {
      t.equal(n.sm.digest, s5.sm.digest, `S${n.id} applied S5's history`);
      t.notOk(n.sm.values.includes(1), `S${n.id} never applied X`);
    }
  });
}
