/**
 * `skiff controller-manager` flags, spelled as kube-controller-manager's: --kubeconfig,
 * --controllers, the --leader-elect family (Lease kube-system/kube-controller-manager), the
 * --concurrent-*-syncs worker counts, and the node lifecycle, pod GC, IPAM, quota and namespace
 * tunables, with kube's defaults.
 */
import { readFileSync } from "node:fs";
import { type ClientConfig, configFromKubeconfig } from "@skiff/client";
import {
  durationFlag,
  type FlagDefs,
  FlagError,
  FlagSet,
  hostPortFlag,
  intFlag,
  invalidFlag,
  leaderElectionConfiguration,
  leaderElectionFlags,
  listFlag,
} from "@skiff/component-base";
import { type ControllerManagerConfig, defaultControllerManagerConfig } from "./config.js";
import { controllerDescriptors, unknownControllers } from "./registry.js";

/** kube's --concurrent-*-syncs flags and the concurrency keys they set. */
export const CONCURRENCY_FLAGS: Readonly<Record<string, string>> = {
  "concurrent-deployment-syncs": "deployment",
  "concurrent-replicaset-syncs": "replicaset",
  "concurrent-statefulset-syncs": "statefulset",
  "concurrent-daemonset-syncs": "daemonset",
  "concurrent-job-syncs": "job",
  "concurrent-cron-job-syncs": "cronjob",
  "concurrent-endpoint-syncs": "endpoint",
  "concurrent-service-endpoint-syncs": "endpointslice",
  "mirroring-concurrent-service-endpoint-syncs": "endpointslice-mirroring",
  "concurrent-namespace-syncs": "namespace",
  "concurrent-resource-quota-syncs": "resource-quota",
  "concurrent-serviceaccount-token-syncs": "service-account",
  "concurrent-gc-syncs": "garbage-collector",
  "concurrent-ttl-after-finished-syncs": "ttl-after-finished",
  "concurrent-horizontal-pod-autoscaler-syncs": "horizontal-pod-autoscaler",
};

function concurrencyDefs(): FlagDefs {
  const defaults = defaultControllerManagerConfig().concurrency;
  const defs: Record<string, { type: "string"; default: string; usage: string }> = {};
  for (const [flag, key] of Object.entries(CONCURRENCY_FLAGS))
    defs[flag] = {
      type: "string",
      default: String(defaults[key] ?? 1),
      usage: `The number of ${key} objects allowed to sync concurrently (workers of that controller).`,
    };
  return defs;
}

const d = defaultControllerManagerConfig();
const sec = (ms: number) => `${ms / 1000}s`;

