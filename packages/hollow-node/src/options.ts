/**
 * `skiff hollow-nodes` flags, parsed into the typed options `new HollowNodes(options)` takes. Names
 * follow the kubelet's (--kubeconfig, --kube-api-qps, --kube-api-burst, --node-lease-duration-seconds,
 * --node-status-report-frequency), kube-controller-manager's (--node-cidr-mask-size) and
 * kube-proxy's (--metrics-bind-address) where they have the setting.
 */
import { parseQuantity } from "@skiff/api";
import {
  durationFlag,
  FlagError,
  FlagSet,
  intFlag,
  invalidFlag,
  type LogLevel,
  logLevels,
} from "@skiff/component-base";
import { blockSize, parseCidr, subnetCount } from "./cidr.js";
import { podAddresses } from "./ipam.js";

export interface HollowNodesOptions {
  kubeconfig: string;
  count: number;
  namePrefix: string;
  /** Quantities as the API writes them: capacity and allocatable of every node. */
  cpu: string;
  memory: string;
  pods: number;
  ephemeralStorage: string;
  /** Nodes go to zone-0 .. zone-(zones-1) in turn. */
  zones: number;
  /** Node i's pod CIDR is the i-th subnet of this with nodeCidrMaskSize bits. */
  podCidrBase: string;
  nodeCidrMaskSize: number;
  /** Node i's InternalIP is the (i+1)-th address of this. */
  nodeIpBase: string;
  /** Writes per second to the API server (0: unlimited), the bucket's burst, requests in flight. */
  kubeApiQps: number;
  kubeApiBurst: number;
  concurrency: number;
  nodeLeaseDurationSeconds: number;
  /** How often each Lease is renewed (kubelet: a quarter of the lease duration). */
  leaseRenewIntervalMs: number;
  /** How often the status is posted when nothing changed (kubelet's nodeStatusReportFrequency). */
  nodeStatusReportFrequencyMs: number;
  deleteNodesOnExit: boolean;
  /** host:port for /metrics and the health endpoints; undefined: not served. */
  metricsBindAddress: string | undefined;
  logLevel: LogLevel;
}

export const hollowNodesFlags = new FlagSet({
  kubeconfig: { type: "string", usage: "Path to a kubeconfig file for the API server (required)." },
  count: { type: "string", default: "1", usage: "Number of hollow nodes to run in this process." },
  "name-prefix": {
    type: "string",
    default: "hollow-",
    usage: "Node names are this prefix and the node's number.",
  },
  cpu: { type: "string", default: "4", usage: "CPU capacity of each node." },
  memory: { type: "string", default: "16Gi", usage: "Memory capacity of each node." },
  pods: { type: "string", default: "110", usage: "Pod capacity of each node (kubelet's --max-pods)." },
  "ephemeral-storage": {
    type: "string",
    default: "100Gi",
    usage: "Ephemeral storage capacity of each node.",
  },
  zones: {
    type: "string",
    default: "3",
    usage: "Spread the nodes over this many topology.kubernetes.io/zone values.",
  },
  "pod-cidr-base": {
    type: "string",
    default: "10.64.0.0/10",
    usage: "Range the nodes' pod CIDRs come from: node i gets its i-th subnet.",
  },
  "node-cidr-mask-size": { type: "string", default: "24", usage: "Prefix length of each node's pod CIDR." },
  "node-ip-base": {
    type: "string",
    default: "172.16.0.0/12",
    usage: "Range the nodes' InternalIPs come from: node i gets its (i+1)-th address.",
  },
  "kube-api-qps": {
    type: "string",
    default: "1000",
    usage:
      "Writes per second to the API server, all nodes together (0: no limit). Leases alone need count/10.",
  },
  "kube-api-burst": {
    type: "string",
    default: "2000",
    usage: "Writes allowed at once above --kube-api-qps.",
  },
  concurrency: { type: "string", default: "64", usage: "Requests in flight to the API server at most." },
  "node-lease-duration-seconds": {
    type: "string",
    default: "40",
    usage: "Duration of each node's Lease; it is renewed every quarter of it.",
  },
  "node-lease-renew-interval": {
    type: "string",
    default: "",
    usage: "Renew each Lease this often (a Go duration); default a quarter of the lease duration.",
  },
  "node-status-report-frequency": {
    type: "string",
    default: "5m",
    usage: "Post each node's status this often when it has not changed.",
  },
  "delete-nodes-on-exit": {
    type: "boolean",
    default: false,
    usage: "Delete the Nodes and their Leases on exit (by default they stay, as kubemark's do).",
  },
  "metrics-bind-address": {
    type: "string",
    default: "",
    usage: "host:port to serve /metrics, /livez, /readyz and /healthz on (empty: not served).",
  },
  "log-level": { type: "string", default: "info", usage: `Log level: ${logLevels.join(", ")}.` },
});

