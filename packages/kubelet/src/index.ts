export type * from "./api-types.js";
export { CgroupfsPodCgroups } from "./cm/cgroupfs.js";
export type { PodCgroups, QOSClass } from "./cm/cgroups.js";
export { FakePodCgroups } from "./cm/fake.js";
export { computePodQOS, getPodQOS } from "./cm/qos.js";
export { resourceConfigForPod } from "./cm/resources.js";
export * from "./env/index.js";
export {
  busyboxImageFile,
  busyboxImageRef,
  busyboxRootfs,
  ensureBusyboxImage,
  findStaticBusybox,
  isStaticElf,
} from "./image/busybox.js";
export {
  type BuildImageOptions,
  type BuiltImage,
  buildImage,
  type ImageRunConfig,
  layerFromDirectory,
} from "./image/oci.js";
export { TarWriter } from "./image/tar.js";
export { Kubelet } from "./kubelet.js";
export {
  type CriLogEntry,
  formatCriLine,
  formatRFC3339NanoFixed,
  type LogStream,
  parseCriLine,
  parseRFC3339Nano,
} from "./logs/cri-format.js";
export type { LogOptions } from "./logs/logs.js";
export { containerLogPath, containerLogsDir, logFilesFor, podLogsDir, rotationOf } from "./logs/paths.js";
export { type ReadLogContext, readContainerLog } from "./logs/reader.js";
export { ApiServerRelay, type ApiServerRelayOptions, apiServerTargets } from "./network/apiserver-relay.js";
export { DialError } from "./network/dialer.js";
export {
  type DNSConfig,
  type DNSEvent,
  formatResolvConf,
  type PodDNSOptions,
  parseResolvConf,
  podDNSConfig,
  podResolvConf,
} from "./network/dns.js";
export {
  FABRIC_BRIDGE,
  FABRIC_LINK,
  FABRIC_PREFIX,
  type FabricNode,
  fabricVethName,
  NodeFabric,
  type NodeFabricOptions,
  RTPROT_SKIFF,
} from "./network/fabric.js";
export { type FabricFlags, fabricFlags, parseFabricFlags } from "./network/fabric-flags.js";
export { FakePodNetwork } from "./network/fake.js";
export {
  APISERVER_GATEWAY_PORT,
  type GatewayListener,
  gatewaySocketPath,
  NodeGateway,
  type NodeGatewayOptions,
} from "./network/gateway.js";
export { fabricNetnsName, validateFabricName } from "./network/names.js";
export { NetnsPodNetwork, type NetnsPodNetworkOptions } from "./network/netns.js";
export type { PodNetwork, PodNetworkStatus } from "./network/network.js";
export { type ConditionInputs, networkNotReadyMessage, setConditions } from "./node/conditions.js";
export {
  EvictionManager,
  type EvictionManagerOptions,
  immediateEvictionGracePeriodSeconds,
  type SignalObservation,
  type SignalObservations,
} from "./node/eviction/manager.js";
export {
  evictedReason,
  evictionMessage,
  isCriticalPod,
  systemCriticalPriority,
} from "./node/eviction/rank.js";
export {
  memAvailableBytes,
  type NodeSignalObserverOptions,
  nodeSignalObserver,
} from "./node/eviction/signals.js";
export {
  defaultEvictionHard,
  parseEvictionHard,
  type Signal,
  type Threshold,
} from "./node/eviction/thresholds.js";
export { ImageGCManager, type ImageGCManagerOptions } from "./node/image-gc.js";
export { NodeLeaseController, type NodeLeaseControllerOptions, nodeLeaseNamespace } from "./node/lease.js";
export {
  type FsStats,
  fsStats,
  type MachineInfo,
  type MachineOverrides,
  machineInfo,
} from "./node/machine.js";
export { isMirrorPodOf, MirrorPodManager, type MirrorPodManagerOptions } from "./node/mirror-pods.js";
export { kubeletAddressAnnotation, nodeImages } from "./node/node-object.js";
export {
  fabricNodeOf,
  RouteController,
  type RouteControllerOptions,
  type RouteSyncer,
} from "./node/routes.js";
export {
  nodeShutdownMessage,
  nodeShutdownReason,
  ShutdownManager,
  type ShutdownManagerOptions,
} from "./node/shutdown.js";
export {
  configHashAnnotation,
  configMirrorAnnotation,
  configSourceAnnotation,
  StaticPodSource,
  type StaticPodSourceOptions,
  staticPodFromManifest,
} from "./node/static-pods.js";
export {
  kubeletVersion,
  type NodePressure,
  NodeStatusManager,
  type NodeStatusManagerOptions,
} from "./node/status.js";
export { type AgentOptions, agentFlags, parseAgentFlags } from "./options.js";
export { BACKOFF_INITIAL_MS, BACKOFF_MAX_MS, Backoff } from "./pod/backoff.js";
export { generateContainerConfig } from "./pod/container-config.js";
export { findImage, normalizeImage } from "./pod/images.js";
export { killContainer, type RunHandler, stopContainer } from "./pod/kill.js";
export * as containerLabels from "./pod/labels.js";
export { computePodActions, shouldContainerBeRestarted } from "./pod/pod-actions.js";
export { PodWorkers, type TerminateOptions } from "./pod/pod-workers.js";
export {
  generateAPIPodStatus,
  getPhase,
  type PodStatusInput,
  rfc3339,
  type SyncReason,
} from "./pod/status.js";
export { StatusManager, type StatusManagerOptions } from "./pod/status-manager.js";
export { podStatusPatch } from "./pod/status-patch.js";
export type { PodLogger, PodWorkersOptions } from "./pod/types.js";
export { type LifecycleHandlerDeps, runLifecycleHandler } from "./prober/handlers.js";
export { ProberManager, type ProberManagerOptions } from "./prober/manager.js";
export type { ProbeEventRecorder } from "./prober/probe.js";
export type { ProbeManager, ProbeResult, ProbeResultEvent, ProbeType } from "./prober/prober.js";
export type { Dialer, ExecSync, ExecSyncResult, ProberLogger } from "./prober/types.js";
export {
  type ContainerdOptions,
  type ContainerdProcess,
  containerdVersion,
  startContainerd,
} from "./runtime/containerd.js";
export { AlreadyExistsError, CtrError, isNotFound, NotFoundError } from "./runtime/ctr/ctr.js";
export { CtrRuntime, type CtrRuntimeOptions } from "./runtime/ctr/runtime.js";
export {
  busyboxExec,
  type ExecContext,
  type ExecHandler,
  type ExecReply,
  FakeRuntime,
  type FakeRuntimeOptions,
  FakeRuntimeState,
  knownProgram,
  type LogLine,
  type ProcessBehaviour,
} from "./runtime/fake.js";
export type * from "./runtime/runtime.js";
export {
  KUBELET_CLIENT_USER,
  KubeletServer,
  type KubeletServerDeps,
  type KubeletServerOptions,
  type LogStop,
} from "./server/index.js";
export { FakeUTSNamespaces } from "./uts/fake.js";
export { UnshareUTSNamespaces, type UnshareUTSNamespacesOptions } from "./uts/unshare.js";
export type { PodUTSNamespaces } from "./uts/uts.js";
export { AtomicWriter, type FileProjection, type Payload } from "./volume/atomic-writer.js";
export {
  DirVolumeManager,
  type DirVolumeManagerOptions,
  type PodMountOptions,
  type VolumeLogger,
} from "./volume/dir-volume-manager.js";
export { managedHostsFileContent, podHostnameAndDomain } from "./volume/hosts.js";
export {
  ClientObjectSource,
  type ConfigMap,
  type KubeletObjectSource,
  type Secret,
  type ServiceAccountToken,
  type TokenRequestOptions,
} from "./volume/sources.js";
export { VolumeError, type VolumeManager } from "./volume/volumes.js";
