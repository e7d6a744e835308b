/**
 * The heart of kube's EndpointSlice reconciler (reconcileByPortMapping): the writes for one group
 * of slices sharing a port set. Existing slices keep the endpoints still desired (an endpoint is
 * the same endpoint when its addresses, hostname and target match) and are updated when one of
 * them changed or went; a slice left empty is deleted. The endpoints left over fill first the
 * slices being updated anyway (fullest first), then the one unchanged slice they fit best, then
 * new slices: the fewest writes, never a rebalancing.
 */
import { cloneObject } from "@skiff/client";
import type { AddressType, EndpointPort, EndpointSlice, Service } from "./types.js";
import { endpointsEqualBeyondHash } from "./util/controller-utils.js";
import type { EndpointSet } from "./util/endpoint-set.js";
import { getSliceToFill, newEndpointSlice, setEndpointSliceLabels } from "./utils.js";

/** The desired endpoints of one port set. */
export interface PortGroup {
  ports: EndpointPort[];
  endpoints: EndpointSet;
}

/** The writes a reconcile makes. */
export interface Plan {
  create: EndpointSlice[];
  update: EndpointSlice[];
  delete: EndpointSlice[];
}

/** reconcileByPortMapping: the plan for one group of slices sharing a port set. */
export function reconcileByPortMapping(
  svc: Service,
  existing: readonly EndpointSlice[],
  group: PortGroup,
  o: { addressType: AddressType; maxEndpointsPerSlice: number; controllerName: string },
): Plan {
  const max = o.maxEndpointsPerSlice;
  const desired = group.endpoints;
  const byName = new Map<string, EndpointSlice>();
  const unchanged = new Set<string>();
  const toUpdate = new Set<string>();
  const toDelete = new Set<string>();
  // 1. Keep the endpoints still desired; note the slices that change.
  for (const s of existing) {
    const name = s.metadata.name as string;
    byName.set(name, s);
    const kept = [];
    let changed = false;
    for (const ep of s.endpoints) {
      const want = desired.get(ep);
      if (want === undefined) continue;
      kept.push(want);
      if (!endpointsEqualBeyondHash(want, ep)) changed = true;
      desired.delete(ep);
    }
    const [labels, labelsChanged] = setEndpointSliceLabels(s, svc, o.controllerName);
    if (changed || kept.length !== s.endpoints.length) {
      if (kept.length === 0) toDelete.add(name);
      else {
        const copy = cloneObject(s) as EndpointSlice;
        copy.endpoints = kept;
        copy.metadata.labels = labels;
        byName.set(name, copy);
        toUpdate.add(name);
      }
    } else if (labelsChanged) {
      const copy = cloneObject(s) as EndpointSlice;
      copy.metadata.labels = labels;
      byName.set(name, copy);
      toUpdate.add(name);
    } else unchanged.add(name);
  }
  // 2. Fill the slices being updated anyway, fullest first.
  if (desired.size > 0 && toUpdate.size > 0) {
    const slices = [...toUpdate].map((n) => byName.get(n) as EndpointSlice);
    slices.sort((a, b) => b.endpoints.length - a.endpoints.length);
    for (const s of slices) fill(s, desired, max);
  }
  // 3. The rest: into the unchanged slice they fit best, else into new slices.
  const create: EndpointSlice[] = [];
  while (desired.size > 0) {
    let target: EndpointSlice | undefined;
    if (desired.size < max && unchanged.size > 0) {
      const candidates = [...unchanged].map((n) => byName.get(n) as EndpointSlice);
      target = getSliceToFill(candidates, desired.size, max);
    }
    if (target === undefined) target = newEndpointSlice(svc, group.ports, o.addressType, o.controllerName);
    else {
      target = cloneObject(target) as EndpointSlice;
      byName.set(target.metadata.name as string, target);
    }
    fill(target, desired, max);
    const name = target.metadata.name;
    if (name !== undefined && name !== "") {
      toUpdate.add(name);
      unchanged.delete(name);
    } else create.push(target);
  }
  return {
    create,
    update: [...toUpdate].map((n) => byName.get(n) as EndpointSlice),
    delete: [...toDelete].map((n) => byName.get(n) as EndpointSlice),
  };
}

function fill(slice: EndpointSlice, desired: EndpointSet, max: number): void {
  while (desired.size > 0 && slice.endpoints.length < max) {
    const ep = desired.popAny();
    if (ep !== undefined) slice.endpoints.push(ep);
  }
}
