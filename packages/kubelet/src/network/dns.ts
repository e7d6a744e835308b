/**
 * A pod's resolver configuration, as kube's pkg/kubelet/network/dns (Configurer.GetPodDNS) forms
 * it and containerd's CRI plugin writes it (parseDNSOptions): the base per dnsPolicy (cluster
 * DNS, the host's --resolv-conf, or nothing), then spec.dnsConfig merged in, then kube's limits
 * (3 nameservers, 32 search domains, 2048 characters of search line) with a DNSConfigForming
 * event when they cut something. Pure: the host's resolv.conf comes in as text.
 */
import type { Pod } from "@skiff/api";
import { formatPod } from "../pod/labels.js";

/** validation.MaxDNSNameservers. */
export const MAX_DNS_NAMESERVERS = 3;
/** validation.MaxDNSSearchPaths (the ExpandedDNSConfig limits, GA since kube 1.28). */
export const MAX_DNS_SEARCH_PATHS = 32;
/** validation.MaxDNSSearchListChars. */
export const MAX_DNS_SEARCH_LIST_CHARS = 2048;
/** utilvalidation.DNS1123SubdomainMaxLength: longer search paths make some resolvers abort. */
const MAX_SEARCH_PATH_LENGTH = 253;
/** defaultDNSOptions. */
const DEFAULT_DNS_OPTIONS = ["ndots:5"];

export interface PodDNSOptions {
  /** --cluster-dns: the cluster DNS servers' IPs (empty: ClusterFirst falls back to Default). */
  clusterDNS: readonly string[];
  /** --cluster-domain ("" leaves the cluster search domains out). */
  clusterDomain: string;
  /** The content of --resolv-conf (the host's); undefined when --resolv-conf is "". */
  hostResolvConf: string | undefined;
}

/** runtimeapi.DNSConfig: what the runtime writes to the pod's /etc/resolv.conf. */
export interface DNSConfig {
  servers: string[];
  searches: string[];
  options: string[];
}

/** An event on the pod (always of type Warning), as the Configurer records them. */
export interface DNSEvent {
  reason: string;
  message: string;
}

interface PodDNSConfigOption {
  name?: string;
  value?: string;
}
interface PodDNSConfig {
  nameservers?: string[];
  searches?: string[];
  options?: PodDNSConfigOption[];
}
interface DNSPodSpec {
  dnsPolicy?: string;
  dnsConfig?: PodDNSConfig;
  hostNetwork?: boolean;
}

/**
 * parseResolvConf: nameserver lines accumulate; the last search and options lines win; a
 * search domain's trailing dot is dropped so that "a." and "a" count once. A nameserver line
 * without an address is an error, which fails the pod's sandbox in kube.
 */
export function parseResolvConf(content: string): DNSConfig {
  const out: DNSConfig = { servers: [], searches: [], options: [] };
  for (const line of content.split("\n")) {
    const trimmed = line.trim();
    if (trimmed.startsWith("#")) continue;
    const fields = trimmed.split(/\s+/).filter((f) => f !== "");
    if (fields.length === 0) continue;
    if (fields[0] === "nameserver") {
      if (fields.length < 2) throw new Error("nameserver list is empty ");
      out.servers.push(fields[1] as string);
    } else if (fields[0] === "search") {
      out.searches = fields.slice(1).map((s) => s.replace(/\.$/, ""));
    } else if (fields[0] === "options") {
      out.options = fields.slice(1);
    }
  }
  return out;
}

function omitDuplicates(list: readonly string[]): string[] {
  return [...new Set(list)];
}

/** getPodDNSType: ClusterFirst on the host network falls back to Default, as in kube. */
function podDNSType(spec: DNSPodSpec): "cluster" | "host" | "none" {
  switch (spec.dnsPolicy) {
    case "None":
      return "none";
    case "ClusterFirstWithHostNet":
      return "cluster";
    case "Default":
      return "host";
    case "ClusterFirst":
    case undefined:
      return spec.hostNetwork === true ? "host" : "cluster";
    default:
      // kube-apiserver rejects other values; kube's kubelet falls back to ClusterFirst.
      return "cluster";
  }
}

/**
 * mergeDNSOptions: the pod's options override the base's of the same name. kube goes through a
 * Go map (so its order is unspecified); here the base's order is kept and new names follow.
 */
function mergeDNSOptions(base: readonly string[], extra: readonly PodDNSConfigOption[]): string[] {
  const merged = new Map<string, string>();
  for (const op of base) {
    const i = op.indexOf(":");
    if (i >= 0) merged.set(op.slice(0, i), op.slice(i + 1));
    else merged.set(op, "");
  }
  for (const op of extra) merged.set(op.name ?? "", op.value ?? "");
  return [...merged].map(([name, value]) => (value === "" ? name : `${name}:${value}`));
}

