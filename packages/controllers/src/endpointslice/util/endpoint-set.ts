/**
 * kube's EndpointSet and PortMapKey (k8s.io/endpointslice/util endpointset.go): endpoints keyed
 * by what identifies them (sorted addresses, hostname, target namespace and name), so an existing
 * slice's endpoint is found among the desired ones whatever else changed; and the key of a set of
 * ports, by which endpoints (and slices) are grouped.
 */
import type { Endpoint, EndpointPort } from "../types.js";

/** hashEndpoint's input: what makes two endpoints the same endpoint. */
export function endpointHash(e: Endpoint): string {
  return JSON.stringify([
    [...e.addresses].sort(),
    e.hostname ?? "",
    e.targetRef?.namespace ?? "",
    e.targetRef?.name ?? "",
  ]);
}

/** NewPortMapKey: the ports' identity, independent of their order. */
export function portMapKey(ports: readonly EndpointPort[] | undefined): string {
  const keys = (ports ?? []).map((p) =>
    JSON.stringify([p.name ?? "", p.port ?? null, p.protocol ?? "", p.appProtocol ?? null]),
  );
  return JSON.stringify(keys.sort());
}

/** EndpointSet: a set of endpoints by hash, in insertion order (so PopAny is deterministic). */
export class EndpointSet {
  private readonly items = new Map<string, Endpoint>();

  insert(e: Endpoint): void {
    this.items.set(endpointHash(e), e);
  }

  /** The desired endpoint with the same hash as `e`, if any. */
  get(e: Endpoint): Endpoint | undefined {
    return this.items.get(endpointHash(e));
  }

  delete(e: Endpoint): void {
    this.items.delete(endpointHash(e));
  }

  /** Takes one endpoint out of the set. */
  popAny(): Endpoint | undefined {
    const first = this.items.entries().next();
    if (first.done === true) return undefined;
    const [key, e] = first.value;
    this.items.delete(key);
    return e;
  }

  get size(): number {
    return this.items.size;
  }
}
