/**
 * Store leases for objects that expire (Events, after --event-ttl, default 1 h), as kube-apiserver's
 * lease manager: one lease is reused for every object written within a minute, with its TTL
 * stretched by that minute, so a burst of events costs one LeaseGrant, not one each.
 */
import type { EtcdKV } from "./etcd.js";

export class LeaseManager {
  private current: { id: string; until: number } | undefined;
  private pending: Promise<string> | undefined;

  constructor(
    private readonly kv: EtcdKV,
    private readonly ttlSeconds: number,
    private readonly reuseSeconds = 60,
    private readonly now: () => number = Date.now,
  ) {}

  /** A lease that lives at least ttlSeconds from now. */
  async lease(): Promise<string> {
    const c = this.current;
    if (c !== undefined && this.now() < c.until) return c.id;
    this.pending ??= this.kv
      .leaseGrant(this.ttlSeconds + this.reuseSeconds)
      .then((id) => {
        this.current = { id, until: this.now() + this.reuseSeconds * 1000 };
        return id;
      })
      .finally(() => {
        this.pending = undefined;
      });
    return this.pending;
  }
}
