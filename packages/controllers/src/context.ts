/**
 * What every controller is built from (kube-controller-manager's ControllerContext): the client,
 * the one shared informer factory of the process, event recorders, the clock, logging, metrics,
 * and the component configuration (flags). A controller takes its informers from `informers`
 * when it is constructed; the manager starts them all afterwards and waits for their caches.
 */
import {
  type ClientInterface,
  type Clock,
  EventBroadcaster,
  type EventRecorder,
  realClock,
  SharedInformerFactory,
} from "@skiff/client";
import { type Logger, silentLogger } from "@skiff/component-base";
import { Registry } from "prom-client";
import { type ControllerManagerConfig, defaultControllerManagerConfig } from "./config.js";

export interface ControllerContext {
  readonly client: ClientInterface;
  readonly informers: SharedInformerFactory;
  /** A core/v1 event recorder with this component name (e.g. "deployment-controller"). */
  recorder(component: string): EventRecorder;
  readonly clock: Clock;
  readonly log: Logger;
  /** Where the controller's metrics and its work queue's workqueue_* metrics go. */
  readonly metrics: Registry;
  readonly config: ControllerManagerConfig;
}

export interface NewControllerContextOptions {
  client: ClientInterface;
  config?: Partial<ControllerManagerConfig>;
  clock?: Clock;
  log?: Logger;
  metrics?: Registry;
  /** Where events go; default: the client (a test passes a recording broadcaster). */
  broadcaster?: EventBroadcaster;
  informers?: SharedInformerFactory;
}

/** A context on a client: one informer factory, one event broadcaster (shut down by the caller). */
export function newControllerContext(o: NewControllerContextOptions): ControllerContext & {
  readonly broadcaster: EventBroadcaster;
} {
  const clock = o.clock ?? realClock;
  const log = o.log ?? silentLogger;
  const broadcaster = o.broadcaster ?? new EventBroadcaster({ client: o.client, clock });
  const informers =
    o.informers ??
    new SharedInformerFactory(o.client, {
      onError: (e) => log.warn({ err: e instanceof Error ? e.message : String(e) }, "informer error"),
    });
  return {
    client: o.client,
    informers,
    broadcaster,
    recorder: (component) => broadcaster.newRecorder({ component }),
    clock,
    log,
    metrics: o.metrics ?? new Registry(),
    config: { ...defaultControllerManagerConfig(), ...o.config },
  };
}
