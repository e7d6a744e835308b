import type { Progress } from "./progress.js";
import type { ConfState, NodeId } from "./types.js";
import { sortedIds } from "./util.js";

export enum VoteResult {
  VotePending = 0,
  VoteLost = 1,
  VoteWon = 2,
}

/**
 * The leader's view of every member (etcd's ProgressTracker) and the quorum arithmetic of a
 * single (non-joint) majority configuration of voters. Learners get entries but never count.
 */
export class ProgressTracker {
  voters = new Set<NodeId>();
  learners = new Set<NodeId>();
  private progressMap = new Map<NodeId, Progress>();
  private idsCache: NodeId[] | undefined;
  votes = new Map<NodeId, boolean>();

  constructor(readonly maxInflight: number) {}

  confState(): ConfState {
    return { voters: sortedIds(this.voters), learners: sortedIds(this.learners) };
  }

  isSingleton(): boolean {
    return this.voters.size === 1 && this.learners.size === 0;
  }

  quorum(): number {
    return Math.floor(this.voters.size / 2) + 1;
  }

  /**
   * The largest index that a quorum of voters has matched: sort the match indexes descending and
   * take the quorum-th (Raft §5.3, §5.4). An empty configuration commits nothing new.
   */
  committed(): number {
    const n = this.voters.size;
    if (n === 0) return Number.MAX_SAFE_INTEGER;
    const matches: number[] = [];
    for (const id of this.voters) matches.push(this.progress.get(id)?.match ?? 0);
    matches.sort((a, b) => b - a);
    return matches[this.quorum() - 1] as number;
  }

  /** Every member's progress. Replace the map as a whole (applyConfState) so ids() stays right. */
  get progress(): Map<NodeId, Progress> {
    return this.progressMap;
  }

  set progress(m: Map<NodeId, Progress>) {
    this.progressMap = m;
    this.idsCache = undefined;
  }

  /** Ids of all members in ascending order, so iteration (and so message order) is deterministic. */
  ids(): readonly NodeId[] {
    if (this.idsCache === undefined) this.idsCache = sortedIds(this.progressMap.keys());
    return this.idsCache;
  }

  resetVotes(): void {
    this.votes = new Map();
  }

  recordVote(id: NodeId, granted: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, granted);
  }

  tallyVotes(): { granted: number; rejected: number; result: VoteResult } {
    let granted = 0;
    let rejected = 0;
    for (const id of this.voters) {
      const v = this.votes.get(id);
      if (v === undefined) continue;
      if (v) granted++;
      else rejected++;
    }
    const q = this.quorum();
    let result = VoteResult.VotePending;
    if (granted >= q) result = VoteResult.VoteWon;
    else if (this.voters.size - rejected < q) result = VoteResult.VoteLost;
    return { granted, rejected, result };
  }

  /** Whether a quorum of voters (counting `self`) was recently active (CheckQuorum). */
  quorumActive(self: NodeId): boolean {
    let active = 0;
    for (const id of this.voters) {
      if (id === self || this.progress.get(id)?.recentActive) active++;
    }
    return active >= this.quorum();
  }

  /** Whether `ids` (acknowledgements, e.g. of a ReadIndex heartbeat round) contain a quorum of voters. */
  hasQuorum(ids: ReadonlySet<NodeId>): boolean {
    let n = 0;
    for (const id of this.voters) if (ids.has(id)) n++;
    return n >= this.quorum();
  }

  isVoter(id: NodeId): boolean {
    return this.voters.has(id);
  }
}
