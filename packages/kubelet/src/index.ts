export type * from "./api-types.js";
export type { PodCgroups, QOSClass } from "./cm/cgroups.js";
export type { LogOptions } from "./logs/logs.js";
export type { PodNetwork, PodNetworkStatus } from "./network/network.js";
export type { ProbeManager, ProbeResult, ProbeResultEvent, ProbeType } from "./prober/prober.js";
export type * from "./runtime/runtime.js";
export {
  KUBELET_CLIENT_USER,
  KubeletServer,
  type KubeletServerDeps,
  type KubeletServerOptions,
  type LogStop,
} from "./server/index.js";
export { VolumeError, type VolumeManager } from "./volume/volumes.js";