export const controllerManagerFlags = new FlagSet({
  kubeconfig: {
    type: "string",
    usage: "Path to a kubeconfig file with the API server's address and credentials (required).",
  },
  controllers: {
    type: "string",
    default: "*",
    usage:
      "A list of controllers to enable. '*' enables all on-by-default controllers, 'foo' enables the controller named 'foo', '-foo' disables the controller named 'foo'.",
  },
  ...leaderElectionFlags({ resourceNamespace: "kube-system", resourceName: "kube-controller-manager" }),
  ...concurrencyDefs(),
  "node-monitor-period": {
    type: "string",
    default: sec(d.nodeMonitorPeriodMs),
    usage: "The period for syncing NodeStatus in the node lifecycle controller.",
  },
  "node-monitor-grace-period": {
    type: "string",
    default: sec(d.nodeMonitorGracePeriodMs),
    usage: "Amount of time a running Node may be unresponsive before it is marked unhealthy.",
  },
  "node-startup-grace-period": {
    type: "string",
    default: sec(d.nodeStartupGracePeriodMs),
    usage: "Amount of time a starting Node may be unresponsive before it is marked unhealthy.",
  },
  "node-eviction-rate": {
    type: "string",
    default: String(d.nodeEvictionRate),
    usage:
      "Number of nodes per second on which pods are deleted in case of node failure when a zone is healthy.",
  },
  "secondary-node-eviction-rate": {
    type: "string",
    default: String(d.secondaryNodeEvictionRate),
    usage:
      "Number of nodes per second on which pods are deleted in case of node failure when a zone is unhealthy.",
  },
  "unhealthy-zone-threshold": {
    type: "string",
    default: String(d.unhealthyZoneThreshold),
    usage:
      "Fraction of Nodes in a zone which needs to be not Ready (minimum 3) for the zone to be treated as unhealthy.",
  },
  "large-cluster-size-threshold": {
    type: "string",
    default: String(d.largeClusterSizeThreshold),
    usage:
      "Number of nodes from which the node lifecycle controller treats the cluster as large for eviction logic.",
  },
  "terminated-pod-gc-threshold": {
    type: "string",
    default: String(d.terminatedPodGcThreshold),
    usage:
      "Number of terminated pods that can exist before the terminated pod garbage collector starts deleting them (<= 0: disabled).",
  },
  "cluster-cidr": {
    type: "string",
    default: d.clusterCidr,
    usage: "CIDR Range for Pods in cluster (node IPAM allocates each node's spec.podCIDR from it).",
  },
  "node-cidr-mask-size": {
    type: "string",
    default: String(d.nodeCidrMaskSize),
    usage: "Mask size for node cidr in cluster.",
  },
  "allocate-node-cidrs": {
    type: "boolean",
    default: d.allocateNodeCidrs,
    usage: "Should CIDRs for Pods be allocated and set on the nodes.",
  },
  "service-cluster-ip-range": {
    type: "string",
    default: d.serviceClusterIpRange,
    usage: "CIDR Range for Services in cluster.",
  },
  "resource-quota-sync-period": {
    type: "string",
    default: sec(d.resourceQuotaSyncPeriodMs),
    usage: "The period for syncing quota usage status in the system.",
  },
  "namespace-sync-period": {
    type: "string",
    default: sec(d.namespaceSyncPeriodMs),
    usage: "The period for syncing namespace life-cycle updates.",
  },
  "max-endpoints-per-slice": {
    type: "string",
    default: String(d.maxEndpointsPerSlice),
    usage: "The maximum number of endpoints that will be added to an EndpointSlice.",
  },
  "endpoint-updates-batch-period": {
    type: "string",
    default: `${d.endpointUpdatesBatchPeriodMs / 1000}s`,
    usage:
      "The length of endpoint updates batching period. Processing of pod changes will be delayed by this duration.",
  },
  "enable-garbage-collector": {
    type: "boolean",
    default: true,
    usage:
      "Enables the generic garbage collector. MUST be synced with the corresponding flag of the kube-apiserver.",
  },
  "feature-gates": {
    type: "string",
    default: "",
    usage:
      "A set of key=value pairs that describe feature gates for alpha/experimental features. Known: MaxUnavailableStatefulSet=true|false (default false).",
  },
  "root-ca-file": {
    type: "string",
    usage:
      "If set, this root certificate authority will be included in service account's token secret and the kube-root-ca.crt ConfigMaps.",
  },
  "metrics-bind-address": {
    type: "string",
    default: "127.0.0.1:10257",
    usage: 'host:port of the plain-HTTP /metrics, /healthz, /livez and /readyz endpoints ("" disables them).',
  },
});

export interface ControllerManagerLeaderElection {
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  namespace: string;
  name: string;
  identity?: string;
}

export interface ControllerManagerCommandOptions {
  client: ClientConfig;
  controllers: string[];
  config: ControllerManagerConfig;
  leaderElection?: ControllerManagerLeaderElection;
  metricsBindAddress: { host: string; port: number } | undefined;
}

function floatFlag(flag: string, value: string, min: number, max = Number.POSITIVE_INFINITY): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n < min || n > max)
    throw invalidFlag(
      flag,
      value,
      `must be a number from ${min}${max === Number.POSITIVE_INFINITY ? "" : ` to ${max}`}`,
    );
  return n;
}

