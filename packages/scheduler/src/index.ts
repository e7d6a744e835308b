/** @skiff/scheduler: kube-scheduler's framework, queue, cache and plugins. */

export { SchedulerCache } from "./cache/cache.js";
export {
  type LeaderElectionOptions,
  SchedulerComponent,
  type SchedulerComponentOptions,
} from "./component.js";
export * from "./framework/cycle-state.js";
export { FitError } from "./framework/fit-error.js";
export * from "./framework/interface.js";
export * from "./framework/node-info.js";
export * from "./framework/pod-info.js";
export { ConfigError, parseSchedulerConfig, type SchedulerConfig } from "./framework/profile.js";
export * from "./framework/resource.js";
export { Framework } from "./framework/runtime.js";
export * from "./framework/snapshot.js";
export * from "./framework/status.js";
export { runScheduler } from "./main.js";
export { parseSchedulerFlags, schedulerFlags } from "./options.js";
export { inTreeRegistry } from "./plugins/registry.js";
export { PriorityQueue } from "./queue/scheduling-queue.js";
export { Scheduler } from "./scheduler.js";
