/**
 * Per-key exponential back-off as client-go's flowcontrol.Backoff, with the kubelet's constants
 * (pkg/kubelet: backOffPeriod 10 s, MaxContainerBackOff 300 s): the first restart of a container
 * is immediate, the next ones wait 10 s, 20 s, 40 s ... up to 300 s; a key whose last event is
 * more than twice the maximum after its last update (the container ran 10 minutes) starts over.
 */
import type { Clock } from "@skiff/client";

export const BACKOFF_INITIAL_MS = 10_000;
export const BACKOFF_MAX_MS = 300_000;

interface Entry {
  backoffMs: number;
  lastUpdate: number;
}

export class Backoff {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly clock: Clock,
    readonly initialMs = BACKOFF_INITIAL_MS,
    readonly maxMs = BACKOFF_MAX_MS,
  ) {}

  /** The current delay of `key` (0 when it has none). */
  get(key: string): number {
    return this.entries.get(key)?.backoffMs ?? 0;
  }

  /** Records an event at `eventTime`: the delay starts at the initial one or doubles. */
  next(key: string, eventTime: number): void {
    const e = this.entries.get(key);
    if (e === undefined || this.hasExpired(eventTime, e.lastUpdate)) {
      this.entries.set(key, { backoffMs: this.initialMs, lastUpdate: this.clock.now() });
      return;
    }
    e.backoffMs = Math.min(e.backoffMs * 2, this.maxMs);
    e.lastUpdate = this.clock.now();
  }

  /** Whether less than the key's delay has passed since `eventTime` (flowcontrol's IsInBackOffSince). */
  isInBackOffSince(key: string, eventTime: number): boolean {
    const e = this.entries.get(key);
    if (e === undefined || this.hasExpired(eventTime, e.lastUpdate)) return false;
    return this.clock.now() - eventTime < e.backoffMs;
  }

  /** Whether `eventTime` is within the key's delay after its last update (IsInBackOffSinceUpdate). */
  isInBackOffSinceUpdate(key: string, eventTime: number): boolean {
    const e = this.entries.get(key);
    if (e === undefined || this.hasExpired(eventTime, e.lastUpdate)) return false;
    return eventTime - e.lastUpdate < e.backoffMs;
  }

  /** When the delay after the key's last update ends. */
  endsAtSinceUpdate(key: string): number | undefined {
    const e = this.entries.get(key);
    return e === undefined ? undefined : e.lastUpdate + e.backoffMs;
  }

  /** When the back-off that started at `eventTime` ends (for the worker's next wake-up). */
  endsAt(key: string, eventTime: number): number | undefined {
    const e = this.entries.get(key);
    return e === undefined ? undefined : eventTime + e.backoffMs;
  }

  reset(key: string): void {
    this.entries.delete(key);
  }

  /** Forgets keys idle for twice the maximum (flowcontrol's GC). */
  gc(): void {
    const now = this.clock.now();
    for (const [k, e] of this.entries) if (now - e.lastUpdate > 2 * this.maxMs) this.entries.delete(k);
  }

  private hasExpired(eventTime: number, lastUpdate: number): boolean {
    return eventTime - lastUpdate > 2 * this.maxMs;
  }
}
