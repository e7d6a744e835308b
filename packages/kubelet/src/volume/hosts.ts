/**
 * The pod's /etc/hosts as the kubelet manages it (kubelet_pods.go managedHostsFileContent,
 * nodeHostsFileContent, hostsEntriesFromHostAliases), written to `<pod dir>/etc-hosts` and
 * bind-mounted into every container that does not mount /etc/hosts itself. A host-network pod
 * gets the node's own hosts file under a managed header, as in kube.
 */
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import type { Pod } from "@skiff/api";

export interface HostAlias {
  ip: string;
  hostnames?: string[];
}

const MANAGED_HEADER = "# Kubernetes-managed hosts file.\n";
const MANAGED_HEADER_HOST_NETWORK = "# Kubernetes-managed hosts file (host network).\n";

/** GeneratePodHostNameAndDomain: spec.hostname or the pod's name (<= 63), the subdomain's FQDN. */
export function podHostnameAndDomain(
  pod: Pod,
  clusterDomain = "cluster.local",
): { hostname: string; domain: string } {
  const spec = pod.spec as { hostname?: string; subdomain?: string };
  let hostname = spec.hostname !== undefined && spec.hostname !== "" ? spec.hostname : pod.metadata.name;
  // truncatePodHostnameIfNeeded: at most 63 characters, not ending in "-" or ".".
  if (hostname.length > 63) hostname = hostname.slice(0, 63).replace(/[-.]+$/, "");
  const domain =
    spec.subdomain !== undefined && spec.subdomain !== ""
      ? `${spec.subdomain}.${pod.metadata.namespace}.svc.${clusterDomain}`
      : "";
  return { hostname, domain };
}

function hostAliasEntries(aliases: readonly HostAlias[] | undefined): string {
  if (aliases === undefined || aliases.length === 0) return "";
  let out = "\n# Entries added by HostAliases.\n";
  for (const a of aliases) out += `${a.ip}\t${(a.hostnames ?? []).join("\t")}\n`;
  return out;
}

/** managedHostsFileContent: localhost lines, then `<podIP>\t<hostname>` per pod IP. */
export function managedHostsFileContent(
  podIPs: readonly string[],
  hostname: string,
  domain: string,
  aliases?: readonly HostAlias[],
): string {
  let out = MANAGED_HEADER;
  out += "127.0.0.1\tlocalhost\n";
  out += "::1\tlocalhost ip6-localhost ip6-loopback\n";
  out += "fe00::0\tip6-localnet\n";
  out += "fe00::0\tip6-mcastprefix\n";
  out += "fe00::1\tip6-allnodes\n";
  out += "fe00::2\tip6-allrouters\n";
  for (const ip of podIPs)
    out += domain === "" ? `${ip}\t${hostname}\n` : `${ip}\t${hostname}.${domain}\t${hostname}\n`;
  return out + hostAliasEntries(aliases);
}

/** ensureHostsFile: writes the file (0644) on every call, as kube does on each container start. */
export function writeHostsFile(
  file: string,
  pod: Pod,
  podIPs: readonly string[],
  opts: { clusterDomain?: string; nodeHostsFile?: string } = {},
): void {
  const aliases = (pod.spec as { hostAliases?: HostAlias[] }).hostAliases;
  let content: string;
  if (pod.spec.hostNetwork === true) {
    content =
      MANAGED_HEADER_HOST_NETWORK +
      readFileSync(opts.nodeHostsFile ?? "/etc/hosts", "utf8") +
      hostAliasEntries(aliases);
  } else {
    const { hostname, domain } = podHostnameAndDomain(pod, opts.clusterDomain);
    content = managedHostsFileContent(podIPs, hostname, domain, aliases);
  }
  writeFileSync(file, content, { mode: 0o644 });
  chmodSync(file, 0o644);
}
