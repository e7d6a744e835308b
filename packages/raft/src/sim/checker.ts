/**
 * Safety invariants over the whole simulated cluster (Raft paper Figure 3), checked as events
 * happen; each hook is called right after the step that could break it, so a violation stops the
 * run at the event that caused it.
 *
 * - election-safety: at most one leader per term.
 * - log-matching: entries with the same index and term are identical and have identical prefixes,
 *   among persisted logs.
 * - leader-completeness: a new leader's log holds every entry committed before its election.
 * - state-machine-safety: no two nodes apply different entries at the same index (the digest of
 *   the applied history must agree, including across snapshots and restarts).
 * - committed-entry-stable: an index, once committed (a leader's in-memory commit, a persisted
 *   commit, an applied entry or a snapshot), is never committed with another term.
 * - commit-durability: an entry is on a quorum's disks when it is first applied, and stays so.
 * - commit-monotonic / hardstate-monotonic: commit never goes back (in memory in one lifetime, and
 *   on disk across crashes); the persisted term never decreases and a vote never changes in a term.
 * - config-agreement: a settled node's membership is the committed one as of its applied index.
 */
import {
  type ConfState,
  type Entry,
  type HardState,
  type MemoryStorage,
  type NodeId,
  type Snapshot,
  StateType,
} from "../index.js";
import { persistedHas } from "./disk.js";
import { fmtEntry, fmtHardState } from "./format.js";
import { violated } from "./violation.js";

/** What the checker may read from a node: its disk, and which lifetime it is in. */
export interface CheckedNode {
  readonly id: NodeId;
  readonly storage: MemoryStorage;
  /** The node's term in memory (its disk's when absent). */
  currentTerm?(): number;
}

const termNow = (n: CheckedNode) => n.currentTerm?.() ?? n.storage.hardState.term;

/** The volatile state the per-step checks read (a subset of RawNode.status(), which is costly). */
export interface ObservedState {
  readonly term: number;
  readonly raftState: StateType;
  readonly commit: number;
  /** The term of the entry at an index of the node's log (memory included), if it has it. */
  termAt(index: number): number | undefined;
}

interface PendingLeaderCheck {
  readonly term: number;
  /** Highest index known committed when it was elected. */
  readonly upTo: number;
  /** Set when a Ready taken after the election is in flight: its write makes the whole log durable. */
  armed: boolean;
}

const confKey = (cs: ConfState) =>
  `voters=${[...cs.voters].sort((a, b) => a - b).join(",")} learners=${[...cs.learners].sort((a, b) => a - b).join(",")}`;

export class SafetyChecker {
  readonly leaderOfTerm = new Map<number, NodeId>();
  /** index/term -> what the entry carries and the term of the entry before it (log matching). */
  private readonly entries = new Map<string, { key: string; prevTerm: number }>();
  /** Index -> term, for every index known committed. */
  private readonly committedTerm: (number | undefined)[] = [];
  /** Index -> a term at or after the one the index was committed in (see commit()). */
  private readonly commitBound: number[] = [];
  maxCommitted = 0;
  /** Index -> digest of the applied history up to it, and the entry first applied there. */
  private readonly appliedDigest: (string | undefined)[] = [];
  private readonly appliedEntry: (Entry | undefined)[] = [];
  /** Membership after each applied conf change, in index order; index 0 is the bootstrap. */
  private readonly confHistory: { index: number; voters: readonly NodeId[]; key: string }[] = [];
  private readonly persistedHs = new Map<NodeId, HardState>();
  private readonly memCommit = new Map<NodeId, number>();
  private readonly pendingLeader = new Map<NodeId, PendingLeaderCheck>();
  private readonly leaderChecked = new Map<NodeId, number>();
  private readonly nodes: CheckedNode[] = [];
  elections = 0;
  /**
   * Conf changes at or below this index are the bootstrap's: founding members hold the whole
   * initial membership from the start, while a member that joins later rebuilds it entry by entry
   * (as in etcd), so their configurations agree only from the end of the bootstrap on.
   */
  bootstrapIndex = 0;

  constructor(
    initial: ConfState,
    private readonly durability: boolean,
  ) {
    this.confHistory.push({ index: 0, voters: initial.voters, key: confKey(initial) });
  }

  addNode(n: CheckedNode): void {
    this.nodes.push(n);
  }

  /** The node object was replaced (a crash that restores an older disk image). */
  replaceNode(n: CheckedNode): void {
    const i = this.nodes.findIndex((x) => x.id === n.id);
    if (i >= 0) this.nodes[i] = n;
  }

