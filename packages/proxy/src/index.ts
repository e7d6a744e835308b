export type * from "./api-types.js";
export { SERVICE_NAME_LABEL } from "./api-types.js";
export {
  ClusterDns,
  type ClusterDnsOptions,
  DEFAULT_CLUSTER_DNS,
  DEFAULT_CLUSTER_DOMAIN,
} from "./dns/dns.js";
export { DEFAULT_TTL as DNS_DEFAULT_TTL, type DnsStore } from "./dns/records.js";
export { type DnsTransport, handleQuery, type QueryOptions } from "./dns/server.js";
export {
  type DnsHandler,
  type DnsListener,
  DnsSocketServer,
  type DnsSocketServerOptions,
  listenTcp as listenDnsTcp,
  listenUdp as listenDnsUdp,
} from "./dns/transport.js";
export {
  Conntrack,
  type ConntrackFlow,
  type ConntrackInterface,
  type ConntrackOptions,
  conntrackArgs,
  staleConntrackFlows,
} from "./proxier/conntrack.js";
export {
  goTimeString,
  type ProxierHealth,
  ProxierHealthServer,
  type ProxierHealthServerOptions,
} from "./proxier/healthz.js";
export { Nft, NftError, type NftInterface, type NftOptions } from "./proxier/nft.js";
export { type ProxyConfig, parseProxyFlags, proxyFlags } from "./proxier/options.js";
export {
  PROXY_LABEL_SELECTOR,
  PROXY_SERVICE_FIELD_SELECTOR,
  Proxier,
  type ProxierOptions,
  type ProxyRules,
  type SyncInfo,
} from "./proxier/proxier.js";
export { BoundedFrequencyRunner, type BoundedFrequencyRunnerOptions } from "./proxier/runner.js";
export { buildRuleset } from "./rules/build.js";
export { RulesetCache } from "./rules/cache.js";
export { renderPartialSync } from "./rules/partial.js";
export { renderFullSync } from "./rules/render.js";
export type {
  NftSetDef,
  ProxyRulesInput,
  ProxyRulesOptions,
  Ruleset,
  ServicePortInfo,
} from "./rules/types.js";
