/**
 * kube-controller-manager's component configuration, as its flags spell it: worker counts per
 * controller and the tunables of node lifecycle, pod GC, garbage collection and the others.
 * Durations are milliseconds here; the flags take Go durations.
 */
export interface ControllerManagerConfig {
  /** --concurrent-*-syncs, by controller name (kube's defaults in DEFAULT_CONCURRENCY). */
  concurrency: Record<string, number>;
  /** --node-monitor-period (5 s): how often node lifecycle checks node health. */
  nodeMonitorPeriodMs: number;
  /** --node-monitor-grace-period (40 s): a node silent this long turns Ready=Unknown. */
  nodeMonitorGracePeriodMs: number;
  /** --node-startup-grace-period (1 min). */
  nodeStartupGracePeriodMs: number;
  /** --node-eviction-rate (0.1 nodes/s) and --secondary-node-eviction-rate (0.01). */
  nodeEvictionRate: number;
  secondaryNodeEvictionRate: number;
  /** --unhealthy-zone-threshold (0.55) and --large-cluster-size-threshold (50). */
  unhealthyZoneThreshold: number;
  largeClusterSizeThreshold: number;
  /** --terminated-pod-gc-threshold (12500; 0 disables). */
  terminatedPodGcThreshold: number;
  /** --cluster-cidr (10.244.0.0/16), --node-cidr-mask-size (24), --allocate-node-cidrs. */
  clusterCidr: string;
  nodeCidrMaskSize: number;
  allocateNodeCidrs: boolean;
  /** --service-cluster-ip-range, for node IPAM to leave alone. */
  serviceClusterIpRange: string;
  /** --resource-quota-sync-period (5 min). */
  resourceQuotaSyncPeriodMs: number;
  /** --namespace-sync-period (5 min). */
  namespaceSyncPeriodMs: number;
  /** --horizontal-pod-autoscaler-sync-period (15 s). */
  hpaSyncPeriodMs: number;
  /** --enable-garbage-collector (true): off, the garbage collector does not start. */
  enableGarbageCollector: boolean;
  /** The cluster CA (PEM) the root-ca-cert-publisher puts in every namespace; "" when unknown. */
  rootCaPem: string;
  /** --max-endpoints-per-slice (100): the most endpoints the EndpointSlice controller puts in one slice. */
  maxEndpointsPerSlice: number;
  /**
   * --endpoint-updates-batch-period (0): how long the endpoint and EndpointSlice controllers wait
   * after a pod change before syncing its Services, to batch changes.
   */
  endpointUpdatesBatchPeriodMs: number;
  // job, cronjob, ttl-after-finished (no kube flags: kube's package variables, set here for tests)
  /** job's DefaultJobPodFailureBackOff (10 s): the delay before a failed pod's replacement. */
  jobPodFailureBackoffMs: number;
  /** job's MaxJobPodFailureBackOff (10 min): the cap of that delay as it doubles. */
  jobPodFailureBackoffMaxMs: number;
  /** job's syncJobBatchPeriod (1 s): pod events for one Job within it make one sync. */
  jobSyncBatchPeriodMs: number;

  /**
   * --feature-gates=MaxUnavailableStatefulSet=true (alpha in kube 1.32, off by default): StatefulSet
   * rolling updates replace up to rollingUpdate.maxUnavailable pods at once instead of one.
   */
  maxUnavailableStatefulSet: boolean;
}

/** kube-controller-manager's default worker counts (its --concurrent-*-syncs flags). */
export const DEFAULT_CONCURRENCY: Record<string, number> = {
  deployment: 5,
  replicaset: 5,
  statefulset: 5,
  daemonset: 2,
  job: 5,
  cronjob: 5,
  endpoint: 5,
  endpointslice: 5,
  "endpointslice-mirroring": 5,
  namespace: 10,
  "resource-quota": 5,
  "service-account": 5,
  "garbage-collector": 20,
  "ttl-after-finished": 5,
  disruption: 1,
  "root-ca-cert-publisher": 5,
  "horizontal-pod-autoscaler": 5,
};

export function defaultControllerManagerConfig(): ControllerManagerConfig {
  return {
    concurrency: { ...DEFAULT_CONCURRENCY },
    nodeMonitorPeriodMs: 5_000,
    nodeMonitorGracePeriodMs: 40_000,
    nodeStartupGracePeriodMs: 60_000,
    nodeEvictionRate: 0.1,
    secondaryNodeEvictionRate: 0.01,
    unhealthyZoneThreshold: 0.55,
    largeClusterSizeThreshold: 50,
    terminatedPodGcThreshold: 12_500,
    clusterCidr: "10.244.0.0/16",
    nodeCidrMaskSize: 24,
    allocateNodeCidrs: true,
    serviceClusterIpRange: "10.96.0.0/12",
    resourceQuotaSyncPeriodMs: 300_000,
    namespaceSyncPeriodMs: 300_000,
    hpaSyncPeriodMs: 15_000,
    enableGarbageCollector: true,
    rootCaPem: "",
    maxEndpointsPerSlice: 100,
    endpointUpdatesBatchPeriodMs: 0,
    jobPodFailureBackoffMs: 10_000,
    jobPodFailureBackoffMaxMs: 600_000,
    jobSyncBatchPeriodMs: 1_000,

    maxUnavailableStatefulSet: false,
  };
}

/** The worker count for a controller: its flag's value, else 1. */
export function concurrencyOf(config: ControllerManagerConfig, name: string): number {
  return Math.max(1, config.concurrency[name] ?? 1);
}
