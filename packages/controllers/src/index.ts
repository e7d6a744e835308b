/** @skiff/controllers: kube-controller-manager's controllers and the manager that runs them. */
export {
  type ControllerManagerConfig,
  concurrencyOf,
  DEFAULT_CONCURRENCY,
  defaultControllerManagerConfig,
} from "./config.js";
export { type ControllerContext, type NewControllerContextOptions, newControllerContext } from "./context.js";
export {
  type Controller,
  deletedObject,
  QueueController,
  type QueueControllerOptions,
} from "./controller.js";
export { garbageCollectorControllerDescriptor } from "./garbagecollector/descriptor.js";
// garbage collector
export {
  type APIResource,
  type APIResourceList,
  DEFAULT_IGNORED_RESOURCES,
  type DiscoveryInterface,
  deletableResources,
  HttpDiscovery,
  type MonitoredResource,
  RestMapper,
  type ServerResources,
} from "./garbagecollector/discovery.js";
export {
  GarbageCollector,
  type GarbageCollectorOptions,
  GC_RESOURCE_RESYNC_PERIOD_MS,
} from "./garbagecollector/garbage-collector.js";
export {
  type ControllerDescriptor,
  controllerDescriptors,
  enabledControllers,
  unknownControllers,
} from "./registry.js";
export { type StartedControllers, startControllers } from "./run.js";
export {
  type ClaimOptions,
  claimObjects,
  type GroupVersionKind,
  getControllerOf,
  newControllerRef,
  recheckController,
} from "./util/controller-ref.js";
export {
  ControllerExpectations,
  EXPECTATIONS_TIMEOUT_MS,
  UIDTrackingControllerExpectations,
} from "./util/expectations.js";
export {
  messageOf,
  PodControl,
  type PodTemplateSpec,
  podFromTemplate,
  SLOW_START_INITIAL_BATCH_SIZE,
  slowStartBatch,
} from "./util/pod-control.js";
