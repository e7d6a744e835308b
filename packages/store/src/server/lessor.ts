/**
 * Lease expiry (etcd's lessor, primary side). Which leases exist and their granted TTLs are
 * replicated state (StoreStateMachine.leases); when each expires is not: only the leader keeps
 * expiry times, from its own clock. A new leader extends every lease to a full TTL from the moment
 * it takes over (etcd's Promote), so a leader change never expires a lease early. An expired lease
 * is revoked through Raft, which deletes its keys in one revision on every member.
 */
import type { NodeId } from "@skiff/raft";
import type { RaftNode } from "../raftnode/node.js";
import type { StoreStateMachine } from "./statemachine.js";

export class Lessor {
  /** Lease id -> expiry (ms, this member's monotonic clock); only while this member leads. */
  private readonly expiry = new Map<bigint, number>();
  private readonly revoking = new Set<bigint>();
  private wasLeader = false;
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly node: RaftNode,
    private readonly sm: StoreStateMachine,
    private readonly revoke: (id: bigint) => Promise<unknown>,
    private readonly now: () => number = () => performance.now(),
  ) {
    sm.onLeaseGranted = (id, ttl) => {
      if (this.wasLeader) this.expiry.set(id, this.now() + ttl * 1000);
    };
    sm.onLeaseRevoked = (id) => {
      this.expiry.delete(id);
      this.revoking.delete(id);
    };
  }

  start(checkMs = 500): void {
    this.timer = setInterval(() => this.check(), checkMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
  }

  /** Renews a lease on the leader; returns its TTL in seconds, or 0 if it does not exist. */
  renew(id: bigint): number {
    const l = this.sm.leases.get(id);
    if (l === undefined) return 0;
    this.syncRole();
    if (this.wasLeader) this.expiry.set(id, this.now() + l.ttl * 1000);
    return l.ttl;
  }

  /** Seconds left on the leader's clock (-1 if the lease does not exist), as LeaseTimeToLive reports. */
  remaining(id: bigint): number {
    const l = this.sm.leases.get(id);
    if (l === undefined) return -1;
    this.syncRole();
    const at = this.expiry.get(id);
    if (at === undefined) return l.ttl;
    return Math.max(0, Math.ceil((at - this.now()) / 1000));
  }

  isLeader(): boolean {
    return this.node.isLeader();
  }

  leader(): NodeId {
    return this.node.leader();
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
    }
    this.wasLeader = leader;
  }

  private check(): void {
    this.syncRole();
    if (!this.wasLeader) return;
    const now = this.now();
    for (const [id, at] of this.expiry) {
      if (at > now || this.revoking.has(id)) continue;
      this.revoking.add(id);
      this.revoke(id).catch(() => this.revoking.delete(id)); // retried at the next check
    }
  }
}
