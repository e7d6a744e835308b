/**
 * The lock a leader elector holds: a coordination.k8s.io/v1 Lease (client-go's
 * tools/leaderelection/resourcelock LeaseLock). Updates carry the resourceVersion of the Lease
 * last read or written, so two candidates writing at once cannot both win: the second gets 409
 * Conflict (optimistic concurrency).
 */
import type { Lease, LeaseSpec } from "@skiff/api";
import type { ResourceClient } from "../resource.js";

/** client-go's LeaderElectionRecord; times in clock milliseconds, 0 for unset. */
export interface LeaderElectionRecord {
  /** "" when nobody holds the lease (never acquired, or released). */
  holderIdentity: string;
  leaseDurationSeconds: number;
  acquireTime: number;
  renewTime: number;
  leaderTransitions: number;
}

/** metav1.MicroTime as the API writes it: RFC 3339 with microseconds, in UTC. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

const parseTime = (t: string | null | undefined): number => {
  if (typeof t !== "string" || t === "") return 0;
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? 0 : ms;
};

/** LeaseSpecToLeaderElectionRecord. */
export function recordOf(spec: LeaseSpec | undefined): LeaderElectionRecord {
  return {
    holderIdentity: spec?.holderIdentity ?? "",
    leaseDurationSeconds: spec?.leaseDurationSeconds ?? 0,
    acquireTime: parseTime(spec?.acquireTime),
    renewTime: parseTime(spec?.renewTime),
    leaderTransitions: spec?.leaseTransitions ?? 0,
  };
}

/** LeaderElectionRecordToLeaseSpec. */
export function specOf(r: LeaderElectionRecord): LeaseSpec {
  return {
    holderIdentity: r.holderIdentity,
    leaseDurationSeconds: r.leaseDurationSeconds,
    acquireTime: microTime(r.acquireTime),
    renewTime: microTime(r.renewTime),
    leaseTransitions: r.leaderTransitions,
  };
}

export class LeaseLock {
  /** The Lease last read or written: its resourceVersion goes with the next update. */
  private lease: Lease | undefined;

  constructor(
    readonly namespace: string,
    readonly name: string,
    private readonly leases: ResourceClient<Lease>,
  ) {}

  /** The record and its raw form (to tell whether it changed since last seen). */
  async get(): Promise<{ record: LeaderElectionRecord; raw: string }> {
    const lease = await this.leases.get(this.name);
    this.lease = lease;
    const record = recordOf(lease.spec);
    return { record, raw: JSON.stringify(record) };
  }

  async create(r: LeaderElectionRecord): Promise<void> {
    this.lease = await this.leases.create({
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name: this.name, namespace: this.namespace },
      spec: specOf(r),
    });
  }

  /** Writes `r` over the Lease last seen; 409 Conflict if it changed since. */
  async update(r: LeaderElectionRecord): Promise<void> {
    if (this.lease === undefined) throw new Error("lease not initialized, call get or create first");
    this.lease = await this.leases.update({ ...this.lease, spec: { ...this.lease.spec, ...specOf(r) } });
  }

  /** The Lease as an object an Event can be about. */
  reference(): Lease {
    return {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { ...(this.lease?.metadata ?? {}), name: this.name, namespace: this.namespace },
    };
  }

  describe(): string {
    return `${this.namespace}/${this.name}`;
  }
}
