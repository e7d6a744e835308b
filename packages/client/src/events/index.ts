/** client-go's tools/record (core/v1 Events) and tools/events (events.k8s.io/v1) recorders. */
export { EventBroadcaster, type EventBroadcasterOptions } from "./broadcaster.js";
export { EventRecorder, EventsRecorder } from "./recorder.js";
export { coreEventSink, type EventSink, eventsV1Sink } from "./sink.js";
export type { CoreEvent, EventSeries, EventSource, EventSubject, EventsV1Event } from "./types.js";
