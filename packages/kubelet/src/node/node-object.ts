/**
 * The Node object as the kubelet builds it (kubelet_node_status.go's initialNode and
 * getNodeLabels; nodestatus/setters.go's NodeAddress, MachineInfo, NodeInfo, DaemonEndpoints and
 * Images setters): pure functions of the machine, the options and the time.
 */
import type { ContainerImage, Node, NodeStatus, ResourceList } from "@skiff/api";
import type { ImageRef } from "../runtime/runtime.js";
import { hardEvictionReservation, type Threshold } from "./eviction/thresholds.js";
import { formatBytes, type MachineInfo } from "./machine.js";

/** The annotation telling the API server where this node's kubelet serves (host:port). */
export const kubeletAddressAnnotation = "skiff.dev/kubelet-address";
/** kube's volumes.kubernetes.io/controller-managed-attach-detach, set on every new Node. */
const attachDetachAnnotation = "volumes.kubernetes.io/controller-managed-attach-detach";
/** nodeStatusMaxImages: the kubelet reports the 50 largest images. */
export const nodeStatusMaxImages = 50;

export interface NodeIdentity {
  nodeName: string;
  /** The Hostname address and kubernetes.io/hostname label (kube's --hostname-override). */
  hostname: string;
  machine: MachineInfo;
  nodeIP: string;
  kubeletPort: number;
  kubeletAddress: string;
  labels: Readonly<Record<string, string>>;
  maxPods: number;
  runtimeVersion: string;
  kubeletVersion: string;
  evictionHard: readonly Threshold[];
}

/**
 * The labels the kubelet owns (updateDefaultLabels' set): hostname, os and arch, with the
 * beta.kubernetes.io twins kube 1.32 still writes. node.kubernetes.io/instance-type and the
 * topology labels come from a cloud provider in kube; Skiff has none, so they come from
 * `--node-labels` (the `labels` option) if at all.
 */
export function defaultLabels(id: Pick<NodeIdentity, "hostname" | "machine">): Record<string, string> {
  return {
    "beta.kubernetes.io/arch": id.machine.architecture,
    "beta.kubernetes.io/os": id.machine.operatingSystem,
    "kubernetes.io/arch": id.machine.architecture,
    "kubernetes.io/hostname": id.hostname,
    "kubernetes.io/os": id.machine.operatingSystem,
  };
}

export function nodeLabels(id: NodeIdentity): Record<string, string> {
  return { ...id.labels, ...defaultLabels(id) };
}

/** Capacity (MachineInfo setter) and allocatable: capacity less the hard eviction reservation. */
export function capacityAndAllocatable(id: NodeIdentity): {
  capacity: ResourceList;
  allocatable: ResourceList;
} {
  const m = id.machine;
  const capacity: ResourceList = {
    cpu: String(m.cpus),
    "ephemeral-storage": formatBytes(m.ephemeralStorageBytes),
    "hugepages-1Gi": "0",
    "hugepages-2Mi": "0",
    memory: formatBytes(m.memoryBytes),
    pods: String(id.maxPods),
  };
  const r = hardEvictionReservation(id.evictionHard, {
    memory: m.memoryBytes,
    ephemeralStorage: m.ephemeralStorageBytes,
  });
  const allocatable: ResourceList = {
    ...capacity,
    "ephemeral-storage": formatBytes(Math.max(0, m.ephemeralStorageBytes - r.ephemeralStorage)),
    memory: formatBytes(Math.max(0, m.memoryBytes - r.memory)),
  };
  return { capacity, allocatable };
}

/** Every status field but conditions (those need the previous ones: conditions.ts). */
export function staticStatus(id: NodeIdentity, images: readonly ContainerImage[]): NodeStatus {
  const m = id.machine;
  return {
    ...capacityAndAllocatable(id),
    addresses: [
      { type: "InternalIP", address: id.nodeIP },
      { type: "Hostname", address: id.hostname },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: id.kubeletPort } },
    nodeInfo: {
      machineID: m.machineID,
      systemUUID: m.systemUUID,
      bootID: m.bootID,
      kernelVersion: m.kernelVersion,
      osImage: m.osImage,
      containerRuntimeVersion: id.runtimeVersion,
      kubeletVersion: id.kubeletVersion,
      // Deprecated; kube 1.32 (DisableNodeKubeProxyVersion) leaves it empty.
      kubeProxyVersion: "",
      operatingSystem: m.operatingSystem,
      architecture: m.architecture,
    },
    images: [...images],
  };
}

/** initialNode: what a first registration creates. */
export function initialNode(id: NodeIdentity, images: readonly ContainerImage[]): Node {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name: id.nodeName,
      labels: nodeLabels(id),
      annotations: {
        [attachDetachAnnotation]: "true",
        [kubeletAddressAnnotation]: id.kubeletAddress,
      },
    },
    spec: {},
    status: staticStatus(id, images),
  };
}

/** The repository part of an image reference ("skiff.local/busybox:latest" -> "skiff.local/busybox"). */
function repository(ref: string): string {
  const at = ref.indexOf("@");
  if (at >= 0) return ref.slice(0, at);
  const colon = ref.lastIndexOf(":");
  return colon > ref.lastIndexOf("/") ? ref.slice(0, colon) : ref;
}

/**
 * The Images setter: one entry per image id, named by its digests then its tags (as kube joins
 * RepoDigests and RepoTags), largest first, at most nodeStatusMaxImages.
 */
export function nodeImages(refs: readonly ImageRef[]): ContainerImage[] {
  const byId = new Map<string, { digests: Set<string>; tags: Set<string>; size: number }>();
  for (const r of refs) {
    const e = byId.get(r.id) ?? { digests: new Set(), tags: new Set(), size: r.size };
    e.digests.add(`${repository(r.ref)}@${r.id}`);
    if (!r.ref.includes("@")) e.tags.add(r.ref);
    e.size = Math.max(e.size, r.size);
    byId.set(r.id, e);
  }
  return [...byId.values()]
    .sort((a, b) => b.size - a.size)
    .slice(0, nodeStatusMaxImages)
    .map((e) => ({ names: [...e.digests, ...e.tags], sizeBytes: e.size }));
}
