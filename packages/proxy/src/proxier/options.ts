/**
 * kube-proxy's flags that Skiff's proxy takes (cmd/kube-proxy/app/options.go, with kube's
 * defaults and validation in pkg/proxy/apis/config/validation): the agent passes them as k3s's
 * `--kube-proxy-arg flag=value`. A bad value is a FlagError naming the flag.
 */
import { isIP } from "node:net";
import {
  durationFlag,
  FlagError,
  FlagSet,
  hostPortFlag,
  intFlag,
  invalidFlag,
  listFlag,
} from "@skiff/component-base";

export const proxyFlags = new FlagSet({
  "proxy-mode": {
    type: "string",
    default: "",
    usage: "Which proxy mode to use: only 'nftables' (empty: nftables).",
  },
  "cluster-cidr": {
    type: "string",
    default: "",
    usage: "The CIDR range of the pods in the cluster; traffic to a Service from outside it is masqueraded.",
  },
  "masquerade-bit": {
    type: "string",
    default: "14",
    usage:
      "The bit of the fwmark space to mark packets requiring SNAT with. Must be within the range [0, 31].",
  },
  "min-sync-period": {
    type: "string",
    default: "1s",
    usage:
      "The minimum period that nftables rules are refreshed (e.g. '5s', '1m', '2h22m'); after an idle period, a change syncs at once.",
  },
  "sync-period": {
    type: "string",
    default: "30s",
    usage:
      "An interval (e.g. '5s', '1m', '2h22m') indicating how frequently various re-synchronizing and cleanup operations are performed. Must be greater than 0.",
  },
  "healthz-bind-address": {
    type: "string",
    default: "0.0.0.0:10256",
    usage:
      "The IP address and port for the health check server to serve on (port 0: any free port; empty: off).",
  },
  "metrics-bind-address": {
    type: "string",
    default: "127.0.0.1:10249",
    usage:
      "The IP address and port for the metrics server (parsed only: the agent serves the metrics on its own /metrics).",
  },
  "hostname-override": {
    type: "string",
    default: "",
    usage: "If non-empty, will be used as the name of the Node that kube-proxy is running on.",
  },
});

/** The parsed kube-proxy configuration (kube's KubeProxyConfiguration, the fields Skiff uses). */
export interface ProxyConfig {
  mode: "nftables";
  /** The IPv4 range of --cluster-cidr (an IPv6 one is accepted and ignored: Skiff is IPv4). */
  clusterCIDR?: string;
  masqueradeBit: number;
  minSyncPeriodMs: number;
  syncPeriodMs: number;
  /** Undefined: no healthz server. */
  healthzBindAddress?: { host: string; port: number };
  metricsBindAddress?: { host: string; port: number };
  /** --hostname-override, lower-cased as kube does; undefined when empty. */
  hostnameOverride?: string;
}

function cidr(value: string): { family: 4 | 6; text: string } {
  const i = value.indexOf("/");
  const ip = value.slice(0, i);
  const bits = Number(value.slice(i + 1));
  const family = isIP(ip);
  if (i < 0 || family === 0 || !Number.isInteger(bits) || bits < 0 || bits > (family === 4 ? 32 : 128))
    throw invalidFlag("cluster-cidr", value, "must be a CIDR notation IP range (e.g. 10.244.0.0/16)");
  return { family: family as 4 | 6, text: value };
}

/** A host:port flag whose port is 0..65535; kube also takes a bare IP with the default port. */
function bindAddress(flag: string, value: string, defaultPort: number) {
  if (isIP(value) !== 0) return { host: value, port: defaultPort };
  return hostPortFlag(flag, value);
}

/** Parses `--flag value` pairs of kube-proxy; throws FlagError naming the bad flag. */
export function parseProxyFlags(argv: readonly string[]): ProxyConfig {
  const { values: v } = proxyFlags.parse(argv);
  const mode = v["proxy-mode"];
  if (mode !== "" && mode !== "nftables")
    throw invalidFlag("proxy-mode", mode, 'supported values: "nftables"');
  const cidrs = listFlag(v["cluster-cidr"]).map(cidr);
  if (cidrs.length > 2)
    throw invalidFlag("cluster-cidr", v["cluster-cidr"], "at most one IPv4 and one IPv6 range");
  const minSyncPeriodMs = durationFlag("min-sync-period", v["min-sync-period"]);
  if (minSyncPeriodMs < 0)
    throw invalidFlag("min-sync-period", v["min-sync-period"], "must be greater than or equal to 0");
  const syncPeriodMs = durationFlag("sync-period", v["sync-period"]);
  if (syncPeriodMs <= 0) throw invalidFlag("sync-period", v["sync-period"], "must be greater than 0");
  if (minSyncPeriodMs > syncPeriodMs)
    throw invalidFlag("sync-period", v["sync-period"], "must be greater than or equal to --min-sync-period");
  const host = v["hostname-override"].trim().toLowerCase();
  if (host !== "" && !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(host))
    throw new FlagError(
      `invalid value "${v["hostname-override"]}" for flag --hostname-override: must be a DNS subdomain`,
    );
  return {
    mode: "nftables",
    clusterCIDR: cidrs.find((c) => c.family === 4)?.text,
    masqueradeBit: intFlag("masquerade-bit", v["masquerade-bit"], 0, 31),
    minSyncPeriodMs,
    syncPeriodMs,
    healthzBindAddress: bindAddress("healthz-bind-address", v["healthz-bind-address"], 10256),
    metricsBindAddress: bindAddress("metrics-bind-address", v["metrics-bind-address"], 10249),
    hostnameOverride: host === "" ? undefined : host,
  };
}