/** formDNSSearchFitsLimits. */
function searchFitsLimits(searches: readonly string[], events: DNSEvent[]): string[] {
  let out = searches.slice(0, MAX_DNS_SEARCH_PATHS);
  let exceeded = out.length < searches.length;
  const short = out.filter((s) => s.length <= MAX_SEARCH_PATH_LENGTH);
  exceeded ||= short.length < out.length;
  out = short;
  const lineLength = out.join(" ").length;
  if (lineLength > MAX_DNS_SEARCH_LIST_CHARS) {
    // Drop domains from the end until the line fits.
    let cut = 0;
    let cutLength = 0;
    for (let i = out.length - 1; i >= 0; i--) {
      cutLength += (out[i] as string).length + 1;
      cut++;
      if (lineLength - cutLength <= MAX_DNS_SEARCH_LIST_CHARS) break;
    }
    out = out.slice(0, out.length - cut);
    exceeded = true;
  }
  if (exceeded)
    events.push({
      reason: "DNSConfigForming",
      message: `Search Line limits were exceeded, some search paths have been omitted, the applied search line is: ${out.join(" ")}`,
    });
  return out;
}

/** formDNSNameserversFitsLimits. */
function nameserversFitLimits(servers: readonly string[], events: DNSEvent[]): string[] {
  if (servers.length <= MAX_DNS_NAMESERVERS) return [...servers];
  const out = servers.slice(0, MAX_DNS_NAMESERVERS);
  events.push({
    reason: "DNSConfigForming",
    message: `Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: ${out.join(" ")}`,
  });
  return out;
}

/** GetPodDNS: the pod's DNS configuration and the events kube records on the pod meanwhile. */
export function podDNSConfig(pod: Pod, opts: PodDNSOptions): { config: DNSConfig; events: DNSEvent[] } {
  const spec = pod.spec as DNSPodSpec;
  const events: DNSEvent[] = [];
  const host =
    opts.hostResolvConf === undefined
      ? { servers: [], searches: [], options: [] }
      : parseResolvConf(opts.hostResolvConf);
  let config: DNSConfig = host;
  let type = podDNSType(spec);
  if (type === "none") {
    config = { servers: [], searches: [], options: [] };
    // API validation requires dnsConfig with a nameserver for None; Skiff's API server does not
    // check dnsConfig yet, so say what kube-apiserver would have said.
    if (spec.dnsConfig === undefined || spec.dnsConfig === null)
      events.push({
        reason: "DNSConfigForming",
        message: "spec.dnsConfig: Required value: must provide `dnsConfig` when `dnsPolicy` is None",
      });
    else if ((spec.dnsConfig.nameservers ?? []).length === 0)
      events.push({
        reason: "DNSConfigForming",
        message:
          "spec.dnsConfig.nameservers: Required value: must provide at least one DNS nameserver when `dnsPolicy` is None",
      });
  } else if (type === "cluster" && opts.clusterDNS.length > 0) {
    // The cluster DNS is the only nameserver: it answers (or refuses) everything itself.
    const domain = opts.clusterDomain;
    config = {
      servers: [...opts.clusterDNS],
      searches:
        domain === ""
          ? host.searches
          : omitDuplicates([
              `${pod.metadata.namespace}.svc.${domain}`,
              `svc.${domain}`,
              domain,
              ...host.searches,
            ]),
      options: [...DEFAULT_DNS_OPTIONS],
    };
  } else if (type === "cluster") {
    const msg = `kubelet does not have ClusterDNS IP configured and cannot create Pod using "ClusterFirst" policy. Falling back to "Default" policy.`;
    events.push({ reason: "MissingClusterDNS", message: `pod: "${formatPod(pod)}". ${msg}` });
    type = "host";
  }
  if (type === "host" && opts.hostResolvConf === undefined) {
    // --resolv-conf "": the local machine's resolver, as bind's documentation has it.
    config = { ...config, servers: ["127.0.0.1"], searches: ["."] };
  }
  const extra = spec.dnsConfig;
  if (extra !== undefined && extra !== null) {
    config = {
      servers: omitDuplicates([...config.servers, ...(extra.nameservers ?? [])]),
      searches: omitDuplicates([...config.searches, ...(extra.searches ?? [])]),
      options: mergeDNSOptions(config.options, extra.options ?? []),
    };
  }
  config = {
    servers: nameserversFitLimits(config.servers, events),
    searches: searchFitsLimits(config.searches, events),
    options: config.options,
  };
  return { config, events };
}

/** containerd's parseDNSOptions: a search line, one nameserver line each, an options line. */
export function formatResolvConf(config: DNSConfig): string {
  let out = "";
  if (config.searches.length > 0) out += `search ${config.searches.join(" ")}\n`;
  for (const s of config.servers) out += `nameserver ${s}\n`;
  if (config.options.length > 0) out += `options ${config.options.join(" ")}\n`;
  return out;
}

/** The pod's /etc/resolv.conf content and the events to record on the pod. */
export function podResolvConf(pod: Pod, opts: PodDNSOptions): { content: string; events: DNSEvent[] } {
  const { config, events } = podDNSConfig(pod, opts);
  return { content: formatResolvConf(config), events };
}
