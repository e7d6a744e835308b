/**
 * The legacy Endpoints object's size limit (kube's pkg/controller/endpoint truncateEndpoints and
 * capacityAnnotationSetCorrectly): at most 1000 addresses. Over it, ready addresses are kept
 * before not-ready ones, each subset keeping its share (rounded up) of what fits, and the object
 * carries `endpoints.kubernetes.io/over-capacity: truncated`; EndpointSlices have no such limit.
 */
import type { EndpointAddress, EndpointSubset, Endpoints } from "../endpointslice/types.js";
import { ENDPOINTS_OVER_CAPACITY } from "../endpointslice/types.js";

/** maxCapacity. */
export const MAX_CAPACITY = 1000;
/** The over-capacity annotation's value. */
export const TRUNCATED = "truncated";

const count = (subsets: readonly EndpointSubset[], f: "addresses" | "notReadyAddresses") =>
  subsets.reduce((n, ss) => n + (ss[f]?.length ?? 0), 0);

/** truncateEndpoints: true when the subsets were over capacity (and are now cut down to it). */
export function truncateEndpoints(ep: Endpoints): boolean {
  const subsets = ep.subsets ?? [];
  const totalReady = count(subsets, "addresses");
  const totalNotReady = count(subsets, "notReadyAddresses");
  if (totalReady + totalNotReady <= MAX_CAPACITY) return false;
  const truncateReady = totalReady > MAX_CAPACITY;
  const max = truncateReady ? MAX_CAPACITY : MAX_CAPACITY - totalReady;
  const numTotal = truncateReady ? totalReady : totalNotReady;
  let canBeAdded = max;
  ep.subsets = subsets.map((ss) => {
    const inSubset = (truncateReady ? ss.addresses : ss.notReadyAddresses)?.length ?? 0;
    // Each subset's proportion, rounded up; the last ones get what is left.
    const toBeAdded = Math.min(Math.ceil((inSubset / numTotal) * max), canBeAdded);
    const out: EndpointSubset = { ...ss };
    if (truncateReady) {
      out.addresses = take(ss.addresses, toBeAdded);
      delete out.notReadyAddresses;
      canBeAdded -= out.addresses.length;
    } else {
      out.notReadyAddresses = take(ss.notReadyAddresses, toBeAdded);
      canBeAdded -= out.notReadyAddresses.length;
    }
    // Empty lists are left out, as Go's omitempty writes them.
    if (out.addresses?.length === 0) delete out.addresses;
    if (out.notReadyAddresses?.length === 0) delete out.notReadyAddresses;
    return out;
  });
  return true;
}

function take(addrs: EndpointAddress[] | undefined, n: number): EndpointAddress[] {
  const a = addrs ?? [];
  return a.length <= n ? a : a.slice(0, n);
}

/**
 * capacityAnnotationSetCorrectly: false when the subsets are over capacity (they must be
 * truncated) or the annotation is there although they are not.
 */
export function capacityAnnotationSetCorrectly(
  annotations: Readonly<Record<string, string>> | undefined,
  subsets: readonly EndpointSubset[],
): boolean {
  if (count(subsets, "addresses") + count(subsets, "notReadyAddresses") > MAX_CAPACITY) return false;
  return !Object.hasOwn(annotations ?? {}, ENDPOINTS_OVER_CAPACITY);
}
