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
