/**
 * Work queue metrics with client-go's names, help texts and `name` label
 * (k8s.io/component-base/metrics/prometheus/workqueue), on a prom-client Registry the queue's
 * owner passes. The two "work in progress" gauges are computed when scraped, from the start times
 * of the items being processed (client-go refreshes them every 500 ms instead).
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { Clock } from "./clock.js";

/** What a queue reports; the no-op one when the queue has no registry. */
export interface QueueMetrics<K> {
  add(item: K): void;
  get(item: K): void;
  done(item: K): void;
  retry(): void;
  /** The queue is shut down: stop reporting its work in progress. */
  close(): void;
}

const noop: QueueMetrics<unknown> = { add() {}, get() {}, done() {}, retry() {}, close() {} };

/** prometheus.ExponentialBuckets(10e-7, 10, 10): 1 µs to 1000 s. */
const buckets = Array.from({ length: 10 }, (_, i) => 1e-6 * 10 ** i);

interface InProgress {
  readonly name: string;
  /** Seconds of unfinished work, and of the longest-running item. */
  unfinished(): [total: number, longest: number];
}

interface MetricSet {
  depth: Gauge;
  adds: Counter;
  latency: Histogram;
  workDuration: Histogram;
  retries: Counter;
  live: Set<InProgress>;
}

const sets = new WeakMap<Registry, MetricSet>();

function metricSet(registry: Registry): MetricSet {
  const found = sets.get(registry);
  if (found !== undefined) return found;
  const live = new Set<InProgress>();
  const registers = [registry];
  const labelNames = ["name"];
  const perName = (): Map<string, [number, number]> => {
    const out = new Map<string, [number, number]>();
    for (const q of live) {
      const [total, longest] = q.unfinished();
      const [t0, l0] = out.get(q.name) ?? [0, 0];
      out.set(q.name, [t0 + total, Math.max(l0, longest)]);
    }
    return out;
  };
  const set: MetricSet = {
    depth: new Gauge({ name: "workqueue_depth", help: "Current depth of workqueue", labelNames, registers }),
    adds: new Counter({
      name: "workqueue_adds_total",
      help: "Total number of adds handled by workqueue",
      labelNames,
      registers,
    }),
    latency: new Histogram({
      name: "workqueue_queue_duration_seconds",
      help: "How long in seconds an item stays in workqueue before being requested.",
      labelNames,
      buckets,
      registers,
    }),
    workDuration: new Histogram({
      name: "workqueue_work_duration_seconds",
      help: "How long in seconds processing an item from workqueue takes.",
      labelNames,
      buckets,
      registers,
    }),
    retries: new Counter({
      name: "workqueue_retries_total",
      help: "Total number of retries handled by workqueue",
      labelNames,
      registers,
    }),
    live,
  };
  new Gauge({
    name: "workqueue_unfinished_work_seconds",
    help:
      "How many seconds of work has done that is in progress and hasn't been observed by work_duration. " +
      "Large values indicate stuck threads. One can deduce the number of stuck threads by observing the " +
      "rate at which this increases.",
    labelNames,
    registers,
    collect() {
      // Only live queues: a shut-down queue's series goes away.
      this.reset();
      for (const [name, [total]] of perName()) this.set({ name }, total);
    },
  });
  new Gauge({
    name: "workqueue_longest_running_processor_seconds",
    help: "How many seconds has the longest running processor for workqueue been running.",
    labelNames,
    registers,
    collect() {
      this.reset();
      for (const [name, [, longest]] of perName()) this.set({ name }, longest);
    },
  });
  sets.set(registry, set);
  return set;
}

/** client-go's defaultQueueMetrics: per-item add and processing start times. */
class PromQueueMetrics<K> implements QueueMetrics<K>, InProgress {
  private readonly addTimes = new Map<K, number>();
  private readonly processingStartTimes = new Map<K, number>();
  private readonly labels: { name: string };

  constructor(
    private readonly set: MetricSet,
    readonly name: string,
    private readonly clock: Clock,
  ) {
    this.labels = { name };
    set.live.add(this);
  }

  add(item: K): void {
    this.set.adds.inc(this.labels);
    this.set.depth.inc(this.labels);
    if (!this.addTimes.has(item)) this.addTimes.set(item, this.clock.now());
  }

  get(item: K): void {
    this.set.depth.dec(this.labels);
    const now = this.clock.now();
    const added = this.addTimes.get(item);
    if (added !== undefined) this.set.latency.observe(this.labels, (now - added) / 1000);
    this.addTimes.delete(item);
    this.processingStartTimes.set(item, now);
  }

  done(item: K): void {
    const started = this.processingStartTimes.get(item);
    if (started === undefined) return;
    this.set.workDuration.observe(this.labels, (this.clock.now() - started) / 1000);
    this.processingStartTimes.delete(item);
  }

  retry(): void {
    this.set.retries.inc(this.labels);
  }

  unfinished(): [number, number] {
    const now = this.clock.now();
    let total = 0;
    let longest = 0;
    for (const t of this.processingStartTimes.values()) {
      const s = (now - t) / 1000;
      total += s;
      longest = Math.max(longest, s);
    }
    return [total, longest];
  }

  close(): void {
    this.set.live.delete(this);
  }
}

/** Metrics for the queue `name` on `registry`; no-ops without a registry. */
export function queueMetrics<K>(
  registry: Registry | undefined,
  name: string | undefined,
  clock: Clock,
): QueueMetrics<K> {
  if (registry === undefined) return noop as QueueMetrics<K>;
  if (name === undefined || name === "")
    throw new Error("workqueue: a queue with a metrics registry needs a name");
  return new PromQueueMetrics<K>(metricSet(registry), name, clock);
}