function quantityFlag(flag: string, value: string): string {
  try {
    if (parseQuantity(value) <= 0) throw new Error("must be positive");
  } catch (e) {
    throw invalidFlag(flag, value, (e as Error).message);
  }
  return value;
}

function cidrFlag(flag: string, value: string): string {
  try {
    parseCidr(value);
  } catch (e) {
    throw invalidFlag(flag, value, (e as Error).message);
  }
  return value;
}

export function parseHollowNodesFlags(argv: readonly string[]): HollowNodesOptions {
  const { values: v } = hollowNodesFlags.parse(argv);
  // cobra's wording for a flag marked required.
  if (v.kubeconfig === undefined || v.kubeconfig === "")
    throw new FlagError('required flag(s) "kubeconfig" not set');
  const maskSize = intFlag("node-cidr-mask-size", v["node-cidr-mask-size"], 8, 30);
  const podBase = parseCidr(cidrFlag("pod-cidr-base", v["pod-cidr-base"]));
  const ipBase = parseCidr(cidrFlag("node-ip-base", v["node-ip-base"]));
  const maxCount = Math.min(subnetCount(podBase, maskSize), blockSize(ipBase.prefix) - 2, 100_000);
  if (maxCount < 1)
    throw invalidFlag(
      "node-cidr-mask-size",
      String(maskSize),
      `no /${maskSize} fits in ${v["pod-cidr-base"]}`,
    );
  const count = intFlag("count", v.count, 1, maxCount);
  const pods = intFlag("pods", v.pods, 1, podAddresses(maskSize));
  const leaseSeconds = intFlag("node-lease-duration-seconds", v["node-lease-duration-seconds"], 1, 3600);
  const renew =
    v["node-lease-renew-interval"] === ""
      ? (leaseSeconds * 1000) / 4
      : durationFlag("node-lease-renew-interval", v["node-lease-renew-interval"]);
  if (renew < 100)
    throw invalidFlag("node-lease-renew-interval", v["node-lease-renew-interval"], "at least 100ms");
  const report = durationFlag("node-status-report-frequency", v["node-status-report-frequency"]);
  if (report < 1000)
    throw invalidFlag("node-status-report-frequency", v["node-status-report-frequency"], "at least 1s");
  const logLevel = v["log-level"];
  if (!(logLevels as readonly string[]).includes(logLevel))
    throw invalidFlag("log-level", logLevel, `must be one of ${logLevels.join(", ")}`);
  const metrics = v["metrics-bind-address"];
  if (metrics !== "" && !/^.+:\d{1,5}$/.test(metrics))
    throw invalidFlag("metrics-bind-address", metrics, "must be host:port");
  return {
    kubeconfig: v.kubeconfig,
    count,
    namePrefix: v["name-prefix"],
    cpu: quantityFlag("cpu", v.cpu),
    memory: quantityFlag("memory", v.memory),
    pods,
    ephemeralStorage: quantityFlag("ephemeral-storage", v["ephemeral-storage"]),
    zones: intFlag("zones", v.zones, 1, 1000),
    podCidrBase: v["pod-cidr-base"],
    nodeCidrMaskSize: maskSize,
    nodeIpBase: v["node-ip-base"],
    kubeApiQps: intFlag("kube-api-qps", v["kube-api-qps"], 0, 1_000_000),
    kubeApiBurst: intFlag("kube-api-burst", v["kube-api-burst"], 1, 1_000_000),
    concurrency: intFlag("concurrency", v.concurrency, 1, 10_000),
    nodeLeaseDurationSeconds: leaseSeconds,
    leaseRenewIntervalMs: renew,
    nodeStatusReportFrequencyMs: report,
    deleteNodesOnExit: v["delete-nodes-on-exit"],
    metricsBindAddress: metrics === "" ? undefined : metrics,
    logLevel: logLevel as LogLevel,
  };
}

/** Options with every default, for callers that build them in code (tests, tools). */
export function hollowNodesOptions(
  o: Partial<HollowNodesOptions> & { kubeconfig: string },
): HollowNodesOptions {
  return { ...parseHollowNodesFlags(["--kubeconfig", o.kubeconfig]), ...o };
}
