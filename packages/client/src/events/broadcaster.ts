/**
 * The event broadcaster shared by both recorders (client-go's record.EventBroadcaster and
 * events.EventBroadcaster in one): a recorder's call only puts the event in a bounded queue
 * (1000, as client-go's maxQueuedEvents) and returns; when the queue is full the event is
 * dropped and counted (watch.DropIfChannelFull). One worker writes the queue to the sinks in
 * order: core/v1 events through the EventCorrelator, events.k8s.io/v1 events through the series
 * cache. A write that failed on the way (an error with a network code) is retried up to 12
 * times, 10 s apart; one the server refused is not, nor one refused before it left (e.g. by a
 * KubeClient write guard).
 */
import { hostname } from "node:os";
import type { ClientInterface } from "../client.js";
import { ApiError, isAlreadyExists, isNotFound } from "../errors.js";
import { type ClientLogger, silentLogger } from "../logging.js";
import { type Clock, realClock, sleep, type TimerHandle } from "../workqueue/clock.js";
import { EventCorrelator } from "./correlator.js";
import { EventRecorder, EventsRecorder } from "./recorder.js";
import { EventSeriesCache, FINISH_TIME_MS, REFRESH_TIME_MS } from "./series.js";
import { coreEventSink, type EventSink, eventsV1Sink } from "./sink.js";
import type { CoreEvent, EventSource, EventsV1Event } from "./types.js";

const MAX_QUEUED_EVENTS = 1000;
const MAX_TRIES_PER_EVENT = 12;
const DEFAULT_SLEEP_MS = 10_000;

export interface EventBroadcasterOptions {
  /** Both sinks on this client (unless given below). */
  client?: ClientInterface;
  coreSink?: EventSink<CoreEvent>;
  eventsSink?: EventSink<EventsV1Event>;
  clock?: Clock;
  /** In [0, 1): the jitter of the retry sleeps. */
  random?: () => number;
  logger?: ClientLogger;
  maxQueuedEvents?: number;
  /** Between two tries of one write; default 10 s. */
  retrySleepMs?: number;
}

type Job = { kind: "core"; event: CoreEvent } | { kind: "events"; event: EventsV1Event } | { kind: "tick" };

/** Whether a failed write may succeed if tried again: the network failed, not the server. */
const retriable = (e: unknown): boolean =>
  !(e instanceof ApiError) && typeof (e as { code?: unknown } | null)?.code === "string";

export class EventBroadcaster {
  /** Events dropped because the queue was full. */
  droppedEvents = 0;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly log: ClientLogger;
  private readonly maxQueued: number;
  private readonly sleepMs: number;
  private readonly coreSink: EventSink<CoreEvent> | undefined;
  private readonly eventsSink: EventSink<EventsV1Event> | undefined;
  private readonly correlator: EventCorrelator;
  private readonly series: EventSeriesCache;
  private readonly queue: Job[] = [];
  private working: Promise<void> | undefined;
  private readonly stopping = new AbortController();
  /** The series timer: every FINISH_TIME while the series cache holds anything. */
  private tick: TimerHandle | undefined;
  private ticks = 0;

  constructor(opts: EventBroadcasterOptions = {}) {
    this.clock = opts.clock ?? realClock;
    this.random = opts.random ?? Math.random;
    this.log = opts.logger ?? silentLogger;
    this.maxQueued = opts.maxQueuedEvents ?? MAX_QUEUED_EVENTS;
    this.sleepMs = opts.retrySleepMs ?? DEFAULT_SLEEP_MS;
    this.coreSink = opts.coreSink ?? (opts.client === undefined ? undefined : coreEventSink(opts.client));
    this.eventsSink = opts.eventsSink ?? (opts.client === undefined ? undefined : eventsV1Sink(opts.client));
    this.correlator = new EventCorrelator(this.clock);
    this.series = new EventSeriesCache(this.clock);
  }

  /** A core/v1 recorder whose events come from `source` (e.g. {component: "default-scheduler"}). */
  newRecorder(source: EventSource): EventRecorder {
    return new EventRecorder(this, { ...source }, this.clock, this.log);
  }

  /** An events.k8s.io/v1 recorder; reportingInstance defaults to `<controller>-<hostname>`, as client-go's. */
  newEventsRecorder(reportingController: string, reportingInstance?: string): EventsRecorder {
    const instance = reportingInstance ?? `${reportingController}-${hostname()}`;
    return new EventsRecorder(this, reportingController, instance, this.clock, this.log);
  }

  /** Queues an event; never blocks or throws: drops it (and counts) when the queue is full. */
  enqueue(job: { kind: "core"; event: CoreEvent } | { kind: "events"; event: EventsV1Event }): void {
    if (this.stopping.signal.aborted) return;
    if (this.queue.length >= this.maxQueued) {
      this.droppedEvents++;
      return;
    }
    this.queue.push(job);
    this.startWorker();
  }

  private startWorker(): void {
    this.working ??= this.work().finally(() => {
      this.working = undefined;
      // An event queued between the loop's end and this callback.
      if (this.queue.length > 0) this.startWorker();
    });
  }

  /** Resolves once everything queued so far was written or given up. */
  async flush(): Promise<void> {
    while (this.working !== undefined) await this.working;
  }