  /** After every event a node handled: its volatile state. */
  observe(id: NodeId, st: ObservedState): void {
    const prev = this.memCommit.get(id) ?? 0;
    if (st.commit < prev)
      violated("commit-monotonic", `n${id} commit went back from ${prev} to ${st.commit} without a crash`);
    this.memCommit.set(id, st.commit);
    if (st.raftState !== StateType.Leader) return;
    // A leader's commit index is a commitment even before any disk holds it (the store does not
    // write commit-only hard states): record it for committed-entry-stable and the completeness
    // check of later leaders.
    for (let i = prev + 1; i <= st.commit; i++) {
      const t = st.termAt(i);
      if (t !== undefined) this.commit(i, t, st.term, `leader n${id} commit=${st.commit} (in memory)`);
    }
    const other = this.leaderOfTerm.get(st.term);
    if (other === undefined) {
      this.leaderOfTerm.set(st.term, id);
      this.elections++;
    } else if (other !== id) {
      violated("election-safety", `n${id} and n${other} are both leaders of term ${st.term}`);
    }
    if ((this.leaderChecked.get(id) ?? 0) < st.term && this.pendingLeader.get(id)?.term !== st.term) {
      this.pendingLeader.set(id, { term: st.term, upTo: this.maxCommitted, armed: false });
    }
  }

  /** A node took a Ready (its write now covers its whole log as of this moment). */
  readyTaken(id: NodeId, st: ObservedState): void {
    const p = this.pendingLeader.get(id);
    if (p === undefined) return;
    if (st.raftState === StateType.Leader && st.term === p.term) p.armed = true;
    else this.pendingLeader.delete(id);
  }

  /** A node crashed or restarted: its volatile state starts over from its disk. */
  restarted(n: CheckedNode): void {
    this.pendingLeader.delete(n.id);
    const hs = n.storage.hardState;
    const before = this.persistedHs.get(n.id);
    if (
      before !== undefined &&
      (hs.term < before.term ||
        hs.commit < before.commit ||
        (hs.term === before.term && hs.vote !== before.vote))
    ) {
      violated(
        "hardstate-monotonic",
        `n${n.id} restarted with ${fmtHardState(hs)} but had persisted ${fmtHardState(before)}: a durable write was lost`,
      );
    }
    this.memCommit.set(n.id, hs.commit);
    // A disk that lost writes may have lost committed entries: recount them.
    for (let i = Math.max(1, n.storage.firstIndex()); i <= this.maxCommitted; i++)
      this.checkDurable(i, `after n${n.id} restarted`);
  }

  /** A node's write completed: entries, hard state and snapshot are on its disk now. */
  persisted(
    n: CheckedNode,
    w: { snapshot?: Snapshot; entries: readonly Entry[]; hardState?: HardState },
  ): void {
    const s = n.storage;
    if (w.snapshot !== undefined) {
      const md = w.snapshot.metadata;
      this.commit(md.index, md.term, termNow(n), `n${n.id} installed snapshot ${md.index}/${md.term}`);
    }
    for (const e of w.entries) this.entryWritten(n, e);
    if (w.hardState !== undefined) this.hardStateWritten(n, w.hardState);
    const p = this.pendingLeader.get(n.id);
    if (p?.armed === true) {
      this.pendingLeader.delete(n.id);
      this.leaderChecked.set(n.id, p.term);
      for (let i = Math.max(1, s.snapshot().metadata.index + 1); i <= p.upTo; i++) {
        const t = this.committedTerm[i];
        // Leader completeness covers entries committed in earlier terms. A leader whose election
        // is seen late (its votes waited in a paused process) may lead an older term than an
        // entry committed meanwhile: that entry is not required of it.
        if (t === undefined || (this.commitBound[i] ?? 0) >= p.term) continue;
        if (i > s.lastIndex() || s.term(i) !== t) {
          const has = i > s.lastIndex() ? "nothing" : `term ${s.term(i)}`;
          violated(
            "leader-completeness",
            `n${n.id} leads term ${p.term} but has ${has} at index ${i}, committed at term ${t}`,
          );
        }
      }
    }
  }

  private entryWritten(n: CheckedNode, e: Entry): void {
    const s = n.storage;
    if (e.index < s.firstIndex()) return; // a torn or compacted range: nothing to compare
    const key = e.data.length === 0 ? `${e.type}:` : `${e.type}:${keyOf(e)}`;
    const prevTerm = s.term(e.index - 1);
    const at = `${e.index}/${e.term}`;
    const known = this.entries.get(at);
    if (known === undefined) {
      this.entries.set(at, { key, prevTerm });
      return;
    }
    if (known.key !== key)
      violated(
        "log-matching",
        `n${n.id} persisted entry ${fmtEntry(e)} but another node has a different entry at ${at}`,
      );
    if (known.prevTerm !== prevTerm) {
      violated(
        "log-matching",
        `n${n.id} has entry ${at} after term ${prevTerm} at ${e.index - 1}, another node after term ${known.prevTerm}`,
      );
    }
  }

  private hardStateWritten(n: CheckedNode, hs: HardState): void {
    const before = this.persistedHs.get(n.id);
    if (before !== undefined) {
      if (hs.term < before.term)
        violated("hardstate-monotonic", `n${n.id} persisted term ${hs.term} after ${before.term}`);
      if (hs.commit < before.commit)
        violated("commit-monotonic", `n${n.id} persisted commit ${hs.commit} after ${before.commit}`);
      if (hs.term === before.term && before.vote !== 0 && hs.vote !== before.vote) {
        violated(
          "hardstate-monotonic",
          `n${n.id} changed its vote in term ${hs.term} from n${before.vote} to n${hs.vote}`,
        );
      }
    }
    this.persistedHs.set(n.id, hs);
    const s = n.storage;
    if (hs.commit > s.lastIndex())
      violated(
        "commit-durability",
        `n${n.id} persisted commit ${hs.commit} beyond its persisted log (last ${s.lastIndex()})`,
      );
    const from = Math.max(before?.commit ?? 0, s.firstIndex() - 1, 1);
    for (let i = from; i <= hs.commit; i++)
      this.commit(i, s.term(i), hs.term, `n${n.id} persisted commit=${hs.commit}`);
  }

