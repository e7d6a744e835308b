/**
 * Event series for events.k8s.io/v1 (client-go's tools/events eventBroadcasterImpl): an event
 * isomorphic to one recorded recently (same type, action, reason, reporting controller and
 * instance, regarding and related objects) is not recorded again; the first repeat patches
 * `series: {count: 2, lastObservedTime}` onto the cached Event, later repeats only count, and
 * the count is written when the series ends (no repeat for 6 minutes) or every 30 minutes
 * while it goes on. A single event leaves the cache 6 minutes after it happened.
 */

import { microTime } from "../leaderelection/lease-lock.js";
import type { Clock } from "../workqueue/clock.js";
import { type EventsV1Event, refKey } from "./types.js";

export const FINISH_TIME_MS = 6 * 60_000;
export const REFRESH_TIME_MS = 30 * 60_000;

/** getKey: what makes two events isomorphic. */
const isomorphicKey = (e: EventsV1Event): string =>
  [
    e.type,
    e.action,
    e.reason,
    e.reportingController,
    e.reportingInstance,
    refKey(e.regarding),
    refKey(e.related),
  ].join("\u0001");

const clone = (e: EventsV1Event): EventsV1Event => structuredClone(e);

export class EventSeriesCache {
  private readonly cache = new Map<string, EventsV1Event>();

  constructor(private readonly clock: Clock) {}

  get size(): number {
    return this.cache.size;
  }

  /** The event to write for `ev` (a copy), or undefined when the repeat is only counted. */
  observe(ev: EventsV1Event): EventsV1Event | undefined {
    const key = isomorphicKey(ev);
    const cached = this.cache.get(key);
    if (cached === undefined) {
      this.cache.set(key, clone(ev));
      return clone(ev);
    }
    const lastObservedTime = microTime(this.clock.now());
    if (cached.series !== undefined) {
      cached.series.count++;
      cached.series.lastObservedTime = lastObservedTime;
      return undefined;
    }
    cached.series = { count: 2, lastObservedTime };
    return clone(cached);
  }

  /**
   * finishSeries: series with no repeat for FINISH_TIME to write one last time (`write` says
   * whether to drop them: true unless it should be retried), and singletons that old dropped.
   */
  async finish(write: (e: EventsV1Event) => Promise<boolean>): Promise<void> {
    const cutoff = this.clock.now() - FINISH_TIME_MS;
    for (const [key, ev] of [...this.cache]) {
      if (ev.series !== undefined) {
        if (Date.parse(ev.series.lastObservedTime) < cutoff && (await write(clone(ev))))
          this.cache.delete(key);
      } else if (Date.parse(ev.eventTime) < cutoff) {
        this.cache.delete(key);
      }
    }
  }

  /** refreshExistingEventSeries: writes every running series' count. */
  async refresh(write: (e: EventsV1Event) => Promise<boolean>): Promise<void> {
    for (const ev of [...this.cache.values()]) if (ev.series !== undefined) await write(clone(ev));
  }
}