  /**
   * Stops: drops what is queued, ends the retry sleeps and the series timer, waits for the write
   * in flight. Call flush() first to write what is queued. Until then, a running series keeps a
   * timer set.
   */
  async shutdown(): Promise<void> {
    this.stopping.abort();
    this.queue.length = 0;
    if (this.tick !== undefined) this.clock.clearTimeout(this.tick);
    this.tick = undefined;
    await this.flush();
  }

  private async work(): Promise<void> {
    for (let job = this.queue.shift(); job !== undefined; job = this.queue.shift()) {
      try {
        if (job.kind === "core") await this.recordCore(job.event);
        else if (job.kind === "events") await this.recordEvents(job.event);
        else await this.seriesTick();
      } catch (e) {
        this.log.error({ err: String(e) }, "recording an event failed");
      }
    }
  }

  /** recordToSink: correlate, then write with retries. */
  private async recordCore(ev: CoreEvent): Promise<void> {
    const sink = this.coreSink;
    if (sink === undefined) return;
    const result = this.correlator.correlate(ev);
    if (result.skip) return;
    const { event, patch } = result;
    await this.attempt(event, true, async () => {
      let written: CoreEvent | undefined;
      let err: unknown;
      if (patch !== undefined) {
        try {
          written = await sink.patch(event, patch);
        } catch (e) {
          err = e;
        }
      }
      try {
        // A repeat whose Event was deleted meanwhile is created again.
        if (patch === undefined || isNotFound(err)) {
          const { resourceVersion: _, ...metadata } = event.metadata;
          written = await sink.create({ ...event, metadata });
        } else if (err !== undefined) {
          throw err;
        }
      } catch (e) {
        return this.outcome(e, event, false);
      }
      if (written !== undefined) this.correlator.updateState(written);
      return false;
    });
  }

  private async recordEvents(ev: EventsV1Event): Promise<void> {
    if (this.eventsSink === undefined) return;
    const toWrite = this.series.observe(ev);
    this.armTick();
    if (toWrite !== undefined) await this.attempt(toWrite, false, () => this.writeEvents(toWrite));
  }

  /**
   * recordEvent of tools/events: a series is a patch of `series` (a create if the Event is
   * gone). Resolves whether to try again.
   */
  private async writeEvents(ev: EventsV1Event): Promise<boolean> {
    const sink = this.eventsSink as EventSink<EventsV1Event>;
    try {
      if (ev.series !== undefined) {
        try {
          await sink.patch(ev, { series: ev.series });
          return false;
        } catch (e) {
          if (!isNotFound(e)) throw e;
        }
      }
      const { resourceVersion: _, ...metadata } = ev.metadata;
      await sink.create({ ...ev, metadata });
      return false;
    } catch (e) {
      // A series whose first Event is being created at the same time: try again.
      return this.outcome(e, ev, ev.series !== undefined && isAlreadyExists(e));
    }
  }

  /** Whether a write that failed with `e` should be tried again; logs why not. */
  private outcome(e: unknown, ev: CoreEvent | EventsV1Event, retryAnyway: boolean): boolean {
    const what = { event: ev.metadata.name, namespace: ev.metadata.namespace, err: String(e) };
    if (retryAnyway || retriable(e)) {
      this.log.warn(what, "unable to write event (may retry after sleeping)");
      return true;
    }
    if (!isAlreadyExists(e)) this.log.error(what, "server rejected event (will not retry!)");
    return false;
  }

  /** Tries `write` up to MAX_TRIES_PER_EVENT times while it says to try again. */
  private async attempt(
    ev: CoreEvent | EventsV1Event,
    coreJitter: boolean,
    write: () => Promise<boolean>,
  ): Promise<void> {
    for (let tries = 1; await write(); tries++) {
      if (tries >= MAX_TRIES_PER_EVENT) {
        this.log.error(
          { event: ev.metadata.name, namespace: ev.metadata.namespace },
          "unable to write event (retry limit exceeded!)",
        );
        return;
      }
      // core: the first sleep is random so that clients do not retry in step; events: jittered by 25%.
      const ms = coreJitter
        ? tries === 1
          ? this.sleepMs * this.random()
          : this.sleepMs
        : this.sleepMs * (1 + 0.25 * this.random());
      if (!(await sleep(this.clock, ms, this.stopping.signal))) return;
    }
  }

  private armTick(): void {
    if (this.tick !== undefined || this.series.size === 0 || this.stopping.signal.aborted) return;
    this.tick = this.clock.setTimeout(() => {
      this.tick = undefined;
      this.ticks++;
      // Through the queue, not subject to its bound: only the worker touches the series cache.
      this.queue.push({ kind: "tick" });
      this.startWorker();
    }, FINISH_TIME_MS);
  }

  /** Every FINISH_TIME: end the quiet series; every REFRESH_TIME: write the running ones. */
  private async seriesTick(): Promise<void> {
    const write = async (e: EventsV1Event) => !(await this.writeEvents(e));
    await this.series.finish(write);
    if ((this.ticks * FINISH_TIME_MS) % REFRESH_TIME_MS === 0) await this.series.refresh(write);
    this.armTick();
  }
}