  /**
   * Records that (index, term) is committed; an index never changes its committed term. `bound`
   * is the term of the node that saw it committed: the commit happened in that term or before.
   */
  private commit(index: number, term: number, bound: number, why: string): void {
    if (index === 0) return;
    const t = this.committedTerm[index];
    if (t === undefined) {
      this.committedTerm[index] = term;
      this.commitBound[index] = bound;
      if (index > this.maxCommitted) this.maxCommitted = index;
    } else if (t !== term) {
      violated(
        "committed-entry-stable",
        `index ${index} was committed at term ${t}, but ${why} has term ${term} there`,
      );
    }
  }

  /** A node applied e; `digest` is its state machine's digest after it. */
  applied(n: CheckedNode, e: Entry, digest: string): void {
    const first = this.appliedDigest[e.index];
    if (first === undefined) {
      this.appliedDigest[e.index] = digest;
      this.appliedEntry[e.index] = e;
      this.commit(e.index, e.term, termNow(n), `n${n.id} applied it`);
      this.checkDurable(e.index, `when n${n.id} applied it`);
      return;
    }
    if (first !== digest) {
      const other = this.appliedEntry[e.index] as Entry;
      violated(
        "state-machine-safety",
        `n${n.id} applied ${fmtEntry(e)} at index ${e.index}, another node applied ${fmtEntry(other)} (or a different history before it)`,
      );
    }
  }

  /** A node applied the conf change at `index` and ended up with membership cs. */
  confApplied(index: number, cs: ConfState): void {
    if (this.confHistory.some((c) => c.index === index)) return;
    // The first node to apply an index has applied everything before it, in order (a snapshot
    // at or past it exists only if some node applied that far): it defines the history.
    this.confHistory.push({ index, voters: cs.voters, key: confKey(cs) });
    this.confHistory.sort((x, y) => x.index - y.index);
  }

  /**
   * A node that has nothing half-done (no snapshot restored but not yet written) must have the
   * committed membership as of its applied index. Checked per settled node rather than per conf
   * change: a node that restores a newer snapshot while older committed entries are still being
   * applied is ahead for a moment, and the snapshot write brings it level again.
   */
  configSettled(id: NodeId, appliedIndex: number, cs: ConfState): void {
    if (appliedIndex < this.bootstrapIndex) return; // a joiner still replaying the bootstrap entries
    let k = this.confHistory.length - 1;
    while (k > 0 && (this.confHistory[k] as { index: number }).index > appliedIndex) k--;
    const expected = this.confHistory[k] as { index: number; key: string };
    const key = confKey(cs);
    if (key !== expected.key) {
      violated(
        "config-agreement",
        `n${id} has ${key} after applying up to ${appliedIndex}, but the committed membership there (conf change at ${expected.index}) is ${expected.key}`,
      );
    }
  }

  /** A node restored its state machine from a snapshot at `index` with this digest. */
  snapshotRestored(id: NodeId, index: number, digest: string): void {
    const d = this.appliedDigest[index];
    if (d !== undefined && d !== digest)
      violated(
        "state-machine-safety",
        `n${id} restored a snapshot at ${index} whose history differs from what was applied there`,
      );
  }

  /** The digest of the applied history at index, if anyone applied it. */
  digestAt(index: number): string | undefined {
    return this.appliedDigest[index];
  }

  /**
   * Commit durability: (index, committed term) must be on the disks of a majority of the voters of
   * the configuration that committed it. With single-server changes the leader may still use the
   * configuration before the last conf change below the index, so either of the two counts.
   */
  private checkDurable(index: number, when: string): void {
    if (!this.durability) return;
    const term = this.committedTerm[index];
    if (term === undefined) return;
    let k = this.confHistory.length - 1;
    while (k > 0 && (this.confHistory[k] as { index: number }).index >= index) k--;
    const holders: NodeId[] = [];
    for (const n of this.nodes) if (persistedHas(n.storage, index, term)) holders.push(n.id);
    for (const c of [this.confHistory[k], this.confHistory[k - 1]]) {
      if (c === undefined) continue;
      const have = c.voters.filter((v) => holders.includes(v)).length;
      if (2 * have > c.voters.length) return;
    }
    const voters = this.confHistory[k]?.voters.join(",");
    violated(
      "commit-durability",
      `entry ${index}/${term} is committed but ${when} only n[${holders.join(",")}] have it on disk (voters ${voters})`,
    );
  }
}

function keyOf(e: Entry): string {
  let s = "";
  for (let i = 0; i < e.data.length; i++) s += String.fromCharCode(e.data[i] as number);
  return s;
}
