export type * from "./api-types.js";
export type { PodCgroups, QOSClass } from "./cm/cgroups.js";
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
export {
  containerLogPath,
  containerLogsDir,
  logFilesFor,
  podLogsDir,
  rotationOf,
} from "./logs/paths.js";
export { type ReadLogContext, readContainerLog } from "./logs/reader.js";
export { runAgent } from "./main.js";
export type { PodNetwork, PodNetworkStatus } from "./network/network.js";
export { type AgentOptions, agentFlags, parseAgentFlags } from "./options.js";
export type { ProbeManager, ProbeResult, ProbeResultEvent, ProbeType } from "./prober/prober.js";
export type * from "./runtime/runtime.js";
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
