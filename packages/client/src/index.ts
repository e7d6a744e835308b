/** @skiff/client: a typed Kubernetes REST and watch client (undici), and informers. */
export { KubeClient } from "./client.js";
export { type ClientConfig, configFromKubeconfig } from "./config.js";
export { ApiError, isAlreadyExists, isConflict, isNotFound, type StatusObject } from "./errors.js";
export {
  type CoreEvent,
  coreEventSink,
  EventBroadcaster,
  type EventBroadcasterOptions,
  EventRecorder,
  type EventSeries,
  type EventSink,
  type EventSource,
  type EventSubject,
  EventsRecorder,
  type EventsV1Event,
  eventsV1Sink,
} from "./events/index.js";
export type { RawResponse } from "./http.js";
export { Informer, type InformerHandlers, type InformerOptions, keyOf } from "./informer.js";
export {
  DEFAULT_LEASE_DURATION_MS,
  DEFAULT_RENEW_DEADLINE_MS,
  DEFAULT_RETRY_PERIOD_MS,
  type ElectionEventRecorder,
  type ElectionLogger,
  type LeaderCallbacks,
  type LeaderElectionConfig,
  type LeaderElectionRecord,
  LeaderElector,
  LeaseLock,
  microTime,
  NotLeaderError,
} from "./leaderelection/index.js";
export type { ClientLogger } from "./logging.js";
export {
  type DeleteOptions,
  type FieldValidation,
  groupVersionPath,
  type ListOptions,
  type ObjectList,
  type PatchOptions,
  type PatchType,
  type ResourceClient,
  type Watch,
  type WatchEvent,
  type WatchEventType,
  type WatchOptions,
  type WriteOptions,
} from "./resource.js";
// workqueue, leader election, events, endpoints
export {
  BucketRateLimiter,
  type Clock,
  DelayingQueue,
  defaultControllerRateLimiter,
  FakeClock,
  ItemExponentialFailureRateLimiter,
  MaxOfRateLimiter,
  Queue,
  type QueueOptions,
  type RateLimiter,
  RateLimitingQueue,
  type RateLimitingQueueOptions,
  realClock,
  sleep,
  type TimerHandle,
  TokenBucket,
} from "./workqueue/index.js";
