/** @skiff/client: a typed Kubernetes REST and watch client (undici), and informers. */
export { type ClientInterface, KubeClient } from "./client.js";
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

// informers

export {
  type InformerForOptions,
  informerKey,
  SharedInformerFactory,
  type SharedInformerFactoryOptions,
} from "./informers/factory.js";
export {
  Indexer,
  type Indexers,
  type IndexFunc,
  MetaNamespaceIndexFunc,
  NamespaceIndex,
  NodeNameIndex,
  NodeNameIndexFunc,
  OwnerUidIndex,
  OwnerUidIndexFunc,
} from "./informers/indexer.js";
export {
  type DeletedFinalStateUnknown,
  Informer,
  type InformerHandlers,
  type InformerOptions,
  type ResourceEventHandlerRegistration,
} from "./informers/informer.js";
export { keyOf, splitMetaNamespaceKey } from "./informers/key.js";
export {
  type Labels,
  parseLabelSelector,
  type Requirement,
  requirementMatches,
  type Selector,
  toSelector,
} from "./informers/labels.js";
export { type LabelSelectorInput, Lister, NamespaceLister } from "./informers/lister.js";
export { cloneObject, deepFreeze } from "./informers/readonly.js";
export {
  PARTIAL_OBJECT_METADATA_ACCEPT,
  PARTIAL_OBJECT_METADATA_LIST_ACCEPT,
  type PartialObjectMetadata,
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

// testing: the fake clientset

export {
  type FakeAction,
  FakeClient,
  type FakeClientOptions,
  type FakeVerb,
  type Reactor,
  type ReactorAnswer,
} from "./testing/fake-client.js";
export { matchesFieldSelector, ObjectTracker, resourceOf } from "./testing/tracker.js";
