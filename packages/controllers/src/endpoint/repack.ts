/**
 * The canonical form of Endpoints subsets (kube's pkg/api/v1/endpoints RepackSubsets and
 * SortSubsets): subsets expanded to (address, port, ready) and packed again so that addresses
 * offering the same ports share one subset, an address not ready on any port is not ready,
 * addresses sorted by IP and uid, ports and subsets in a stable order. Two equal sets of
 * endpoints then compare equal, whatever order the pods were listed in.
 */
import { createHash } from "node:crypto";
import type { CoreEndpointPort, EndpointAddress, EndpointSubset } from "../endpointslice/types.js";

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The sentinel port of a subset without ports (a headless Service without ports). */
const NO_PORT = -1;

const portKey = (p: CoreEndpointPort) =>
  JSON.stringify([p.name ?? "", p.port, p.protocol ?? "", p.appProtocol ?? ""]);

/** addressKey: IP and target uid (the same IP from two pods is two addresses). */
const addressKey = (a: EndpointAddress) => `${a.ip}/${a.targetRef?.uid ?? ""}`;

export function repackSubsets(subsets: readonly EndpointSubset[]): EndpointSubset[] {
  const allAddrs = new Map<string, EndpointAddress>();
  // port key -> the port and (address key -> ready)
  const byPort = new Map<string, { port: CoreEndpointPort; addrs: Map<string, boolean> }>();
  const map = (addr: EndpointAddress, port: CoreEndpointPort, ready: boolean) => {
    const ak = addressKey(addr);
    if (!allAddrs.has(ak)) allAddrs.set(ak, addr);
    const pk = portKey(port);
    let entry = byPort.get(pk);
    if (entry === undefined) {
      entry = { port, addrs: new Map() };
      byPort.set(pk, entry);
    }
    // Not ready wins over ready (mapAddressByPort).
    const was = entry.addrs.get(ak);
    if (was === undefined || was) entry.addrs.set(ak, ready);
  };
  for (const ss of subsets) {
    const ports = (ss.ports ?? []).length === 0 ? [{ port: NO_PORT }] : (ss.ports as CoreEndpointPort[]);
    for (const port of ports) {
      for (const a of ss.addresses ?? []) map(a, port, true);
      for (const a of ss.notReadyAddresses ?? []) map(a, port, false);
    }
  }
  // Group ports by the exact set of (address, ready) offering them.
  const groups = new Map<string, { addrs: Map<string, boolean>; ports: CoreEndpointPort[] }>();
  for (const { port, addrs } of byPort.values()) {
    const key = JSON.stringify([...addrs].sort(([a], [b]) => compare(a, b)));
    let g = groups.get(key);
    if (g === undefined) {
      g = { addrs, ports: [] };
      groups.set(key, g);
    }
    if (port.port > 0) g.ports.push(port);
  }
  const out: EndpointSubset[] = [];
  for (const g of groups.values()) {
    const ready: EndpointAddress[] = [];
    const notReady: EndpointAddress[] = [];
    for (const [ak, isReady] of g.addrs)
      (isReady ? ready : notReady).push(allAddrs.get(ak) as EndpointAddress);
    const ss: EndpointSubset = {};
    if (ready.length > 0) ss.addresses = ready;
    if (notReady.length > 0) ss.notReadyAddresses = notReady;
    if (g.ports.length > 0) ss.ports = g.ports;
    out.push(ss);
  }
  return sortSubsets(out);
}

const hash = (v: unknown) => createHash("md5").update(JSON.stringify(v)).digest("hex");

const byIpAndUid = (a: EndpointAddress, b: EndpointAddress) =>
  a.ip === b.ip ? compare(a.targetRef?.uid ?? "", b.targetRef?.uid ?? "") : compare(a.ip, b.ip);

/** SortSubsets: addresses by IP then uid, ports and subsets by a hash of their content. */
export function sortSubsets(subsets: EndpointSubset[]): EndpointSubset[] {
  for (const ss of subsets) {
    ss.addresses?.sort(byIpAndUid);
    ss.notReadyAddresses?.sort(byIpAndUid);
    ss.ports?.sort((a, b) => compare(hash(a), hash(b)));
  }
  return subsets
    .map((ss) => ({ ss, h: hash(ss) }))
    .sort((a, b) => compare(a.h, b.h))
    .map((x) => x.ss);
}
