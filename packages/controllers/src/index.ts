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
export { garbageCollectorControllerDescriptor } from "./garbagecollector/descriptor.js";
// garbage collector
export {
  DEFAULT_IGNORED_RESOURCES,
  deletableResources,
  type MonitoredResource,
  RestMapper,
} from "./garbagecollector/discovery.js";
export {
  GarbageCollector,
  type GarbageCollectorOptions,
  GC_RESOURCE_RESYNC_PERIOD_MS,
} from "./garbagecollector/garbage-collector.js";
export {
  CONTROLLER_REVISION_HASH_LABEL,
  controllerRevisionName,
  equalRevision,
  findEqualRevisions,
  History,
  hashControllerRevisionData,
  newControllerRevision,
  sortControllerRevisions,
} from "./history/controller-history.js";
export type { ControllerRevision } from "./history/types.js";
export {
  type ControllerDescriptor,
  controllerDescriptors,
  enabledControllers,
  unknownControllers,
} from "./registry.js";
// replicaset: the ReplicaSet controller and the pod helpers other workload controllers share
export { replicaSetControllerDescriptor } from "./replicaset/descriptor.js";
export {
  BURST_REPLICAS,
  ReplicaSetController,
  type ReplicaSetControllerOptions,
} from "./replicaset/replica-set.js";
export {
  calculateStatus as calculateReplicaSetStatus,
  getPodsToDelete,
} from "./replicaset/replica-set-utils.js";
export {
  REPLICA_SET_KIND,
  REPLICA_SET_REPLICA_FAILURE,
  type ReplicaSet,
  type ReplicaSetCondition,
  type ReplicaSetSpec,
  type ReplicaSetStatus,
} from "./replicaset/types.js";
export { type StartedControllers, startControllers } from "./run.js";
export { StatefulSetController, statefulSetControllerDescriptor } from "./statefulset/stateful-set.js";
export type { StatefulSet, StatefulSetSpec, StatefulSetStatus } from "./statefulset/types.js";
export {
  activePodLess,
  maxContainerRestarts,
  POD_DELETION_COST_ANNOTATION,
  podDeletionCost,
  sortActivePodsWithRanks,
} from "./util/active-pods.js";
export {
  type ClaimOptions,
  claimObjects,
  type GroupVersionKind,
  getControllerOf,
  newControllerRef,
  recheckController,
} from "./util/controller-ref.js";
export {
  type APIResource,
  type APIResourceList,
  type DiscoveryInterface,
  ErrGroupDiscoveryFailed,
  HttpDiscovery,
  type ServerResources,
} from "./util/discovery.js";
export {
  ControllerExpectations,
  EXPECTATIONS_TIMEOUT_MS,
  UIDTrackingControllerExpectations,
} from "./util/expectations.js";
export { computeHash } from "./util/hash.js";
export type { IntOrString } from "./util/intstr.js";
export {
  filterActivePods,
  filterPodsByOwner,
  getPodReadyCondition,
  isPodActive,
  isPodAvailable,
  isPodReady,
  orphanPodIndexKeyForNamespace,
  PodControllerUIDIndex,
  podControllerUIDIndexFunc,
  podKey,
  podReadyTime,
} from "./util/pod.js";
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

// deployment: kube's pkg/controller/deployment

export { DeploymentController } from "./deployment/deployment-controller.js";
export { deploymentControllerDescriptor } from "./deployment/descriptor.js";
export type {
  Deployment,
  DeploymentCondition,
  DeploymentSpec,
  DeploymentStatus,
  DeploymentStrategy,
} from "./deployment/types.js";

// job, cronjob, ttl-after-finished: kube's pkg/controller/{job,cronjob,ttlafterfinished}

export {
  type CronJob,
  CronJobController,
  type CronJobSpec,
  type CronJobStatus,
  cronJobControllerDescriptor,
  loadLocation,
  parseStandard,
  type Schedule,
  type Zone,
} from "./cronjob/index.js";
export {
  finishedCondition,
  isJobFinished,
  isJobSucceeded,
  type Job,
  type JobCondition,
  JobController,
  type JobSpec,
  type JobStatus,
  jobControllerDescriptor,
} from "./job/index.js";
export {
  TTLAfterFinishedController,
  ttlAfterFinishedControllerDescriptor,
} from "./ttlafterfinished/index.js";

// node lifecycle, taint eviction, pod GC, node IPAM: kube's pkg/controller/{nodelifecycle,
// tainteviction,podgc,nodeipam}

export { CidrSet, formatIpv4Cidr, type Ipv4Cidr, parseIpv4Cidr } from "./nodeipam/cidrset.js";
export { NODE_IPAM_CONTROLLER, NodeIpamController } from "./nodeipam/controller.js";
export { nodeIpamControllerDescriptor } from "./nodeipam/descriptor.js";
export {
  NODE_EVICTION_PERIOD_MS,
  NODE_LEASE_NAMESPACE,
  NODE_LIFECYCLE_CONTROLLER,
  NodeLifecycleController,
} from "./nodelifecycle/controller.js";
export { nodeLifecycleControllerDescriptor } from "./nodelifecycle/descriptor.js";
export { computeZoneState, getZoneKey, type ZoneState } from "./nodelifecycle/zone.js";
export {
  byEvictionAndCreationTimestamp,
  GC_CHECK_PERIOD_MS,
  isPodTerminated,
  POD_GARBAGE_COLLECTOR_CONTROLLER,
  PodGCController,
  type PodGCOptions,
  QUARANTINE_TIME_MS,
} from "./podgc/controller.js";
export { podGarbageCollectorControllerDescriptor } from "./podgc/descriptor.js";
export {
  getMinTolerationTime,
  getNoExecuteTaints,
  TAINT_EVICTION_CONTROLLER,
  TaintEvictionController,
} from "./tainteviction/controller.js";
export { taintEvictionControllerDescriptor } from "./tainteviction/descriptor.js";
export { TimedWorkerQueue, type WorkArgs } from "./tainteviction/timed-workers.js";
export {
  getMatchingTolerations,
  matchTaint,
  TaintNodeDiskPressure,
  TaintNodeMemoryPressure,
  TaintNodeNetworkUnavailable,
  TaintNodeNotReady,
  TaintNodeOutOfService,
  TaintNodePIDPressure,
  TaintNodeUnreachable,
  TaintNodeUnschedulable,
  taintExists,
  toleratesTaint,
} from "./util/taints.js";

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
  type DiscoverResourcesFn,
  type DiscoveryResult,
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
