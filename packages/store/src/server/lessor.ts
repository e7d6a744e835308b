/**
 * Lease expiry (etcd's lessor, primary side). Which leases exist and their granted TTLs are
 * replicated state (StoreStateMachine.leases); when each expires is not: only the leader keeps
 * expiry times, from its own clock. A new leader extends every lease to a full TTL from the moment
 * it takes over (etcd's Promote), so a leader change never expires a lease early. An expired lease
 * is revoked through Raft, which deletes its keys in one revision on every member.
 *
 * Once a lease has expired it is never renewed again (etcd lessor.Renew): a keep-alive that finds
 * it expired waits until its revoke is applied and then answers "not found", or, if this member
 * stops leading first, fails with NotPrimaryError so that the caller asks the new leader.
 */
import type { NodeId } from "@skiff/raft";
import type { RaftNode } from "../raftnode/node.js";
import type { StoreStateMachine } from "./statemachine.js";

/** etcd's lease.ErrNotPrimary: this member does not (or no longer) lead; ask the leader. */
export class NotPrimaryError extends Error {
  constructor() {
    super("not a primary lessor");
    this.name = "NotPrimaryError";
  }
}

/** A renewal of an expired lease, waiting for its revoke (etcd's Renew waits on l.revokec). */
interface Waiter {
  resolve(ttl: number): void;
  reject(e: unknown): void;
}

export type LessorNode = Pick<RaftNode, "isLeader" | "leader">;
export type LessorState = Pick<StoreStateMachine, "leases" | "onLeaseGranted" | "onLeaseRevoked">;

export class Lessor {
  /** Lease id -> expiry (ms, this member's monotonic clock); only while this member leads. */
  private readonly expiry = new Map<bigint, number>();
  private readonly revoking = new Set<bigint>();
  private readonly waiting = new Map<bigint, Waiter[]>();
  private wasLeader = false;
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly node: LessorNode,
    private readonly sm: LessorState,
    private readonly revoke: (id: bigint) => Promise<unknown>,
    private readonly now: () => number = () => performance.now(),
  ) {
    sm.onLeaseGranted = (id, ttl) => {
      if (this.wasLeader) this.expiry.set(id, this.now() + ttl * 1000);
    };
    sm.onLeaseRevoked = (id) => {
      this.expiry.delete(id);
      this.revoking.delete(id);
      this.settle(id, (w) => w.resolve(0));
    };
  }

  /** Checks for expired leases every checkMs (etcd's runLoop: every 500 ms). */
  start(checkMs = 500): void {
    this.timer = setInterval(() => this.revokeExpiredLeases(), checkMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    for (const id of [...this.waiting.keys()]) this.settle(id, (w) => w.reject(new NotPrimaryError()));
  }

  /**
   * Renews a lease on the leader (etcd lessor.Renew): resolves its TTL in seconds, or 0 if it
   * does not exist or expired (after its revoke is applied). Rejects with NotPrimaryError when
   * this member does not lead, or stops leading while it waits.
   */
  renew(id: bigint): Promise<number> {
    this.syncRole();
    if (!this.wasLeader) return Promise.reject(new NotPrimaryError());
    const l = this.sm.leases.get(id);
    if (l === undefined) return Promise.resolve(0);
    const at = this.expiry.get(id);
    if (at !== undefined && at <= this.now()) {
      // Expired: its revoke is pending or going through Raft. Renewing now would answer a TTL
      // for a lease whose keys are about to go (etcd waits for the deletion to complete).
      return new Promise((resolve, reject) => {
        const q = this.waiting.get(id) ?? [];
        q.push({ resolve, reject });
        this.waiting.set(id, q);
      });
    }
    this.expiry.set(id, this.now() + l.ttl * 1000);
    return Promise.resolve(l.ttl);
  }

  /**
   * Whole seconds left on the leader's clock, truncated as etcd's int64(Remaining().Seconds())
   * (so an expired lease awaiting its revoke reports 0, or less once a second overdue); -1 if
   * the lease does not exist, as LeaseTimeToLive reports.
   */
  remaining(id: bigint): number {
    const l = this.sm.leases.get(id);
    if (l === undefined) return -1;
    this.syncRole();
    const at = this.expiry.get(id);
    if (at === undefined) return l.ttl;
    return Math.trunc((at - this.now()) / 1000) + 0; // + 0: no -0
  }

  isLeader(): boolean {
    return this.node.isLeader();
  }

  leader(): NodeId {
    return this.node.leader();
  }

  /** Proposes the revoke of every expired lease not already being revoked (etcd revokeExpiredLeases). */
  revokeExpiredLeases(): void {
    this.syncRole();
    // A lease that went without an apply hook (a snapshot restored underneath) wakes its waiters.
    for (const id of [...this.waiting.keys()]) {
      if (!this.sm.leases.has(id)) this.settle(id, (w) => w.resolve(0));
    }
    if (!this.wasLeader) return;
    const now = this.now();
    for (const [id, at] of this.expiry) {
      if (at > now || this.revoking.has(id)) continue;
      this.revoking.add(id);
      this.revoke(id).catch(() => this.revoking.delete(id)); // retried at the next check
    }
  }

  private settle(id: bigint, f: (w: Waiter) => void): void {
    const q = this.waiting.get(id);
    if (q === undefined) return;
    this.waiting.delete(id);
    for (const w of q) f(w);
  }

  private syncRole(): void {
    const leader = this.node.isLeader();
    if (leader && !this.wasLeader) {
      // Promote: every lease gets a full TTL from now.
      const now = this.now();
      this.expiry.clear();
      for (const [id, l] of this.sm.leases) this.expiry.set(id, now + l.ttl * 1000);
    } else if (!leader && this.wasLeader) {
      this.expiry.clear();
      this.revoking.clear();
      // Demoted: an expired lease's revoke may never land; the new leader answers instead.
      for (const id of [...this.waiting.keys()]) this.settle(id, (w) => w.reject(new NotPrimaryError()));
    }
    this.wasLeader = leader;
  }
}
