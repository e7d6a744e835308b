import { assert } from "./errors.js";
import { Inflights } from "./inflights.js";

/**
 * How the leader replicates to one follower (etcd's tracker.StateType):
 * - Probe: one MsgApp per heartbeat interval until the follower's match index is found;
 * - Replicate: optimistic pipelining of MsgApp within the inflights window;
 * - Snapshot: a snapshot is on its way; nothing else is sent until it is reported.
 */
export enum ProgressState {
  Probe = 0,
  Replicate = 1,
  Snapshot = 2,
}

export class Progress {
  state = ProgressState.Probe;
  /** In Probe: one message was sent and the probe waits for an answer or a heartbeat. */
  msgAppFlowPaused = false;
  /** Index of the snapshot being sent (Snapshot state). */
  pendingSnapshot = 0;
  /** Whether the follower was heard from since the last CheckQuorum round. */
  recentActive = false;
  readonly inflights: Inflights;

  constructor(
    public match: number,
    public next: number,
    maxInflight: number,
    public isLearner: boolean,
  ) {
    this.inflights = new Inflights(maxInflight);
  }

  private resetState(state: ProgressState): void {
    this.msgAppFlowPaused = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
  }

  becomeProbe(): void {
    // Coming back from a snapshot: the follower has at least the snapshot's index.
    if (this.state === ProgressState.Snapshot) {
      const pending = this.pendingSnapshot;
      this.resetState(ProgressState.Probe);
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.resetState(ProgressState.Probe);
      this.next = this.match + 1;
    }
  }

  becomeReplicate(): void {
    this.resetState(ProgressState.Replicate);
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.resetState(ProgressState.Snapshot);
    this.pendingSnapshot = snapshotIndex;
  }

  /** A MsgApp carrying entries up to lastIndex was sent. */
  sentEntries(entries: number, lastIndex: number): void {
    if (this.state === ProgressState.Replicate) {
      if (entries > 0) {
        this.next = lastIndex + 1;
        this.inflights.add(lastIndex);
      }
      this.msgAppFlowPaused = this.inflights.full();
    } else if (this.state === ProgressState.Probe) {
      this.msgAppFlowPaused = true;
    } else {
      assert(false, `sending append in unhandled state ${ProgressState[this.state]}`);
    }
  }

  /** The follower acknowledged n; returns false if the ack is stale. */
  maybeUpdate(n: number): boolean {
    let updated = false;
    if (this.match < n) {
      this.match = n;
      updated = true;
      this.msgAppFlowPaused = false;
    }
    this.next = Math.max(this.next, n + 1);
    return updated;
  }

  /**
   * The follower rejected a MsgApp at `rejected`; matchHint is where it suggests to probe.
   * Returns false when the rejection is stale (out of order) and must be ignored.
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === ProgressState.Replicate) {
      // A stale rejection: the follower already matched beyond it.
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    // In Probe, only the answer to the last probe counts.
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.msgAppFlowPaused = false;
    return true;
  }

  /** Whether sending to this follower is paused (flow control). */
  isPaused(): boolean {
    switch (this.state) {
      case ProgressState.Probe:
        return this.msgAppFlowPaused;
      case ProgressState.Replicate:
        return this.inflights.full();
      default:
        return true;
    }
  }

  toString(): string {
    return `${ProgressState[this.state]} match=${this.match} next=${this.next}${this.isLearner ? " learner" : ""}`;
  }
}
