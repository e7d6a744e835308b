/**
 * The recorders components call: EventRecorder for core/v1 Events (client-go's
 * tools/record.EventRecorder: event, eventf, annotatedEventf) and EventsRecorder for
 * events.k8s.io/v1 (tools/events.EventRecorder: eventf with regarding, related and action).
 * A call builds the Event at once (its time is the call's) and hands it to the broadcaster; it
 * never blocks and never throws: an event that cannot be built is logged and dropped.
 */
import type { ObjectReference } from "@skiff/api";
import { microTime } from "../leaderelection/lease-lock.js";
import type { ClientLogger } from "../logging.js";
import type { Clock } from "../workqueue/clock.js";
import type { EventBroadcaster } from "./broadcaster.js";
import {
  type CoreEvent,
  type EventSource,
  type EventSubject,
  type EventsV1Event,
  eventName,
  isValidEventType,
  metaTime,
  referenceOf,
  sprintf,
} from "./types.js";

/** The API server refuses a longer events.k8s.io/v1 note. */
const MAX_NOTE_LENGTH = 1024;

export class EventRecorder {
  constructor(
    private readonly broadcaster: EventBroadcaster,
    readonly source: EventSource,
    private readonly clock: Clock,
    private readonly log: ClientLogger,
  ) {}

  /** An event about `object`: type Normal or Warning, a CamelCase reason, a message. */
  event(object: EventSubject, eventtype: string, reason: string, message: string): void {
    this.generate(object, undefined, eventtype, reason, message);
  }

  /** event with a Go-style format (%s %v %d %q). */
  eventf(
    object: EventSubject,
    eventtype: string,
    reason: string,
    messageFmt: string,
    ...args: unknown[]
  ): void {
    this.generate(object, undefined, eventtype, reason, sprintf(messageFmt, args));
  }

  /** eventf, with annotations on the Event. */
  annotatedEventf(
    object: EventSubject,
    annotations: Record<string, string>,
    eventtype: string,
    reason: string,
    messageFmt: string,
    ...args: unknown[]
  ): void {
    this.generate(object, annotations, eventtype, reason, sprintf(messageFmt, args));
  }

  private generate(
    object: EventSubject,
    annotations: Record<string, string> | undefined,
    eventtype: string,
    reason: string,
    message: string,
  ): void {
    try {
      const ref = referenceOf(object);
      if (!isValidEventType(eventtype)) {
        this.log.error({ type: eventtype, reason }, "unsupported event type");
        return;
      }
      const now = this.clock.now();
      const t = metaTime(now);
      const event: CoreEvent = {
        apiVersion: "v1",
        kind: "Event",
        metadata: {
          name: eventName(ref.name, now),
          namespace: ref.namespace || "default",
          ...(annotations === undefined ? {} : { annotations }),
        },
        involvedObject: ref,
        reason,
        message,
        firstTimestamp: t,
        lastTimestamp: t,
        count: 1,
        type: eventtype,
        source: this.source,
        ...(this.source.component ? { reportingComponent: this.source.component } : {}),
        ...(this.source.host ? { reportingInstance: this.source.host } : {}),
      };
      this.broadcaster.enqueue({ kind: "core", event });
    } catch (e) {
      this.log.error({ reason, err: String(e) }, "could not construct an event; not reporting it");
    }
  }
}

export class EventsRecorder {
  constructor(
    private readonly broadcaster: EventBroadcaster,
    readonly reportingController: string,
    readonly reportingInstance: string,
    private readonly clock: Clock,
    private readonly log: ClientLogger,
  ) {}

  /**
   * An event about `regarding` (and `related`, if any): what `action` was taken or failed, and
   * why (`reason`); `note` is a Go-style format.
   */
  eventf(
    regarding: EventSubject,
    related: EventSubject | undefined | null,
    eventtype: string,
    reason: string,
    action: string,
    note: string,
    ...args: unknown[]
  ): void {
    try {
      const ref = referenceOf(regarding);
      let rel: ObjectReference | undefined;
      if (related !== undefined && related !== null) rel = referenceOf(related);
      if (!isValidEventType(eventtype)) {
        this.log.error({ type: eventtype, reason }, "unsupported event type");
        return;
      }
      let message = sprintf(note, args);
      if (message.length > MAX_NOTE_LENGTH) message = `${message.slice(0, MAX_NOTE_LENGTH - 3)}...`;
      const now = this.clock.now();
      const event: EventsV1Event = {
        apiVersion: "events.k8s.io/v1",
        kind: "Event",
        metadata: { name: eventName(ref.name, now), namespace: ref.namespace || "default" },
        eventTime: microTime(now),
        reportingController: this.reportingController,
        reportingInstance: this.reportingInstance,
        action,
        reason,
        regarding: ref,
        ...(rel === undefined ? {} : { related: rel }),
        note: message,
        type: eventtype,
      };
      this.broadcaster.enqueue({ kind: "events", event });
    } catch (e) {
      this.log.error({ reason, err: String(e) }, "could not construct an event; not reporting it");
    }
  }
}
