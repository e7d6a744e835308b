/**
 * `@skiff/store/sim`: the simulated clock, network and disk that run the production node loop
 * (RaftNode) deterministically, and the simulator that drives it. Kept out of the main export so
 * production code cannot pick them up by accident.
 */
export { SimClock } from "./clock.js";
export { SimDisk, SimLogStore } from "./logstore.js";
export { type NodeSimOptions, type NodeSimResult, runNodeSimulation } from "./nodesim.js";
export { SimNet, SimTransport } from "./transport.js";
