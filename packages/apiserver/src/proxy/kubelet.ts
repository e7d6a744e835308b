/**
 * How the API server reaches a node's kubelet (kube's KubeletClientConfig and
 * NodeConnectionInfoGetter): the address from the Node's status (InternalIP first, as kube's
 * default --kubelet-preferred-address-types lists it before the external ones) and the port
 * from status.daemonEndpoints.kubeletEndpoint.Port (10250 when absent), over TLS with the API
 * server's kubelet client certificate.
 *
 * On one machine, Skiff's nodes' InternalIPs live in network namespaces the host cannot reach,
 * while each kubelet listens on the host: a Node carrying the annotation
 * `skiff.dev/kubelet-address` is reached at that address instead (e.g. "127.0.0.1").
 */
import type { KubeObject } from "@skiff/api";

export const KUBELET_ADDRESS_ANNOTATION = "skiff.dev/kubelet-address";
const DEFAULT_KUBELET_PORT = 10250;
const PREFERRED_ADDRESS_TYPES = ["InternalIP", "Hostname", "InternalDNS", "ExternalIP", "ExternalDNS"];

/** kube-apiserver's --kubelet-client-certificate/-key and --kubelet-certificate-authority (PEMs). */
export interface KubeletClientConfig {
  cert: string;
  key: string;
  /** When set, the kubelet's serving certificate must be signed by it; else it is not checked (kube's default). */
  ca?: string;
}

export interface KubeletLocation {
  host: string;
  port: number;
}

export function kubeletLocation(node: KubeObject): KubeletLocation | undefined {
  const status = (node.status ?? {}) as {
    addresses?: { type: string; address: string }[];
    daemonEndpoints?: { kubeletEndpoint?: { Port?: number } };
  };
  const port = status.daemonEndpoints?.kubeletEndpoint?.Port || DEFAULT_KUBELET_PORT;
  const annotated = node.metadata.annotations?.[KUBELET_ADDRESS_ANNOTATION];
  if (annotated !== undefined && annotated !== "") return { host: annotated, port };
  for (const type of PREFERRED_ADDRESS_TYPES) {
    const a = status.addresses?.find((x) => x.type === type && x.address !== "");
    if (a !== undefined) return { host: a.address, port };
  }
  return undefined;
}

/** TLS options for a connection to the kubelet at `loc`. */
export function kubeletTls(c: KubeletClientConfig, loc: KubeletLocation) {
  return {
    host: loc.host,
    port: loc.port,
    cert: c.cert,
    key: c.key,
    ...(c.ca === undefined ? { rejectUnauthorized: false } : { ca: c.ca, rejectUnauthorized: true }),
    // An IP address is no SNI name.
    ...(/^[\d.]+$|:/.test(loc.host) ? {} : { servername: loc.host }),
  };
}
