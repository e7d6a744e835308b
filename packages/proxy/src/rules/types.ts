/**
 * The contract of kube-proxy's rule generation (nftables mode): a pure function from the
 * Services and EndpointSlices the proxy sees, and the node it runs on, to a Ruleset; and two
 * renderings of it for `nft -f`: a full sync (the whole table replaced atomically) and a
 * partial sync (only what changed since the previous Ruleset), as kube-proxy's nftables
 * Proxier.syncProxyRules does. Nothing here runs a command.
 */
import type { EndpointSlice, Protocol, Service } from "../api-types.js";

export interface ProxyRulesOptions {
  /** The nftables table (family ip); kube-proxy's is "kube-proxy". */
  table: string;
  /** --masquerade-bit: the fwmark bit that asks for SNAT (kube: 14, i.e. 0x4000). */
  masqueradeBit: number;
  /** --cluster-cidr: traffic to a ClusterIP from outside it is masqueraded (optional, as kube). */
  clusterCIDR?: string;
}

export interface ProxyRulesInput {
  /** The node this proxy runs on (endpoints' nodeName for the Local traffic policies). */
  nodeName: string;
  services: readonly Service[];
  endpointSlices: readonly EndpointSlice[];
  options: ProxyRulesOptions;
}

/** One Service port as programmed, for conntrack clean-up and metrics. */
export interface ServicePortInfo {
  /** "namespace/name:portName" (portName may be empty), kube's ServicePortName.String(). */
  name: string;
  protocol: Protocol;
  clusterIP: string;
  port: number;
  nodePort?: number;
  /** "ip:port" of every endpoint the rules send to (ready ones, or serving-terminating). */
  endpoints: string[];
}

/** An nftables set or map with its declaration and elements. */
export interface NftSetDef {
  /** e.g. "type ipv4_addr . inet_proto . inet_service : verdict" with flags/timeout as needed. */
  declaration: string;
  elements: string[];
}

export interface Ruleset {
  table: string;
  /** Chain name -> its body lines (base chains start with their "type ... hook ..." line). */
  chains: Map<string, string[]>;
  /** Set/map name -> declaration and elements. */
  sets: Map<string, NftSetDef>;
  servicePorts: ServicePortInfo[];
}
