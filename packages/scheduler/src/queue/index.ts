/** The scheduling queue (kube's pkg/scheduler/backend/queue). */
export * from "./clock.js";
export * from "./events.js";
export * from "./heap.js";
export * from "./nominator.js";
export * from "./options.js";
export type { QueueLocation } from "./pod-queues.js";
export * from "./queueing-hint.js";
export * from "./scheduling-queue.js";
