/**
 * Endpoint selection for one Service port: which EndpointSlice endpoints back it (kube-proxy's
 * EndpointSliceCache), and which of those Cluster and Local traffic policy use (kube-proxy's
 * CategorizeEndpoints in pkg/proxy/topology.go, without topology hints).
 */
import type { EndpointSlice, Protocol, ServicePort } from "../api-types.js";
import { SERVICE_NAME_LABEL } from "../api-types.js";

export interface EndpointInfo {
  ip: string;
  port: number;
  /** The endpoint runs on the proxy's own node (kube's IsLocal). */
  isLocal: boolean;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function isIPv4(s: string | undefined): s is string {
  return s !== undefined && IPV4.test(s);
}

/** EndpointSlices by "namespace/serviceName", each list sorted by slice name (deterministic). */
export function indexSlices(slices: readonly EndpointSlice[]): Map<string, EndpointSlice[]> {
  const index = new Map<string, EndpointSlice[]>();
  for (const slice of slices) {
    const svc = slice.metadata.labels?.[SERVICE_NAME_LABEL];
    if (svc === undefined || slice.addressType !== "IPv4") continue;
    const key = `${slice.metadata.namespace}/${svc}`;
    const list = index.get(key);
    if (list === undefined) index.set(key, [slice]);
    else list.push(slice);
  }
  for (const list of index.values()) list.sort((a, b) => cmp(a.metadata.name, b.metadata.name));
  return index;
}

/**
 * The endpoints of one Service port, matched by port name and protocol (the EndpointSlice
 * controller already resolved named target ports into each slice's port number). An address seen
 * in several slices is kept once, a ready copy winning, as the EndpointSliceCache merges them.
 */
export function endpointsForPort(
  port: ServicePort,
  slices: readonly EndpointSlice[],
  nodeName: string,
): EndpointInfo[] {
  const portName = port.name ?? "";
  const protocol: Protocol = port.protocol ?? "TCP";
  const byAddress = new Map<string, EndpointInfo>();
  for (const slice of slices) {
    const match = (slice.ports ?? []).find(
      (p) => (p.name ?? "") === portName && (p.protocol ?? "TCP") === protocol,
    );
    const num = match?.port;
    if (num === undefined || !Number.isInteger(num) || num <= 0 || num > 65535) continue;
    for (const ep of slice.endpoints ?? []) {
      const ip = ep.addresses?.[0];
      if (!isIPv4(ip)) continue;
      // discovery/v1 (and kube's EndpointSliceCache): nil ready and nil serving mean true,
      // nil terminating means false.
      const ready = ep.conditions?.ready ?? true;
      const info: EndpointInfo = {
        ip,
        port: num,
        isLocal: ep.nodeName !== undefined && ep.nodeName === nodeName,
        ready,
        serving: ep.conditions?.serving ?? true,
        terminating: ep.conditions?.terminating ?? false,
      };
      const key = `${ip}:${num}`;
      const seen = byAddress.get(key);
      if (seen === undefined || (!seen.ready && info.ready)) byAddress.set(key, info);
    }
  }
  return [...byAddress.values()].sort(compareEndpoints);
}

export interface CategorizedEndpoints {
  /** Endpoints for Cluster traffic policy (ready ones, else serving-terminating ones). */
  clusterEndpoints: EndpointInfo[];
  /** Endpoints on this node for Local traffic policy (ready ones, else serving-terminating ones). */
  localEndpoints: EndpointInfo[];
  /** Every endpoint some rule may send to: the union of the two above. */
  allReachable: EndpointInfo[];
  /** The Service has usable endpoints somewhere in the cluster. */
  hasAnyEndpoints: boolean;
}

/** kube's CategorizeEndpoints: which endpoints each traffic policy uses. */
export function categorizeEndpoints(
  endpoints: readonly EndpointInfo[],
  usesCluster: boolean,
  usesLocal: boolean,
): CategorizedEndpoints {
  let clusterEndpoints: EndpointInfo[] = [];
  let localEndpoints: EndpointInfo[] = [];
  let hasAnyEndpoints = false;
  if (usesCluster) {
    clusterEndpoints = endpoints.filter((ep) => ep.ready);
    // With no ready endpoint anywhere, fall back to serving-terminating ones so that
    // connections are not dropped while a rollout finishes (KEP-1669).
    if (clusterEndpoints.length === 0)
      clusterEndpoints = endpoints.filter((ep) => ep.serving && ep.terminating);
    hasAnyEndpoints = clusterEndpoints.length > 0;
  }
  if (!usesLocal)
    return { clusterEndpoints, localEndpoints, allReachable: clusterEndpoints, hasAnyEndpoints };

  let localReady = false;
  let localServingTerminating = false;
  for (const ep of endpoints) {
    if (ep.ready) {
      hasAnyEndpoints = true;
      if (ep.isLocal) localReady = true;
    } else if (ep.serving && ep.terminating) {
      hasAnyEndpoints = true;
      if (ep.isLocal) localServingTerminating = true;
    }
  }
  if (localReady) localEndpoints = endpoints.filter((ep) => ep.isLocal && ep.ready);
  else if (localServingTerminating)
    localEndpoints = endpoints.filter((ep) => ep.isLocal && ep.serving && ep.terminating);
  if (!usesCluster)
    return { clusterEndpoints, localEndpoints, allReachable: localEndpoints, hasAnyEndpoints };

  const union = new Map<string, EndpointInfo>();
  for (const ep of [...clusterEndpoints, ...localEndpoints]) union.set(`${ep.ip}:${ep.port}`, ep);
  return {
    clusterEndpoints,
    localEndpoints,
    allReachable: [...union.values()].sort(compareEndpoints),
    hasAnyEndpoints,
  };
}

function ipToNumber(ip: string): number {
  return ip.split(".").reduce((acc, octet) => acc * 256 + Number(octet), 0);
}

/** By address (numerically), then port: the order of the numgen vmap. */
export function compareEndpoints(a: EndpointInfo, b: EndpointInfo): number {
  return ipToNumber(a.ip) - ipToNumber(b.ip) || a.port - b.port;
}

export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
