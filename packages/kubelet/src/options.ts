/**
 * `skiff agent` flags: the kubelet's own names where one exists (--node-name is
 * --hostname-override's k3s spelling, --max-pods, --pod-manifest-path, --container-log-max-size,
 * --container-log-max-files, --eviction-hard, --image-gc-high-threshold, --shutdown-grace-period,
 * --port, --address, --healthz-port), k3s's agent flags for joining a server (--server, --token,
 * --data-dir, --node-label) and Skiff's own for where the node lives (--host-network) and which
 * containerd it uses (--containerd-address, as k3s's --container-runtime-endpoint). Pod DNS
 * takes the kubelet's --cluster-dns, --cluster-domain and --resolv-conf.
 */
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { hostname } from "node:os";
import { join, resolve } from "node:path";
import { type ClientConfig, configFromKubeconfig } from "@skiff/client";
import { durationFlag, FlagError, FlagSet, intFlag, invalidFlag, listFlag } from "@skiff/component-base";
import { fabricFlags, parseFabricFlags } from "./network/fabric-flags.js";
import type { GatewayListener } from "./network/gateway.js";

export const agentFlags = new FlagSet({
  server: {
    type: "string",
    usage: "The API server to register with, e.g. https://127.0.0.1:6443 (with --token).",
  },
  token: {
    type: "string",
    usage: "The node token of the server (its data directory's node-token file), with --server.",
  },
  "certificate-authority": {
    type: "string",
    usage: "The cluster CA the API server's certificate is checked against (with --server).",
  },
  kubeconfig: {
    type: "string",
    usage: "A kubeconfig with the API server's address and credentials (instead of --server/--token).",
  },
  "node-name": {
    type: "string",
    usage: "The node's name (default: the host name).",
  },
  "node-label": {
    type: "string",
    default: "",
    usage: "Extra labels for the node at registration, as key=value,key2=value2.",
  },
  "data-dir": {
    type: "string",
    default: ".skiff/agent",
    usage: "Where the agent keeps pod volumes, logs, CNI state, images and its own containerd.",
  },
  "host-network": {
    type: "boolean",
    default: false,
    usage:
      "Put the node's pod network in the host's network namespace (a real machine) instead of its own namespace skiff-<node-name>.",
  },
  "containerd-address": {
    type: "string",
    usage:
      "The socket of a containerd to use; without it the agent runs its own containerd under --data-dir.",
  },
  "image-dir": {
    type: "string",
    usage:
      "A directory of OCI image tarballs imported at start (default <data-dir>/images; skiff.local/busybox:latest is always built there).",
  },
  "max-pods": { type: "string", default: "110", usage: "Number of Pods that can run on this Kubelet." },
  address: {
    type: "string",
    default: "127.0.0.1",
    usage: "The IP address for the Kubelet to serve on.",
  },
  port: {
    type: "string",
    default: "10250",
    usage: "The port for the Kubelet to serve on (0: any free port).",
  },
  "healthz-port": {
    type: "string",
    default: "10248",
    usage: "The port of the localhost healthz and metrics endpoint (0 disables it).",
  },
  "container-log-max-size": {
    type: "string",
    default: "10Mi",
    usage: "Maximum size of a container log file before it is rotated.",
  },
  "container-log-max-files": {
    type: "string",
    default: "5",
    usage: "Maximum number of container log files that can be present for a container (>= 2).",
  },
  "pod-manifest-path": {
    type: "string",
    usage: "Path to the directory of static pod manifests to run (re-read every 20 s).",
  },
  "eviction-hard": {
    type: "string",
    default: "imagefs.available<15%,memory.available<100Mi,nodefs.available<10%,nodefs.inodesFree<5%",
    usage:
      "A set of eviction thresholds (e.g. memory.available<1Gi) that if met would trigger a pod eviction.",
  },
  "image-gc-high-threshold": {
    type: "string",
    default: "85",
    usage: "The percent of disk usage after which image garbage collection is always run.",
  },
  "image-gc-low-threshold": {
    type: "string",
    default: "80",
    usage: "The percent of disk usage before which image garbage collection is never run.",
  },
  "shutdown-grace-period": {
    type: "string",
    default: "0s",
    usage:
      "On SIGTERM of the agent, the total time to terminate pods by priority before exiting (0s: exit and leave pods running, adopted on restart).",
  },
  "shutdown-grace-period-critical-pods": {
    type: "string",
    default: "0s",
    usage: "The part of --shutdown-grace-period kept for critical pods.",
  },
  capacity: {
    type: "string",
    default: "",
    usage: "Override the node's capacity as resource=quantity pairs, e.g. cpu=2,memory=4Gi (for tests).",
  },
  "cluster-domain": { type: "string", default: "cluster.local", usage: "Domain for this cluster." },
  ...fabricFlags,
  "cluster-dns": {
    type: "string",
    default: "10.96.0.10",
    usage:
      "Comma-separated list of DNS server IP addresses for pods with dnsPolicy ClusterFirst (the kube-dns Service's ClusterIP, the tenth address of the service range, as k3s's default).",
  },
  "resolv-conf": {
    type: "string",
    default: "/etc/resolv.conf",
    usage: "Resolver configuration file used as the basis for the container DNS resolution configuration.",
  },
});

