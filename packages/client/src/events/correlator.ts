/**
 * client-go's EventCorrelator (tools/record/events_cache.go) for core/v1 Events, in its three
 * steps: the aggregator folds similar events (same source, object, type and reason, different
 * messages) into one "(combined from similar events)" event once 10 arrive within 10 minutes; the
 * logger turns a repeat of an identical event into a PATCH of its count and lastTimestamp; the
 * spam filter lets a source send at most 25 events about one object, then one every 5 minutes.
 */
import type { Clock } from "../workqueue/clock.js";
import { TokenBucket } from "../workqueue/token-bucket.js";
import { type CoreEvent, eventName, metaTime } from "./types.js";

/** client-go's defaults. */
const MAX_LRU_CACHE_ENTRIES = 4096;
const DEFAULT_AGGREGATE_MAX_EVENTS = 10;
const DEFAULT_AGGREGATE_INTERVAL_MS = 600_000;
const DEFAULT_SPAM_BURST = 25;
const DEFAULT_SPAM_QPS = 1 / 300;

/** A least-recently-used map of bounded size (golang/groupcache lru, as client-go uses). */
class Lru<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly max: number) {}

  get(k: string): V | undefined {
    const v = this.map.get(k);
    if (v !== undefined) {
      this.map.delete(k);
      this.map.set(k, v);
    }
    return v;
  }

  add(k: string, v: V): void {
    this.map.delete(k);
    this.map.set(k, v);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value as string);
  }
}

const src = (e: CoreEvent) => [e.source?.component ?? "", e.source?.host ?? ""];
const obj = (e: CoreEvent) => {
  const o = e.involvedObject;
  return [o.kind ?? "", o.namespace ?? "", o.name ?? ""];
};

/** getEventKey: everything that makes two events identical. */
export const eventKey = (e: CoreEvent): string =>
  [
    ...src(e),
    ...obj(e),
    e.involvedObject.fieldPath ?? "",
    e.involvedObject.uid ?? "",
    e.involvedObject.apiVersion ?? "",
    e.type ?? "",
    e.reason ?? "",
    e.message ?? "",
  ].join("");

/** getSpamKey: the source and the object. */
const spamKey = (e: CoreEvent): string =>
  [...src(e), ...obj(e), e.involvedObject.uid ?? "", e.involvedObject.apiVersion ?? "", e.type ?? ""].join(
    "",
  );

/** EventAggregatorByReasonFunc: [the key of similar events, what tells them apart]. */
const aggregateKeys = (e: CoreEvent): [string, string] => [
  [
    ...src(e),
    ...obj(e),
    e.involvedObject.uid ?? "",
    e.involvedObject.apiVersion ?? "",
    e.type ?? "",
    e.reason ?? "",
    e.reportingComponent ?? "",
    e.reportingInstance ?? "",
  ].join(""),
  e.message ?? "",
];

interface AggregateRecord {
  localKeys: Set<string>;
  lastTimestamp: number;
}

class EventAggregator {
  private readonly cache = new Lru<AggregateRecord>(MAX_LRU_CACHE_ENTRIES);
  constructor(private readonly clock: Clock) {}

  /** The event to record (the combined one past the threshold) and its key for the logger. */
  aggregate(ev: CoreEvent): [CoreEvent, string] {
    const now = this.clock.now();
    const [aggKey, localKey] = aggregateKeys(ev);
    let record = this.cache.get(aggKey);
    if (record === undefined || now - record.lastTimestamp > DEFAULT_AGGREGATE_INTERVAL_MS)
      record = { localKeys: new Set(), lastTimestamp: 0 };
    record.localKeys.add(localKey);
    record.lastTimestamp = now;
    this.cache.add(aggKey, record);
    if (record.localKeys.size < DEFAULT_AGGREGATE_MAX_EVENTS) return [ev, eventKey(ev)];
    // Do not let the set grow past the threshold.
    record.localKeys.delete(record.localKeys.values().next().value as string);
    const t = metaTime(now);
    const combined: CoreEvent = {
      apiVersion: "v1",
      kind: "Event",
      metadata: { name: eventName(ev.involvedObject.name, now), namespace: ev.metadata.namespace },
      count: 1,
      firstTimestamp: t,
      involvedObject: ev.involvedObject,
      lastTimestamp: t,
      message: `(combined from similar events): ${ev.message ?? ""}`,
      type: ev.type,
      reason: ev.reason,
      source: ev.source,
    };
    return [combined, aggKey];
  }
}

interface EventLog {
  count: number;
  firstTimestamp: string | undefined;
  name: string | undefined;
  resourceVersion: string | undefined;
}

class EventLogger {
  private readonly cache = new Lru<EventLog>(MAX_LRU_CACHE_ENTRIES);

  /** The event to record, with its patch when it repeats one recorded before. */
  observe(ev: CoreEvent, key: string): { event: CoreEvent; patch?: Record<string, unknown> } {
    const event: CoreEvent = { ...ev, metadata: { ...ev.metadata } };
    const last = this.cache.get(key);
    let patch: Record<string, unknown> | undefined;
    if (last !== undefined && last.count > 0) {
      event.metadata.name = last.name;
      event.metadata.resourceVersion = last.resourceVersion;
      event.firstTimestamp = last.firstTimestamp;
      event.count = last.count + 1;
      // The strategic merge patch of the fields that change on a repeat.
      patch = { count: event.count, lastTimestamp: event.lastTimestamp };
      if (event.message) patch.message = event.message;
    }
    this.remember(key, event);
    return patch === undefined ? { event } : { event, patch };
  }

  /** The server's answer: its name and resourceVersion for the next repeat. */
  updateState(ev: CoreEvent): void {
    this.remember(eventKey(ev), ev);
  }

  private remember(key: string, ev: CoreEvent): void {
    this.cache.add(key, {
      count: ev.count ?? 0,
      firstTimestamp: ev.firstTimestamp,
      name: ev.metadata.name,
      resourceVersion: ev.metadata.resourceVersion,
    });
  }
}

class EventSpamFilter {
  private readonly cache = new Lru<TokenBucket>(MAX_LRU_CACHE_ENTRIES);
  constructor(private readonly clock: Clock) {}

  /** True when the event must be dropped. */
  filter(ev: CoreEvent): boolean {
    const key = spamKey(ev);
    let bucket = this.cache.get(key);
    if (bucket === undefined) bucket = new TokenBucket(DEFAULT_SPAM_QPS, DEFAULT_SPAM_BURST, this.clock);
    this.cache.add(key, bucket);
    return !bucket.allow();
  }
}

export type CorrelateResult =
  | { skip: true }
  | { skip: false; event: CoreEvent; patch?: Record<string, unknown> };

export class EventCorrelator {
  private readonly aggregator: EventAggregator;
  private readonly logger = new EventLogger();
  private readonly spamFilter: EventSpamFilter;

  constructor(clock: Clock) {
    this.aggregator = new EventAggregator(clock);
    this.spamFilter = new EventSpamFilter(clock);
  }

  /** EventCorrelate: aggregate, observe, then filter. */
  correlate(ev: CoreEvent): CorrelateResult {
    const [aggregated, key] = this.aggregator.aggregate(ev);
    const observed = this.logger.observe(aggregated, key);
    if (this.spamFilter.filter(observed.event)) return { skip: true };
    return { skip: false, ...observed };
  }

  updateState(ev: CoreEvent): void {
    this.logger.updateState(ev);
  }
}
