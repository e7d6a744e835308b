/** @skiff/hollow-node: kubemark's hollow nodes, many fake nodes in one process. */
export { type Cidr, contains, formatCidr, formatIPv4, parseCidr, parseIPv4, subnet } from "./cidr.js";
export { type Clock, realClock } from "./clock.js";
export { HollowNodes, type HollowNodesDeps } from "./hollow-nodes.js";
export { PodIPAllocator, podAddresses } from "./ipam.js";
export { type Lane, LimiterClosed, RequestLimiter } from "./limiter.js";
export { runHollowNodes } from "./main.js";
export {
  containerRuntimeVersion,
  kubeletVersion,
  nodeLeaseNamespace,
  zoneOf,
} from "./node-object.js";
export {
  type HollowNodesOptions,
  hollowNodesFlags,
  hollowNodesOptions,
  parseHollowNodesFlags,
} from "./options.js";
export { Wheel } from "./wheel.js";
export { WorkQueue } from "./workqueue.js";
