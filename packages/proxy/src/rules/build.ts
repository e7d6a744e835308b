/**
 * buildRuleset: Services + EndpointSlices + node -> the nftables table kube-proxy's nftables mode
 * would program (pkg/proxy/nftables/proxier.go: setupNFTables and syncProxyRules), for IPv4,
 * ClusterIP and NodePort. Pure: no command runs, the same input gives the same Ruleset.
 */
import type { EndpointSlice, Protocol, Service, ServicePort } from "../api-types.js";
import { baseRuleset } from "./base.js";
import { FragmentBuilder, type RuleSink, type RulesetCache, type ServiceFragment } from "./cache.js";
import { categorizeEndpoints, cmp, endpointsForPort, indexSlices, isIPv4 } from "./endpoints.js";
import {
  AFFINITY_PREFIX,
  CLUSTER_POLICY_PREFIX,
  ENDPOINT_PREFIX,
  EXTERNAL_PREFIX,
  LOCAL_POLICY_PREFIX,
  MARK_MASQ_CHAIN,
  NO_ENDPOINT_NODEPORTS_MAP,
  NO_ENDPOINT_SERVICES_MAP,
  REJECT_CHAIN,
  SERVICE_IPS_MAP,
  SERVICE_NODEPORTS_MAP,
  servicePortChainNameBase,
  servicePortEndpointChainNameBase,
} from "./names.js";
import type { ProxyRulesInput, Ruleset, ServicePortInfo } from "./types.js";

const PROTOCOLS: ReadonlySet<string> = new Set<Protocol>(["TCP", "UDP", "SCTP"]);
/** core/v1 DefaultClientIPServiceAffinitySeconds (3 hours). */
const DEFAULT_AFFINITY_SECONDS = 10800;

/** kube's ShouldSkipService plus the IPv4-only scope: headless, ExternalName, non-IPv4. */
function skipService(svc: Service): boolean {
  const spec = svc.spec;
  if (spec === undefined || spec.type === "ExternalName") return true;
  return !isIPv4(spec.clusterIP);
}

/**
 * With a `cache` (one per caller, kept across builds), a Service whose object and EndpointSlice
 * objects are the same as in the previous build reuses that build's fragment instead of
 * computing it again; the result is the same as without the cache.
 */
export function buildRuleset(input: ProxyRulesInput, cache?: RulesetCache): Ruleset {
  const b = baseRuleset(input.options);
  const slices = indexSlices(input.endpointSlices);
  const services = [...input.services].sort(
    (x, y) => cmp(x.metadata.namespace, y.metadata.namespace) || cmp(x.metadata.name, y.metadata.name),
  );
  cache?.begin(input);
  const servicePorts: ServicePortInfo[] = [];
  for (const svc of services) {
    const key = `${svc.metadata.namespace}/${svc.metadata.name}`;
    const own = slices.get(key) ?? [];
    let fragment = cache?.get(key, svc, own);
    if (fragment === undefined) {
      fragment = serviceFragment(input, own, svc);
      cache?.put(key, svc, own, fragment);
    }
    b.merge(fragment);
    servicePorts.push(...fragment.servicePorts);
  }
  cache?.end();
  return b.finish(servicePorts);
}

/** Everything one Service adds to the table, its ports in a fixed order. */
function serviceFragment(
  input: ProxyRulesInput,
  slices: readonly EndpointSlice[],
  svc: Service,
): ServiceFragment {
  const f = new FragmentBuilder();
  const servicePorts: ServicePortInfo[] = [];
  if (!skipService(svc)) {
    const ports = [...(svc.spec?.ports ?? [])].sort(
      (x, y) => cmp(x.name ?? "", y.name ?? "") || cmp(x.protocol ?? "TCP", y.protocol ?? "TCP"),
    );
    for (const port of ports) {
      if (!PROTOCOLS.has(port.protocol ?? "TCP")) continue;
      servicePorts.push(addServicePort(f, input, slices, svc, port));
    }
  }
  return f.finish(servicePorts);
}