export interface AgentOptions {
  /** How to reach the API server; the embedded agent gets a client certificate instead. */
  client: ClientConfig;
  nodeName: string;
  nodeLabels: Record<string, string>;
  dataDir: string;
  hostNetwork: boolean;
  containerdAddress?: string;
  imageDir: string;
  maxPods: number;
  address: string;
  port: number;
  healthzPort: number;
  containerLogMaxSize: number;
  containerLogMaxFiles: number;
  podManifestPath?: string;
  evictionHard: string;
  imageGCHighThresholdPercent: number;
  imageGCLowThresholdPercent: number;
  shutdownGracePeriodMs: number;
  shutdownGracePeriodCriticalPodsMs: number;
  capacity: Record<string, string>;
  clusterDomain: string;
  /** --node-ip: the node's InternalIP (default: the bridge gateway in netns mode, the host's IPv4). */
  nodeIP?: string;
  /** --fabric: the fabric (namespace skiff-fabric-<name>) the node namespace joins. */
  fabric?: string;
  /** --cluster-dns: the nameservers of ClusterFirst pods (empty: they fall back to Default). */
  clusterDNS: string[];
  /** --resolv-conf: the host's resolver file, the base of dnsPolicy Default ("" for none). */
  resolvConf: string;
  /**
   * Ports of the node gateway (in the node namespace) besides the API server relay the kubelet
   * adds itself on APISERVER_GATEWAY_PORT; the caller passes the DNS server's (udp and tcp 53).
   */
  gatewayListeners?: GatewayListener[];
  /** PEM the kubelet server trusts for clients (the cluster CA: the API server's kubelet client cert). */
  clientCA?: string;
  /** The kubelet's serving certificate; absent: the agent makes a self-signed one. */
  servingCert?: { cert: string; key: string };
}

/** Node names are DNS subdomains and become parts of namespace and cgroup names. */
const NODE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function pairs(flag: string, value: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of listFlag(value)) {
    const i = p.indexOf("=");
    if (i <= 0) throw invalidFlag(flag, value, `"${p}" is not key=value`);
    out[p.slice(0, i)] = p.slice(i + 1);
  }
  return out;
}

/** "10Mi" -> bytes, as the kubelet's resource.Quantity flags. */
export function parseSize(flag: string, value: string): number {
  const m = /^(\d+)(Ki|Mi|Gi|K|M|G)?$/.exec(value);
  if (m === null) throw invalidFlag(flag, value, "must be a quantity like 10Mi");
  const unit = { Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, K: 1e3, M: 1e6, G: 1e9 }[m[2] ?? ""] ?? 1;
  return Number(m[1]) * unit;
}

