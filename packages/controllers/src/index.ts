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
// daemonset, statefulset and their ControllerRevision history
export {
  DaemonSetsController,
  type DaemonSetsControllerOptions,
  daemonSetControllerDescriptor,
} from "./daemonset/daemon-controller.js";
export type { DaemonSet, DaemonSetSpec, DaemonSetStatus } from "./daemonset/types.js";
export { nodeShouldRunDaemonPod } from "./daemonset/util.js";
export {
  CONTROLLER_REVISION_HASH_LABEL,
  controllerRevisionName,
  equalRevision,
  findEqualRevisions,
  History,
  newControllerRevision,
  sortControllerRevisions,
} from "./history/controller-history.js";
export { computeHash, hashControllerRevisionData } from "./history/hash.js";
export type { ControllerRevision } from "./history/types.js";
export {
  type ControllerDescriptor,
  controllerDescriptors,
  enabledControllers,
  unknownControllers,
} from "./registry.js";
export { type StartedControllers, startControllers } from "./run.js";
export { StatefulSetController, statefulSetControllerDescriptor } from "./statefulset/stateful-set.js";
export type { StatefulSet, StatefulSetSpec, StatefulSetStatus } from "./statefulset/types.js";
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
