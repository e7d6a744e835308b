/** @skiff/scheduler: kube-scheduler's framework, queue, cache and plugins. */
export * from "./framework/cycle-state.js";
export * from "./framework/interface.js";
export * from "./framework/node-info.js";
export * from "./framework/pod-info.js";
export * from "./framework/resource.js";
export * from "./framework/snapshot.js";
export * from "./framework/status.js";
