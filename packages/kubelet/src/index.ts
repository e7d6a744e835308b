export type * from "./api-types.js";
export type { PodCgroups, QOSClass } from "./cm/cgroups.js";
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
export type { PodNetwork, PodNetworkStatus } from "./network/network.js";
export type { ProbeManager, ProbeResult, ProbeResultEvent, ProbeType } from "./prober/prober.js";
export type * from "./runtime/runtime.js";
export { VolumeError, type VolumeManager } from "./volume/volumes.js";