/**
 * Parses `skiff agent`'s command line. `embedded`: the agent of `skiff server`, whose caller
 * supplies the credentials (a client certificate), so none are asked for here.
 */
export function parseAgentFlags(argv: readonly string[], opts: { embedded?: boolean } = {}): AgentOptions {
  const { values: v } = agentFlags.parse(argv);
  let client: ClientConfig;
  let clientCA: string | undefined;
  if (opts.embedded) client = { server: "" };
  else if (v.kubeconfig !== undefined) {
    if (v.server !== undefined || v.token !== undefined)
      throw new FlagError("--kubeconfig and --server/--token are mutually exclusive");
    client = configFromKubeconfig(v.kubeconfig);
    clientCA = client.ca;
  } else {
    if (v.server === undefined || v.token === undefined)
      throw new FlagError("either --kubeconfig or both --server and --token are required");
    if (v["certificate-authority"] === undefined)
      throw new FlagError("--certificate-authority is required with --server (the cluster CA, ca.crt)");
    clientCA = readFileSync(v["certificate-authority"], "utf8");
    client = { server: v.server, token: v.token, ca: clientCA };
  }
  const nodeName = v["node-name"] ?? hostname().toLowerCase();
  if (!NODE_NAME.test(nodeName) || nodeName.length > 50)
    throw invalidFlag(
      "node-name",
      nodeName,
      "must be lower case alphanumerics and '-', start and end alphanumeric, at most 50 characters",
    );
  const dataDir = resolve(v["data-dir"]);
  const port = intFlag("port", v.port, 0, 65535);
  const maxFiles = intFlag("container-log-max-files", v["container-log-max-files"], 2, 1000);
  const high = intFlag("image-gc-high-threshold", v["image-gc-high-threshold"], 0, 100);
  const low = intFlag("image-gc-low-threshold", v["image-gc-low-threshold"], 0, 100);
  if (low > high)
    throw invalidFlag(
      "image-gc-low-threshold",
      String(low),
      `must not be above --image-gc-high-threshold (${high})`,
    );
  const shutdown = durationFlag("shutdown-grace-period", v["shutdown-grace-period"]);
  const critical = durationFlag(
    "shutdown-grace-period-critical-pods",
    v["shutdown-grace-period-critical-pods"],
  );
  if (critical > shutdown)
    throw invalidFlag(
      "shutdown-grace-period-critical-pods",
      v["shutdown-grace-period-critical-pods"],
      "must not be above --shutdown-grace-period",
    );
  return {
    client,
    clientCA,
    nodeName,
    nodeLabels: pairs("node-label", v["node-label"]),
    dataDir,
    hostNetwork: v["host-network"],
    containerdAddress: v["containerd-address"],
    imageDir: resolve(v["image-dir"] ?? join(dataDir, "images")),
    maxPods: intFlag("max-pods", v["max-pods"], 1, 10_000),
    address: v.address,
    port,
    healthzPort: intFlag("healthz-port", v["healthz-port"], 0, 65535),
    containerLogMaxSize: parseSize("container-log-max-size", v["container-log-max-size"]),
    containerLogMaxFiles: maxFiles,
    podManifestPath: v["pod-manifest-path"],
    evictionHard: v["eviction-hard"],
    imageGCHighThresholdPercent: high,
    imageGCLowThresholdPercent: low,
    shutdownGracePeriodMs: shutdown,
    shutdownGracePeriodCriticalPodsMs: critical,
    capacity: pairs("capacity", v.capacity),
    clusterDomain: v["cluster-domain"],
    ...parseFabricFlags(v, v["host-network"]),
    clusterDNS: clusterDNSFlag(v["cluster-dns"]),
    resolvConf: v["resolv-conf"],
  };
}

/** --cluster-dns: IP addresses only, as the kubelet's []net.IP flag. */
function clusterDNSFlag(value: string): string[] {
  const ips = listFlag(value);
  for (const ip of ips)
    if (isIP(ip) === 0) throw invalidFlag("cluster-dns", value, `"${ip}" is not an IP address`);
  return ips;
}
