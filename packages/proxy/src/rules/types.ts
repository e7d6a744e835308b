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
  /** kube's ServicePortName.String(): "namespace/name:portName", or "namespace/name" when unnamed. */
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
  /** A set holds keys; a map holds "key : value" elements (here verdict maps). */
  kind: "set" | "map";
  /**
   * The body's statements joined by "; ", e.g. "type ipv4_addr . inet_proto . inet_service : verdict"
   * or "type ipv4_addr; flags dynamic,timeout; timeout 10800s".
   */
  declaration: string;
  /** Sorted; a map's element is "KEY : VALUE" (the key never contains " : "). */
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
