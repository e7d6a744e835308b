/**
 * The deterministic simulator of the Raft core (packages/raft/src): N nodes on a simulated network
 * and disks, driven by one seed, with invariant checkers after every step. See docs/raft-sim.md.
 */
export { type ObservedState, SafetyChecker } from "./checker.js";
export { type ClusterStats, SimCluster } from "./cluster.js";
export {
  type FaultEvent,
  type FaultKind,
  fmtFault,
  type NodePick,
  type PartitionShape,
  partitionShapes,
  randomSchedule,
} from "./faults.js";
export { partitionLinks } from "./injector.js";
export type { BrokenMode, SimLoop, SimOptions } from "./options.js";
export { Scheduler } from "./scheduler.js";
export { runSeeds, type SeedRangeReport } from "./seeds.js";
export {
  runSimulation,
  type SimResult,
  type SimStats,
  type SimViolation,
  scriptedCluster,
} from "./simulation.js";
export { Trace, type TraceMode } from "./trace.js";
export { InvariantViolation } from "./violation.js";
