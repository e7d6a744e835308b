/**
 * What changed since the last sync, as kube-proxy's ServiceChangeTracker and
 * EndpointsChangeTracker keep it, reduced to what a rebuild-from-the-caches proxier needs: which
 * objects changed (for the pending gauges and the health server) and, per EndpointSlice, when
 * each change was triggered, for kubeproxy_network_programming_duration_seconds: the slice's
 * `endpoints.kubernetes.io/last-change-trigger-time` annotation when set (ignored if older than
 * the tracker, as kube), else the time the informer delivered the change.
 */
import type { KubeObject } from "@skiff/api";

export const LAST_CHANGE_TRIGGER_TIME = "endpoints.kubernetes.io/last-change-trigger-time";

/** What one sync takes from the tracker. */
export interface TakenChanges {
  services: number;
  endpointSlices: number;
  /** Trigger times (ms since the epoch) of the EndpointSlice changes this sync programs. */
  triggerTimes: number[];
}

export class ChangeTracker {
  private readonly services = new Set<string>();
  private readonly slices = new Set<string>();
  private readonly triggers = new Map<string, number[]>();

  constructor(private readonly startedAt: number) {}

  serviceChanged(key: string): void {
    this.services.add(key);
  }

  /**
   * An EndpointSlice changed at `eventTime`. `initial`: it came with the informer's first list,
   * which is not a change anyone made now, so it records no trigger time without an annotation.
   */
  endpointSliceChanged(key: string, slice: KubeObject | undefined, eventTime: number, initial = false): void {
    this.slices.add(key);
    const annotated = slice?.metadata.annotations?.[LAST_CHANGE_TRIGGER_TIME];
    let at: number | undefined;
    if (annotated !== undefined) {
      const t = Date.parse(annotated);
      if (Number.isFinite(t) && t >= this.startedAt) at = Math.min(t, eventTime);
    } else if (!initial) at = eventTime;
    if (at === undefined) return;
    const list = this.triggers.get(key);
    if (list === undefined) this.triggers.set(key, [at]);
    else list.push(at);
  }

  get pendingServices(): number {
    return this.services.size;
  }

  get pendingEndpointSlices(): number {
    return this.slices.size;
  }

  get empty(): boolean {
    return this.services.size === 0 && this.slices.size === 0;
  }

  /** Takes everything pending; changes arriving afterwards wait for the next sync. */
  take(): TakenChanges {
    const out: TakenChanges = {
      services: this.services.size,
      endpointSlices: this.slices.size,
      triggerTimes: [...this.triggers.values()].flat(),
    };
    this.services.clear();
    this.slices.clear();
    this.triggers.clear();
    return out;
  }

  /** Gives back the trigger times of a failed sync: the next successful one programs them. */
  restoreTriggerTimes(times: readonly number[]): void {
    if (times.length === 0) return;
    const list = this.triggers.get("") ?? [];
    list.push(...times);
    this.triggers.set("", list);
  }
}
