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

// endpoints, EndpointSlices and disruption budgets

export { DisruptionController, disruptionControllerDescriptor } from "./disruption/controller.js";
export { EndpointsController, endpointsControllerDescriptor } from "./endpoint/controller.js";
export {
  CONTROLLER_QUALIFIED_NAME as ENDPOINTSLICE_CONTROLLER_NAME,
  EndpointSliceController,
  endpointSliceControllerDescriptor,
} from "./endpointslice/controller.js";
export { Reconciler as EndpointSliceReconciler } from "./endpointslice/reconciler.js";
export type { EndpointSlice, Endpoints, Service } from "./endpointslice/types.js";
export { EndpointSliceTracker } from "./endpointslice/util/endpointslice-tracker.js";
