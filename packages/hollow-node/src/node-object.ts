/**
 * The objects a hollow node writes, as a kubelet writes them (pkg/kubelet/kubelet_node_status.go
 * and nodestatus/setters.go; the node lease controller in component-helpers/apimachinery/lease):
 * the Node it registers, the status it posts, its Lease in kube-node-lease. Pure functions of the
 * node's identity, the shared shape and the time; nothing here is kept per node.
 */
import { createHash } from "node:crypto";
import type { Lease, Node, NodeCondition, NodeStatus, ResourceList } from "@skiff/api";
import { metav1Time } from "@skiff/api";
import { microTime } from "./clock.js";

export const kubeletVersion = "v1.32.0-skiff-hollow";
export const containerRuntimeVersion = "fake://0.1.0";
/** The namespace of node Leases (kube's corev1.NamespaceNodeLease). */
export const nodeLeaseNamespace = "kube-node-lease";
/** kubelet's --node-status-port default, as it publishes it in daemonEndpoints. */
const kubeletPort = 10250;

/** What every hollow node of a run shares. */
export interface NodeShape {
  /** capacity and allocatable (no system or kube reservations: allocatable is capacity). */
  readonly capacity: Readonly<ResourceList>;
  readonly zones: number;
}

/** What tells one hollow node from another. */
export interface NodeIdentity {
  readonly name: string;
  readonly index: number;
  readonly podCIDR: string;
  readonly internalIP: string;
}

export function zoneOf(index: number, zones: number): string {
  return `zone-${index % zones}`;
}

/** kubelet's default labels (getNodeLabels / updateDefaultLabels) plus the topology zone. */
export function nodeLabels(n: NodeIdentity, shape: NodeShape): Record<string, string> {
  return {
    "kubernetes.io/hostname": n.name,
    "kubernetes.io/os": "linux",
    "kubernetes.io/arch": "amd64",
    "topology.kubernetes.io/zone": zoneOf(n.index, shape.zones),
    "node.kubernetes.io/instance-type": "hollow",
  };
}

/** Ready plus the three pressure conditions, as setters.go words them on a healthy node. */
export function nodeConditions(now: number, since: number): NodeCondition[] {
  const c = (type: string, status: "True" | "False", reason: string, message: string): NodeCondition => ({
    type,
    status,
    reason,
    message,
    lastHeartbeatTime: metav1Time(new Date(now)),
    lastTransitionTime: metav1Time(new Date(since)),
  });
  return [
    c("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
    c("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    c("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
    c("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
  ];
}

/** A stable 32-hex id per node and purpose (machine-id, system UUID, boot id). */
function fakeId(name: string, what: string): string {
  return createHash("md5").update(`${what}/${name}`).digest("hex");
}

export function nodeStatus(n: NodeIdentity, shape: NodeShape, now: number, since: number): NodeStatus {
  return {
    capacity: { ...shape.capacity },
    allocatable: { ...shape.capacity },
    conditions: nodeConditions(now, since),
    addresses: [
      { type: "InternalIP", address: n.internalIP },
      { type: "Hostname", address: n.name },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: kubeletPort } },
    nodeInfo: {
      machineID: fakeId(n.name, "machine"),
      systemUUID: fakeId(n.name, "system"),
      bootID: fakeId(n.name, `boot/${since}`),
      kernelVersion: "hollow",
      osImage: "Skiff hollow node",
      containerRuntimeVersion,
      kubeletVersion,
      kubeProxyVersion: "",
      operatingSystem: "linux",
      architecture: "amd64",
    },
  };
}

/** The Node a hollow node registers (kubelet's initialNode, status included). */
export function newNode(n: NodeIdentity, shape: NodeShape, now: number): Node {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name: n.name,
      labels: nodeLabels(n, shape),
      annotations: { "volumes.kubernetes.io/controller-managed-attach-detach": "true" },
    },
    spec: { podCIDR: n.podCIDR, podCIDRs: [n.podCIDR], providerID: `hollow://${n.name}` },
    status: nodeStatus(n, shape, now, now),
  };
}

/**
 * Taking over a Node of the same name (a restart): the labels and pod CIDR this run gives it, as
 * kubelet's reconcile on AlreadyExists updates its default labels. A strategic merge patch.
 */
export function takeOverPatch(
  n: NodeIdentity,
  shape: NodeShape,
): { metadata: { labels: Record<string, string> }; spec: { podCIDR: string; podCIDRs: string[] } } {
  return {
    metadata: { labels: nodeLabels(n, shape) },
    spec: { podCIDR: n.podCIDR, podCIDRs: [n.podCIDR] },
  };
}

/** The periodic status post with leases on: only the heartbeats change (strategic merge on conditions). */
export function heartbeatPatch(now: number, since: number): object {
  return { status: { conditions: nodeConditions(now, since) } };
}

/** The node's Lease, owned by its Node so it goes with it (the lease controller's newLease). */
export function newLease(
  name: string,
  nodeUid: string | undefined,
  durationSeconds: number,
  now: number,
): Lease {
  return {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: {
      name,
      namespace: nodeLeaseNamespace,
      ...(nodeUid === undefined
        ? {}
        : { ownerReferences: [{ apiVersion: "v1", kind: "Node", name, uid: nodeUid }] }),
    },
    spec: { holderIdentity: name, leaseDurationSeconds: durationSeconds, renewTime: microTime(now) },
  };
}

/**
 * A renewal as a merge patch: the upstream controller PUTs its last copy of the Lease, which would
 * mean keeping 5,000 of them; a patch of the three fields the holder owns needs none.
 */
export function renewPatch(name: string, durationSeconds: number, now: number): object {
  return { spec: { holderIdentity: name, leaseDurationSeconds: durationSeconds, renewTime: microTime(now) } };
}
