export type * from "./api-types.js";
export type { PodCgroups, QOSClass } from "./cm/cgroups.js";
export type { LogOptions } from "./logs/logs.js";
export type { PodNetwork, PodNetworkStatus } from "./network/network.js";
export type { ProbeManager, ProbeResult, ProbeResultEvent, ProbeType } from "./prober/prober.js";
export {
  type ContainerdOptions,
  type ContainerdProcess,
  containerdVersion,
  startContainerd,
} from "./runtime/containerd.js";
export { AlreadyExistsError, CtrError, isNotFound, NotFoundError } from "./runtime/ctr/ctr.js";
export { CtrRuntime, type CtrRuntimeOptions } from "./runtime/ctr/runtime.js";
export type * from "./runtime/runtime.js";
export { VolumeError, type VolumeManager } from "./volume/volumes.js";
