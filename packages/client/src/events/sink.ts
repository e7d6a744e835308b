/**
 * Where recorded Events go (client-go's EventSink): create, or patch an existing one. The
 * KubeClient sinks write in the Event's own namespace, patches as strategic merge patches, as
 * client-go's EventSinkImpl (CreateWithEventNamespace, PatchWithEventNamespace).
 */
import type { ClientInterface } from "../client.js";
import type { CoreEvent, EventsV1Event } from "./types.js";

export interface EventSink<E> {
  create(event: E): Promise<E>;
  patch(event: E, patch: Record<string, unknown>): Promise<E>;
}

function sinkFor<E extends CoreEvent | EventsV1Event>(
  client: ClientInterface,
  apiVersion: string,
): EventSink<E> {
  const events = (e: E) => {
    const ns = e.metadata.namespace;
    if (!ns) throw new Error("can't write an event with empty namespace");
    return client.resource<E>(apiVersion, "events", ns);
  };
  return {
    create: (e) => events(e).create(e),
    patch: (e, patch) => events(e).patch(e.metadata.name ?? "", patch, "strategic"),
  };
}

/** core/v1 Events through `client`. */
export const coreEventSink = (client: ClientInterface): EventSink<CoreEvent> =>
  sinkFor<CoreEvent>(client, "v1");

/** events.k8s.io/v1 Events through `client`. */
export const eventsV1Sink = (client: ClientInterface): EventSink<EventsV1Event> =>
  sinkFor<EventsV1Event>(client, "events.k8s.io/v1");
