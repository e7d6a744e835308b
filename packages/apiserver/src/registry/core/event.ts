/**
 * Event storage hooks (kube: pkg/registry/core/event, whose Store.TTLFunc is --event-ttl): every
 * Event is written with a store lease and expires with it (storage/leases.ts).
 */
import type { LeaseManager } from "../../storage/leases.js";
import type { Strategy } from "../strategy.js";

export function eventStrategy(leases: LeaseManager): Strategy {
  return { lease: () => leases.lease() };
}