/** The component configuration of parsed flag values (everything but the kubeconfig). */
export function controllerManagerConfig(
  v: Record<string, string | boolean | undefined>,
): ControllerManagerConfig {
  const s = (k: string) => String(v[k]);
  const concurrency: Record<string, number> = {};
  for (const [flag, key] of Object.entries(CONCURRENCY_FLAGS))
    concurrency[key] = intFlag(flag, s(flag), 1, 10_000);
  let rootCaPem = "";
  const caFile = v["root-ca-file"];
  if (typeof caFile === "string" && caFile !== "") {
    try {
      rootCaPem = readFileSync(caFile, "utf8");
    } catch (e) {
      throw new FlagError(`error reading root-ca-file at ${caFile}: ${(e as Error).message}`);
    }
  }
  return {
    ...defaultControllerManagerConfig(),
    concurrency,
    nodeMonitorPeriodMs: durationFlag("node-monitor-period", s("node-monitor-period")),
    nodeMonitorGracePeriodMs: durationFlag("node-monitor-grace-period", s("node-monitor-grace-period")),
    nodeStartupGracePeriodMs: durationFlag("node-startup-grace-period", s("node-startup-grace-period")),
    nodeEvictionRate: floatFlag("node-eviction-rate", s("node-eviction-rate"), 0),
    secondaryNodeEvictionRate: floatFlag(
      "secondary-node-eviction-rate",
      s("secondary-node-eviction-rate"),
      0,
    ),
    unhealthyZoneThreshold: floatFlag("unhealthy-zone-threshold", s("unhealthy-zone-threshold"), 0, 1),
    largeClusterSizeThreshold: intFlag(
      "large-cluster-size-threshold",
      s("large-cluster-size-threshold"),
      0,
      1e9,
    ),
    terminatedPodGcThreshold: intFlag(
      "terminated-pod-gc-threshold",
      s("terminated-pod-gc-threshold"),
      -1e9,
      1e9,
    ),
    clusterCidr: s("cluster-cidr"),
    nodeCidrMaskSize: intFlag("node-cidr-mask-size", s("node-cidr-mask-size"), 1, 32),
    allocateNodeCidrs: v["allocate-node-cidrs"] === true,
    serviceClusterIpRange: s("service-cluster-ip-range"),
    resourceQuotaSyncPeriodMs: durationFlag("resource-quota-sync-period", s("resource-quota-sync-period")),
    namespaceSyncPeriodMs: durationFlag("namespace-sync-period", s("namespace-sync-period")),
    rootCaPem,
    enableGarbageCollector: v["enable-garbage-collector"] !== false,
    maxEndpointsPerSlice: intFlag("max-endpoints-per-slice", s("max-endpoints-per-slice"), 1, 1000),
    endpointUpdatesBatchPeriodMs: durationFlag(
      "endpoint-updates-batch-period",
      s("endpoint-updates-batch-period"),
    ),
    maxUnavailableStatefulSet:
      featureGates(String(v["feature-gates"] ?? "")).MaxUnavailableStatefulSet ?? false,
  };
}

const KNOWN_GATES = ["MaxUnavailableStatefulSet"];

/** --feature-gates as pflag's mapStringBool: key=true|false pairs, unknown gates refused as kube. */
function featureGates(value: string): Record<string, boolean> {
  const out: Record<string, boolean> = {};
  for (const pair of listFlag(value)) {
    const [k, v] = pair.split("=", 2) as [string, string | undefined];
    if (!KNOWN_GATES.includes(k))
      throw invalidFlag("feature-gates", value, `unrecognized feature gate: ${k}`);
    if (v !== "true" && v !== "false")
      throw invalidFlag("feature-gates", value, `invalid value of ${k}=${v ?? ""}, err: strconv.ParseBool`);
    out[k] = v === "true";
  }
  return out;
}

/** Parses `skiff controller-manager` flags (kubeconfig optional here: `skiff server` passes a client). */
export function parseControllerManagerArgs(argv: readonly string[]): Omit<
  ControllerManagerCommandOptions,
  "client"
> & {
  kubeconfig: string | undefined;
} {
  const { values: v } = controllerManagerFlags.parse(argv);
  const controllers = listFlag(v.controllers);
  const unknown = unknownControllers(controllers, controllerDescriptors);
  if (unknown.length > 0)
    throw new FlagError(
      `"${unknown[0]}" is not in the list of known controllers: ${controllerDescriptors.map((c) => c.name).join(", ")}`,
    );
  const le = leaderElectionConfiguration(v);
  return {
    kubeconfig: v.kubeconfig,
    controllers,
    config: controllerManagerConfig(v as Record<string, string | boolean | undefined>),
    ...(le.leaderElect
      ? {
          leaderElection: {
            leaseDurationMs: le.leaseDurationMs,
            renewDeadlineMs: le.renewDeadlineMs,
            retryPeriodMs: le.retryPeriodMs,
            namespace: le.resourceNamespace,
            name: le.resourceName,
          },
        }
      : {}),
    metricsBindAddress: hostPortFlag("metrics-bind-address", v["metrics-bind-address"]),
  };
}

export function parseControllerManagerFlags(argv: readonly string[]): ControllerManagerCommandOptions {
  const { kubeconfig, ...rest } = parseControllerManagerArgs(argv);
  if (kubeconfig === undefined) throw new FlagError("--kubeconfig is required");
  return { client: configFromKubeconfig(kubeconfig), ...rest };
}
