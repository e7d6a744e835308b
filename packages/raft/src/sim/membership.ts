/**
 * Membership changes and leadership transfers, driven like an operator would: one change at a
 * time (a queue), each proposed at the current leader and re-proposed (at a new leader if need
 * be) until it is seen applied. A change's preconditions are checked when it starts, against the
 * committed membership, so two removals requested together cannot shrink the cluster below
 * minVoters. Single-server changes only (Raft dissertation §4.1): remove a voter, add a learner (a
 * new node that starts with an empty disk), promote it.
 */
import { type ConfChange, ConfChangeType, MemoryStorage } from "../index.js";
import type { SimCluster } from "./cluster.js";

/**
 * A removal needs more voters than this. Removing one of two voters is unsafe to automate: the
 * removed member stops once its removal is applied, and the survivor may never learn the commit.
 */
const minVoters = 2;
/** At most this many nodes join during a run. */
const maxJoins = 2;

export class MembershipDriver {
  private joins = 0;
  private readonly queue: { label: string; start: () => ConfChange | undefined }[] = [];
  private current: ConfChange | undefined;

  constructor(private readonly cluster: SimCluster) {}

  private get electionMs(): number {
    return this.cluster.opts.raft.electionTick * this.cluster.opts.tickMs;
  }

  removeVoter(pick: number): void {
    this.enqueue("removeVoter", () => {
      const c = this.cluster;
      const voters = c.members().filter((n) => c.conf.voters.includes(n.id));
      if (voters.length <= minVoters) return this.skip("removeVoter: too few voters");
      const target = c.pick(pick, voters);
      return target === undefined
        ? this.skip("removeVoter: no target")
        : { type: ConfChangeType.RemoveNode, nodeId: target.id };
    });
  }

  addLearner(): void {
    this.enqueue("addLearner", () => {
      const c = this.cluster;
      if (this.joins >= maxJoins) return this.skip("addLearner: enough joins");
      if (c.conf.learners.length > 0) return this.skip("addLearner: a learner is already waiting");
      this.joins++;
      // A new member starts with an empty disk and learns everything from the leader.
      const node = c.addNode(c.nextNodeId, new MemoryStorage());
      c.stats.learnersAdded++;
      if (c.trace.on) c.trace.add(`n${node.id} joins with an empty disk`);
      c.startNode(node);
      return { type: ConfChangeType.AddLearnerNode, nodeId: node.id };
    });
  }

  promoteLearner(): void {
    this.enqueue("promoteLearner", () => {
      const c = this.cluster;
      const learner = c.conf.learners[c.conf.learners.length - 1];
      return learner === undefined
        ? this.skip("promoteLearner: no learner")
        : { type: ConfChangeType.AddNode, nodeId: learner };
    });
  }

  transferLeader(pick: number): void {
    const c = this.cluster;
    const leader = c.leader();
    if (leader === undefined) {
      this.skip("transferLeader: no leader");
      return;
    }
    const others = c.members().filter((n) => n !== leader && c.conf.voters.includes(n.id));
    const to = c.pick(pick, others);
    if (to === undefined) {
      this.skip("transferLeader: no other voter");
      return;
    }
    c.stats.transfers++;
    if (c.trace.on) c.trace.add(`TRANSFER leadership n${leader.id} -> n${to.id}`);
    c.nodeEvent(leader, 0, (raw) => raw.transferLeadership(to.id));
  }

  private enqueue(label: string, start: () => ConfChange | undefined): void {
    this.queue.push({ label, start });
    if (this.queue.length > 1 || this.current !== undefined) {
      if (this.cluster.trace.on)
        this.cluster.trace.add(`CONF queued ${label} (${this.queue.length} waiting)`);
    }
    this.next();
  }

  /** Starts the next queued change once the current one is applied (or the run heals). */
  private next(): void {
    while (this.current === undefined && !this.cluster.net.healed) {
      const req = this.queue.shift();
      if (req === undefined) return;
      const cc = req.start();
      if (cc !== undefined) {
        this.current = cc;
        this.attempt(cc, 0, 0);
      }
    }
  }

  private done(cc: ConfChange): boolean {
    return this.cluster.confDone.has(`${cc.type}:${cc.nodeId}`);
  }

  /** Proposes cc at the leader; polls for it to be applied; re-proposes every 3 election timeouts. */
  private attempt(cc: ConfChange, attempt: number, waitedMs: number): void {
    const c = this.cluster;
    if (this.done(cc) || c.net.healed) {
      this.current = undefined;
      this.next();
      return;
    }
    if (waitedMs === 0) {
      const leader = c.leader();
      if (leader !== undefined) {
        c.stats.confChangesProposed++;
        if (c.trace.on)
          c.trace.add(
            `CONF propose ${ConfChangeType[cc.type]}(n${cc.nodeId}) at n${leader.id} (attempt ${attempt + 1})`,
          );
        c.nodeEvent(leader, 0, (raw) => {
          try {
            raw.proposeConfChange(cc);
          } catch (e) {
            if (c.trace.on) c.trace.add(`n${leader.id} conf proposal refused: ${(e as Error).message}`);
          }
        });
      }
    }
    const poll = 5 * c.opts.tickMs;
    const waited = waitedMs + poll;
    c.sched.after(poll, () =>
      waited >= 3 * this.electionMs ? this.attempt(cc, attempt + 1, 0) : this.attempt(cc, attempt, waited),
    );
  }

  private skip(why: string): undefined {
    if (this.cluster.trace.on) this.cluster.trace.add(`CONF skipped: ${why}`);
    return undefined;
  }
}
