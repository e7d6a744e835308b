/**
 * kube-proxy's metrics (pkg/proxy/metrics), with kube's names, help texts and buckets, on the
 * Proxier's own prom-client Registry.
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/** metrics.ExponentialBuckets(0.001, 2, 15): 1 ms to about 16 s. */
const syncBuckets = Array.from({ length: 15 }, (_, i) => 0.001 * 2 ** i);

/** metrics.LinearBuckets(start, width, count). */
const linear = (start: number, width: number, count: number) =>
  Array.from({ length: count }, (_, i) => start + i * width);

/** NetworkProgrammingLatency's buckets: 0.25 s, 0.5 s, 1..59 s, 60..115 s, 2..5 min. */
const programmingBuckets = [
  ...linear(0.25, 0.25, 2),
  ...linear(1, 1, 59),
  ...linear(60, 5, 12),
  ...linear(120, 30, 7),
];

export interface ProxierMetrics {
  syncProxyRulesLatency: Histogram;
  syncFullProxyRulesLatency: Histogram;
  syncPartialProxyRulesLatency: Histogram;
  syncProxyRulesLastTimestamp: Gauge;
  syncProxyRulesLastQueuedTimestamp: Gauge;
  networkProgrammingLatency: Histogram;
  endpointChangesPending: Gauge;
  endpointChangesTotal: Counter;
  serviceChangesPending: Gauge;
  serviceChangesTotal: Counter;
  nftablesSyncFailuresTotal: Counter;
  nftablesCleanupFailuresTotal: Counter;
  proxyHealthzTotal: Counter<"code">;
  proxyLivezTotal: Counter<"code">;
}

export function proxierMetrics(registry: Registry): ProxierMetrics {
  const registers = [registry];
  return {
    syncProxyRulesLatency: new Histogram({
      name: "kubeproxy_sync_proxy_rules_duration_seconds",
      help: "SyncProxyRules latency in seconds",
      buckets: syncBuckets,
      registers,
    }),
    syncFullProxyRulesLatency: new Histogram({
      name: "kubeproxy_sync_full_proxy_rules_duration_seconds",
      help: "SyncProxyRules latency in seconds for full resyncs",
      buckets: syncBuckets,
      registers,
    }),
    syncPartialProxyRulesLatency: new Histogram({
      name: "kubeproxy_sync_partial_proxy_rules_duration_seconds",
      help: "SyncProxyRules latency in seconds for partial resyncs",
      buckets: syncBuckets,
      registers,
    }),
    syncProxyRulesLastTimestamp: new Gauge({
      name: "kubeproxy_sync_proxy_rules_last_timestamp_seconds",
      help: "The last time proxy rules were successfully synced",
      registers,
    }),
    syncProxyRulesLastQueuedTimestamp: new Gauge({
      name: "kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds",
      help: "The last time a sync of proxy rules was queued",
      registers,
    }),
    networkProgrammingLatency: new Histogram({
      name: "kubeproxy_network_programming_duration_seconds",
      help: "In Cluster Network Programming Latency in seconds",
      buckets: programmingBuckets,
      registers,
    }),
    endpointChangesPending: new Gauge({
      name: "kubeproxy_sync_proxy_rules_endpoint_changes_pending",
      help: "Pending proxy rules Endpoint changes",
      registers,
    }),
    endpointChangesTotal: new Counter({
      name: "kubeproxy_sync_proxy_rules_endpoint_changes_total",
      help: "Cumulative proxy rules Endpoint changes",
      registers,
    }),
    serviceChangesPending: new Gauge({
      name: "kubeproxy_sync_proxy_rules_service_changes_pending",
      help: "Pending proxy rules Service changes",
      registers,
    }),
    serviceChangesTotal: new Counter({
      name: "kubeproxy_sync_proxy_rules_service_changes_total",
      help: "Cumulative proxy rules Service changes",
      registers,
    }),
    nftablesSyncFailuresTotal: new Counter({
      name: "kubeproxy_sync_proxy_rules_nftables_sync_failures_total",
      help: "Cumulative proxy nftables sync failures",
      registers,
    }),
    nftablesCleanupFailuresTotal: new Counter({
      name: "kubeproxy_sync_proxy_rules_nftables_cleanup_failures_total",
      help: "Cumulative proxy nftables cleanup failures",
      registers,
    }),
    proxyHealthzTotal: new Counter({
      name: "kubeproxy_proxy_healthz_total",
      help: "Cumulative proxy healthz HTTP status",
      labelNames: ["code"] as const,
      registers,
    }),
    proxyLivezTotal: new Counter({
      name: "kubeproxy_proxy_livez_total",
      help: "Cumulative proxy livez HTTP status",
      labelNames: ["code"] as const,
      registers,
    }),
  };
}
