/**
 * Every agent runs the cluster DNS for its own node's pods, so each keeps two objects:
 * - the `kube-dns` Service in kube-system, as kubeadm's CoreDNS addon makes it (ClusterIP the
 *   tenth address of the service range, ports dns 53/UDP and dns-tcp 53/TCP) but with no
 *   selector and `internalTrafficPolicy: Local`, so kube-proxy sends each pod to its own node;
 *   created when absent, otherwise left alone unless it lacks one of those ports;
 * - this node's EndpointSlice `kube-dns-<node>`, one endpoint (the node IP, where the node
 *   gateway relays port 53 to this agent), owned by the Node so that it goes with the Node.
 * Level-triggered (client-go's habit): each sync compares what is there with what should be and
 * makes one step; AlreadyExists and Conflict (another agent racing) just mean "look again".
 */
import type { KubeObject } from "@skiff/api";
import { type ClientInterface, type Informer, isAlreadyExists, isConflict, isNotFound } from "@skiff/client";
import type { Logger } from "@skiff/component-base";
import { type EndpointSlice, SERVICE_NAME_LABEL, type Service, type ServicePort } from "../api-types.js";

export const KUBE_DNS_NAMESPACE = "kube-system";
export const KUBE_DNS_SERVICE = "kube-dns";
/** The EndpointSlice controller's label naming who manages a slice; Skiff's DNS manages these. */
export const MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by";
export const DNS_MANAGER = "dns.skiff.dev";

const DNS_PORTS: ServicePort[] = [
  { name: "dns", protocol: "UDP", port: 53, targetPort: 53 },
  { name: "dns-tcp", protocol: "TCP", port: 53, targetPort: 53 },
];

export const kubeDnsSliceName = (nodeName: string): string => `kube-dns-${nodeName}`;

/** The Service as created when absent. */
export function desiredKubeDnsService(clusterDNS: string): Service {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: {
      name: KUBE_DNS_SERVICE,
      namespace: KUBE_DNS_NAMESPACE,
      labels: { "k8s-app": "kube-dns", "kubernetes.io/name": "KubeDNS" },
    },
    spec: {
      type: "ClusterIP",
      clusterIP: clusterDNS,
      clusterIPs: [clusterDNS],
      ports: DNS_PORTS.map((p) => ({ ...p })),
      internalTrafficPolicy: "Local",
    },
  };
}

/** The ports an existing Service lacks: the DNS ports by name, replaced when they differ. */
export function missingDnsPorts(svc: Service): ServicePort[] | undefined {
  const have = svc.spec?.ports ?? [];
  const ok = (want: ServicePort) =>
    have.some(
      (p) =>
        p.name === want.name &&
        (p.protocol ?? "TCP") === want.protocol &&
        p.port === want.port &&
        (p.targetPort === undefined || p.targetPort === want.port),
    );
  if (DNS_PORTS.every(ok)) return undefined;
  const names = new Set(DNS_PORTS.map((p) => p.name));
  return [...have.filter((p) => !names.has(p.name)), ...DNS_PORTS.map((p) => ({ ...p }))];
}

export interface NodeRef {
  name: string;
  uid: string;
}

/** This node's slice. */
export function desiredKubeDnsSlice(node: NodeRef, nodeIP: string): EndpointSlice {
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: {
      name: kubeDnsSliceName(node.name),
      namespace: KUBE_DNS_NAMESPACE,
      labels: { [SERVICE_NAME_LABEL]: KUBE_DNS_SERVICE, [MANAGED_BY_LABEL]: DNS_MANAGER },
      ownerReferences: [{ apiVersion: "v1", kind: "Node", name: node.name, uid: node.uid }],
    },
    addressType: "IPv4",
    endpoints: [
      {
        addresses: [nodeIP],
        conditions: { ready: true, serving: true, terminating: false },
        nodeName: node.name,
      },
    ],
    ports: DNS_PORTS.map((p) => ({ name: p.name, protocol: p.protocol, port: p.port })),
  };
}

