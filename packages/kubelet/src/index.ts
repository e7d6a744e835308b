export type * from "./api-types.js";
export type { PodCgroups, QOSClass } from "./cm/cgroups.js";
export { FakePodCgroups } from "./cm/fake.js";
export type { LogOptions } from "./logs/logs.js";
export { FakePodNetwork } from "./network/fake.js";
export type { PodNetwork, PodNetworkStatus } from "./network/network.js";
export { BACKOFF_INITIAL_MS, BACKOFF_MAX_MS, Backoff } from "./pod/backoff.js";
export { generateContainerConfig } from "./pod/container-config.js";
export { findImage, normalizeImage } from "./pod/images.js";
export { killContainer, type RunHandler, stopContainer } from "./pod/kill.js";
export * as containerLabels from "./pod/labels.js";
export { computePodActions, shouldContainerBeRestarted } from "./pod/pod-actions.js";
export { PodWorkers, type TerminateOptions } from "./pod/pod-workers.js";
export { getPodQOS } from "./pod/qos.js";
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
export type { ProbeManager, ProbeResult, ProbeResultEvent, ProbeType } from "./prober/prober.js";
export {
  type ExecHandler,
  FakeRuntime,
  type FakeRuntimeOptions,
  type ProcessBehaviour,
} from "./runtime/fake.js";
export type * from "./runtime/runtime.js";
export { VolumeError, type VolumeManager } from "./volume/volumes.js";
