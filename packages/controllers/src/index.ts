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

// the manager

export { ControllerManagerComponent, type ControllerManagerOptions } from "./component.js";
export { runControllerManager } from "./main.js";
export {
  CONCURRENCY_FLAGS,
  type ControllerManagerCommandOptions,
  type ControllerManagerLeaderElection,
  controllerManagerConfig,
  controllerManagerFlags,
  parseControllerManagerArgs,
  parseControllerManagerFlags,
} from "./options.js";

// namespace, service accounts, root CA, resource quota: the namespace lifecycle's controllers

export { httpNamespaceApi, type NamespaceDeleterApi } from "./namespace/api.js";
export { CONDITION_TYPES as NAMESPACE_DELETION_CONDITION_TYPES } from "./namespace/conditions.js";
export {
  FINALIZER_ESTIMATE_SECONDS,
  NamespacedResourcesDeleter,
  ResourcesRemainingError,
} from "./namespace/deleter.js";
export { namespaceControllerDescriptor } from "./namespace/descriptor.js";
export {
  type APIResource,
  type APIResourceList,
  type DiscoverResourcesFn,
  type DiscoveryResult,
  ErrGroupDiscoveryFailed,
  serverPreferredNamespacedResources,
} from "./namespace/discovery.js";
export {
  NAMESPACE_DELETION_GRACE_PERIOD_MS,
  NamespaceController,
  type NamespaceControllerOptions,
} from "./namespace/namespace-controller.js";
export type { Namespace, NamespaceCondition } from "./namespace/types.js";
export { resourceQuotaControllerDescriptor } from "./resourcequota/descriptor.js";
export { ResourceQuotaController } from "./resourcequota/resource-quota-controller.js";
export type { ResourceQuota } from "./resourcequota/types.js";
export { calculateUsage } from "./resourcequota/usage.js";
export { rootCACertPublisherDescriptor } from "./rootcacertpublisher/descriptor.js";
export {
  DESCRIPTION_ANNOTATION,
  ROOT_CA_CERT_CONFIGMAP_NAME,
  RootCACertPublisher,
} from "./rootcacertpublisher/publisher.js";
export { serviceAccountControllerDescriptor } from "./serviceaccount/descriptor.js";
export {
  DEFAULT_SERVICE_ACCOUNT_NAME,
  ServiceAccountsController,
  type ServiceAccountsControllerOptions,
} from "./serviceaccount/serviceaccounts-controller.js";