/** Whether the fields this agent owns already hold what they should. */
function sliceUpToDate(have: EndpointSlice, want: EndpointSlice): boolean {
  const labels = have.metadata.labels ?? {};
  const labelsOk = Object.entries(want.metadata.labels ?? {}).every(([k, v]) => labels[k] === v);
  const owners = (o: EndpointSlice) =>
    JSON.stringify((o.metadata.ownerReferences ?? []).map((r) => [r.apiVersion, r.kind, r.name, r.uid]));
  const eps = (o: EndpointSlice) =>
    JSON.stringify(
      (o.endpoints ?? []).map((e) => [e.addresses, e.conditions?.ready, e.conditions?.serving, e.nodeName]),
    );
  const ports = (o: EndpointSlice) =>
    JSON.stringify((o.ports ?? []).map((p) => [p.name, p.protocol ?? "TCP", p.port]));
  return (
    labelsOk &&
    have.addressType === want.addressType &&
    owners(have) === owners(want) &&
    eps(have) === eps(want) &&
    ports(have) === ports(want)
  );
}

interface NodeAddress {
  type?: string;
  address?: string;
}

export interface KubeDnsSyncOptions {
  client: ClientInterface;
  nodeName: string;
  clusterDNS: string;
  /** The node IP when the caller knows it; otherwise the Node's InternalIP. */
  nodeIP?: () => string | undefined;
  services: Informer<Service>;
  slices: Informer<EndpointSlice>;
  logger: Logger;
}

/**
 * What a sync ended with: both objects as they should be, or to be tried again soon (the Node or
 * its IP not there yet, or a write lost a race).
 */
export type KubeDnsSyncResult = "synced" | "waiting";

/** One step toward both objects; throws on API errors other than the races it expects. */
export async function syncKubeDns(o: KubeDnsSyncOptions): Promise<KubeDnsSyncResult> {
  const serviceDone = await syncService(o);
  let node: KubeObject;
  try {
    node = await o.client.resource("v1", "nodes").get(o.nodeName);
  } catch (e) {
    if (isNotFound(e)) return "waiting";
    throw e;
  }
  const uid = node.metadata?.uid;
  const addresses = ((node.status as { addresses?: NodeAddress[] } | undefined)?.addresses ?? []).filter(
    (a) => a.type === "InternalIP" && typeof a.address === "string" && !a.address.includes(":"),
  );
  const nodeIP = o.nodeIP?.() ?? addresses[0]?.address;
  if (uid === undefined || nodeIP === undefined) return "waiting";
  const sliceDone = await syncSlice(o, desiredKubeDnsSlice({ name: o.nodeName, uid }, nodeIP));
  return serviceDone && sliceDone ? "synced" : "waiting";
}

/** Whether the Service is as it should be (false: a write lost a race, look again). */
async function syncService(o: KubeDnsSyncOptions): Promise<boolean> {
  const services = o.client.resource<Service>("v1", "services", KUBE_DNS_NAMESPACE);
  const have = o.services.get(`${KUBE_DNS_NAMESPACE}/${KUBE_DNS_SERVICE}`);
  try {
    if (have === undefined) {
      await services.create(desiredKubeDnsService(o.clusterDNS));
      o.logger.info({ service: KUBE_DNS_SERVICE, clusterIP: o.clusterDNS }, "created the kube-dns Service");
      return true;
    }
    const ports = missingDnsPorts(have);
    if (ports === undefined) return true;
    const updated = structuredClone(have) as Service;
    updated.spec = { ...updated.spec, ports };
    await services.update(updated);
    o.logger.info({ service: KUBE_DNS_SERVICE }, "added the DNS ports to the kube-dns Service");
    return true;
  } catch (e) {
    // Another agent (or a stale cache) got there first: the next sync sees its result.
    if (isAlreadyExists(e) || isConflict(e)) return false;
    throw e;
  }
}

async function syncSlice(o: KubeDnsSyncOptions, want: EndpointSlice): Promise<boolean> {
  const slices = o.client.resource<EndpointSlice>(
    "discovery.k8s.io/v1",
    "endpointslices",
    KUBE_DNS_NAMESPACE,
  );
  const have = o.slices.get(`${KUBE_DNS_NAMESPACE}/${want.metadata.name}`);
  try {
    if (have === undefined) {
      await slices.create(want);
      o.logger.info({ endpointSlice: want.metadata.name }, "created the node's kube-dns EndpointSlice");
      return true;
    }
    if (sliceUpToDate(have, want)) return true;
    const updated: EndpointSlice = {
      ...want,
      metadata: {
        ...structuredClone(have.metadata),
        labels: { ...have.metadata.labels, ...want.metadata.labels },
        ownerReferences: want.metadata.ownerReferences ?? [],
      },
    };
    await slices.update(updated);
    o.logger.info({ endpointSlice: want.metadata.name }, "updated the node's kube-dns EndpointSlice");
    return true;
  } catch (e) {
    if (isAlreadyExists(e) || isConflict(e)) return false;
    throw e;
  }
}