/** One Service port: its map elements and chains, as the body of kube's syncProxyRules loop. */
function addServicePort(
  b: RuleSink,
  input: ProxyRulesInput,
  slices: readonly EndpointSlice[],
  svc: Service,
  port: ServicePort,
): ServicePortInfo {
  const spec = svc.spec ?? {};
  const { namespace, name } = svc.metadata;
  const protocolName = (port.protocol ?? "TCP") as Protocol;
  const proto = protocolName.toLowerCase();
  const portName = port.name ?? "";
  const clusterIP = spec.clusterIP as string;
  const cidr = input.options.clusterCIDR;
  const base = servicePortChainNameBase(namespace, name, proto, portName);
  const clusterPolicyChain = CLUSTER_POLICY_PREFIX + base;
  const localPolicyChain = LOCAL_POLICY_PREFIX + base;
  const externalChain = EXTERNAL_PREFIX + base;

  // kube's BaseServicePortInfo: NodePorts are what make a port "externally accessible" here
  // (externalIPs and load balancers are not programmed).
  const nodePort =
    (spec.type === "NodePort" || spec.type === "LoadBalancer") &&
    port.nodePort !== undefined &&
    port.nodePort > 0
      ? port.nodePort
      : 0;
  const externallyAccessible = nodePort > 0;
  const externalPolicyLocal = externallyAccessible && spec.externalTrafficPolicy === "Local";
  const internalPolicyLocal = spec.internalTrafficPolicy === "Local";
  // Cluster endpoints are also needed under eTP Local, for the short-circuit rules below.
  const usesCluster = !internalPolicyLocal || externallyAccessible;
  const usesLocal = internalPolicyLocal || externalPolicyLocal;
  const sticky = spec.sessionAffinity === "ClientIP";
  const stickySeconds = spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_AFFINITY_SECONDS;

  const endpoints = endpointsForPort(port, slices, input.nodeName);
  const cat = categorizeEndpoints(endpoints, usesCluster, usesLocal);
  const chainOf = (ep: { ip: string; port: number }) =>
    servicePortEndpointChainNameBase(namespace, name, proto, portName, ep.ip, ep.port);

  const hasEndpoints = cat.hasAnyEndpoints;
  const usesClusterChain = cat.clusterEndpoints.length > 0 && usesCluster;
  const usesLocalChain = cat.localEndpoints.length > 0 && usesLocal;
  const internalChain = internalPolicyLocal ? localPolicyChain : clusterPolicyChain;
  const hasInternalEndpoints = hasEndpoints && (!internalPolicyLocal || cat.localEndpoints.length > 0);
  const externalPolicyChain = externalPolicyLocal ? localPolicyChain : clusterPolicyChain;
  const hasExternalEndpoints = hasEndpoints && (!externalPolicyLocal || cat.localEndpoints.length > 0);
  const usesExternalChain = hasEndpoints && externallyAccessible;

  // No endpoints at all: REJECT (connection refused). Endpoints elsewhere but none here under a
  // Local policy: DROP, as kube.
  const internalVerdict = hasEndpoints ? "drop" : `goto ${REJECT_CHAIN}`;
  const externalVerdict = internalVerdict;
  const vip = `${clusterIP} . ${proto} . ${port.port}`;
  if (hasInternalEndpoints) b.element(SERVICE_IPS_MAP, `${vip} : goto ${internalChain}`);
  else b.element(NO_ENDPOINT_SERVICES_MAP, `${vip} : ${internalVerdict}`);
  if (nodePort > 0) {
    if (hasEndpoints) b.element(SERVICE_NODEPORTS_MAP, `${proto} . ${nodePort} : goto ${externalChain}`);
    if (!hasExternalEndpoints)
      b.element(NO_ENDPOINT_NODEPORTS_MAP, `${proto} . ${nodePort} : ${externalVerdict}`);
  }

  // ClusterIP traffic from outside the cluster CIDR may leave the node again: masquerade it.
  if (hasInternalEndpoints && cidr !== undefined)
    b.rule(
      internalChain,
      `ip daddr ${clusterIP} ${proto} dport ${port.port} ip saddr != ${cidr} jump ${MARK_MASQ_CHAIN}`,
    );

  if (usesExternalChain) {
    b.chain(externalChain);
    if (!externalPolicyLocal) {
      // Cluster policy may send to another node: masquerade so that replies come back here.
      b.rule(externalChain, `jump ${MARK_MASQ_CHAIN}`);
    } else {
      // Pod and node traffic to a NodePort is not subject to the Local policy (kube's
      // "short-circuit" rules); the node's own traffic still needs masquerading.
      if (cidr !== undefined) b.rule(externalChain, `ip saddr ${cidr} goto ${clusterPolicyChain}`);
      b.rule(externalChain, `fib saddr type local jump ${MARK_MASQ_CHAIN}`);
      b.rule(externalChain, `fib saddr type local goto ${clusterPolicyChain}`);
    }
    if (hasExternalEndpoints) b.rule(externalChain, `goto ${externalPolicyChain}`);
  }

  if (sticky)
    for (const ep of cat.allReachable)
      b.set(AFFINITY_PREFIX + chainOf(ep), {
        kind: "set",
        declaration: `type ipv4_addr; flags dynamic,timeout; timeout ${stickySeconds}s`,
        elements: [],
      });

  const policyRules = (chain: string, eps: typeof cat.allReachable) => {
    b.chain(chain);
    // Session affinity first: a client seen within the timeout goes back to its endpoint.
    if (sticky)
      for (const ep of eps)
        b.rule(chain, `ip saddr @${AFFINITY_PREFIX}${chainOf(ep)} goto ${ENDPOINT_PREFIX}${chainOf(ep)}`);
    const arms = eps.map((ep, i) => `${i} : goto ${ENDPOINT_PREFIX}${chainOf(ep)}`);
    b.rule(chain, `numgen random mod ${eps.length} vmap { ${arms.join(", ")} }`);
  };
  if (usesClusterChain) policyRules(clusterPolicyChain, cat.clusterEndpoints);
  if (usesLocalChain) policyRules(localPolicyChain, cat.localEndpoints);

  for (const ep of cat.allReachable) {
    const chain = ENDPOINT_PREFIX + chainOf(ep);
    b.chain(chain);
    // Hairpin: a pod reaching its own Service must see the reply come from the Service.
    b.rule(chain, `ip saddr ${ep.ip} jump ${MARK_MASQ_CHAIN}`);
    if (sticky) b.rule(chain, `update @${AFFINITY_PREFIX}${chainOf(ep)} { ip saddr }`);
    b.rule(chain, `meta l4proto ${proto} dnat to ${ep.ip}:${ep.port}`);
  }

  const info: ServicePortInfo = {
    name: portName === "" ? `${namespace}/${name}` : `${namespace}/${name}:${portName}`,
    protocol: protocolName,
    clusterIP,
    port: port.port,
    endpoints: cat.allReachable.map((ep) => `${ep.ip}:${ep.port}`),
  };
  if (nodePort > 0) info.nodePort = nodePort;
  return info;
}
