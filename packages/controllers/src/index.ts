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
export { DeploymentController } from "./deployment/deployment-controller.js";
// deployment: kube's pkg/controller/deployment
export { deploymentControllerDescriptor } from "./deployment/descriptor.js";
export type {
  Deployment,
  DeploymentCondition,
  DeploymentSpec,
  DeploymentStatus,
  ReplicaSet,
  ReplicaSetSpec,
  ReplicaSetStatus,
} from "./deployment/types.js";
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
