/**
 * client-go's flowcontrol.Backoff, as the daemonset controller uses it for failed daemon pods: per
 * key, a delay that starts at `initial` and doubles on each failure up to `max`; an entry idle for
 * twice `max` starts over and is dropped by gc(). kube-controller-manager builds it with 1 s and
 * 15 min, so a pod the kubelet keeps rejecting is not deleted and recreated in a hot loop.
 */
import type { Clock } from "@skiff/client";

interface BackoffEntry {
  backoffMs: number;
  lastUpdate: number;
}

export class Backoff {
  private readonly entries = new Map<string, BackoffEntry>();

  constructor(
    readonly clock: Clock,
    private readonly initialMs: number,
    private readonly maxMs: number,
  ) {}

  /** Get: the key's current delay (0 when it has none). */
  get(id: string): number {
    return this.entries.get(id)?.backoffMs ?? 0;
  }

  /** Next: records a failure at eventTime: first (or after expiry) the initial delay, else doubled. */
  next(id: string, eventTime: number): void {
    const e = this.entries.get(id);
    if (e === undefined || this.hasExpired(eventTime, e.lastUpdate)) {
      this.entries.set(id, { backoffMs: this.initialMs, lastUpdate: eventTime });
      return;
    }
    e.backoffMs = Math.min(2 * e.backoffMs, this.maxMs);
    e.lastUpdate = eventTime;
  }

  /** IsInBackOffSinceUpdate: less than the key's delay has passed since its last failure. */
  isInBackOffSinceUpdate(id: string, eventTime: number): boolean {
    const e = this.entries.get(id);
    if (e === undefined || this.hasExpired(eventTime, e.lastUpdate)) return false;
    return eventTime - e.lastUpdate < e.backoffMs;
  }

  /** GC: drops the entries idle for more than twice the maximum delay. */
  gc(): void {
    const now = this.clock.now();
    for (const [id, e] of this.entries) if (this.hasExpired(now, e.lastUpdate)) this.entries.delete(id);
  }

  private hasExpired(eventTime: number, lastUpdate: number): boolean {
    return eventTime - lastUpdate > 2 * this.maxMs;
  }
}
