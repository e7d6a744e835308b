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
export { buildRuleset } from "./rules/build.js";
export { renderPartialSync } from "./rules/partial.js";
export { renderFullSync } from "./rules/render.js";
export type {
  NftSetDef,
  ProxyRulesInput,
  ProxyRulesOptions,
  Ruleset,
  ServicePortInfo,
} from "./rules/types.js";
