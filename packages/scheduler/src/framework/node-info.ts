/**
 * framework.NodeInfo: a node with the pods the scheduler believes are on it (bound or assumed),
 * and the aggregates the plugins read on every cycle (requested resources, used host ports,
 * pods with affinity). `generation` grows on every change so that a snapshot copies only what
 * changed since it was last taken (kube's incremental UpdateSnapshot).
 */
import type { ContainerPort, Node, Pod } from "@skiff/api";
import type { PodInfo } from "./pod-info.js";
import { Resource } from "./resource.js";

let generation = 0;
export function nextGeneration(): number {
  return ++generation;
}

/**
 * The host ports a pod holds (schedutil.GetHostPorts): its containers' ports with a hostPort, and
 * those of restartable (sidecar) init containers, which run as long as the pod does. Ordinary init
 * containers are ignored: they run before the others and hold no port afterwards.
 */
export function getHostPorts(pod: Pod): ContainerPort[] {
  const ports: ContainerPort[] = [];
  for (const c of pod.spec.initContainers ?? []) {
    if (c.restartPolicy !== "Always") continue;
    for (const p of c.ports ?? []) if (p.hostPort !== undefined && p.hostPort > 0) ports.push(p);
  }
  for (const c of pod.spec.containers ?? [])
    for (const p of c.ports ?? []) if (p.hostPort !== undefined && p.hostPort > 0) ports.push(p);
  return ports;
}

/** Host ports in use: "ip/protocol/port" strings ("0.0.0.0" for any address, TCP for no protocol). */
export class HostPortInfo {
  readonly used = new Map<string, number>();

  static key(ip: string | undefined, protocol: string | undefined, port: number): string {
    return `${ip === undefined || ip === "" ? "0.0.0.0" : ip}/${protocol || "TCP"}/${port}`;
  }

  add(ip: string | undefined, protocol: string | undefined, port: number, sign = 1): void {
    const k = HostPortInfo.key(ip, protocol, port);
    const n = (this.used.get(k) ?? 0) + sign;
    if (n <= 0) this.used.delete(k);
    else this.used.set(k, n);
  }

  /** kube's CheckConflict: the same protocol and port, and the same IP or either side on 0.0.0.0. */
  conflicts(ip: string | undefined, protocol: string | undefined, port: number): boolean {
    const wantIp = ip === undefined || ip === "" ? "0.0.0.0" : ip;
    const proto = protocol || "TCP";
    if (wantIp === "0.0.0.0") {
      const suffix = `/${proto}/${port}`;
      for (const k of this.used.keys()) if (k.endsWith(suffix)) return true;
      return false;
    }
    return this.used.has(`${wantIp}/${proto}/${port}`) || this.used.has(`0.0.0.0/${proto}/${port}`);
  }
}

export interface ImageStateSummary {
  size: number;
  /** How many nodes have the image (ImageLocality scales by spread). */
  numNodes: number;
}

export class NodeInfo {
  node: Node | undefined;
  pods: PodInfo[] = [];
  podsWithAffinity: PodInfo[] = [];
  podsWithRequiredAntiAffinity: PodInfo[] = [];
  usedPorts = new HostPortInfo();
  /** Sum of the pods' requests. */
  requested = new Resource();
  /** As requested, with best-effort containers counted as 100m / 200Mi (for scoring). */
  nonZeroRequested = new Resource();
  allocatable = new Resource();
  imageStates = new Map<string, ImageStateSummary>();
  /** PVC "namespace/name" -> pods on this node using it. */
  pvcRefCounts = new Map<string, number>();
  generation = nextGeneration();

  constructor(node?: Node) {
    if (node !== undefined) this.setNode(node);
  }

  get name(): string {
    return this.node?.metadata.name ?? "";
  }

  /** Throws QuantityError on a malformed allocatable. */
  setNode(node: Node): void {
    const alloc = node.status?.allocatable ?? node.status?.capacity;
    this.allocatable = Resource.fromList(alloc);
    this.node = node;
    this.generation = nextGeneration();
  }

  removeNode(): void {
    this.node = undefined;
    this.generation = nextGeneration();
  }

  addPod(pi: PodInfo): void {
    this.pods.push(pi);
    if (pi.hasAffinity()) this.podsWithAffinity.push(pi);
    if (pi.requiredAntiAffinityTerms.length > 0) this.podsWithRequiredAntiAffinity.push(pi);
    this.update(pi, 1);
  }

  /** Removes the pod with this uid; false when it is not here. */
  removePod(uid: string): boolean {
    const i = this.pods.findIndex((p) => p.uid === uid);
    if (i < 0) return false;
    const pi = this.pods[i] as PodInfo;
    this.pods.splice(i, 1);
    const drop = (list: PodInfo[]) => {
      const j = list.findIndex((p) => p.uid === uid);
      if (j >= 0) list.splice(j, 1);
    };
    drop(this.podsWithAffinity);
    drop(this.podsWithRequiredAntiAffinity);
    this.update(pi, -1);
    return true;
  }

  private update(pi: PodInfo, sign: number): void {
    this.requested.add(pi.requests, sign);
    this.requested.allowedPodNumber = 0;
    this.nonZeroRequested.milliCPU += sign * pi.nonZero.milliCPU;
    this.nonZeroRequested.memory += sign * pi.nonZero.memory;
    for (const p of getHostPorts(pi.pod))
      this.usedPorts.add(p.hostIP, p.protocol, p.hostPort as number, sign);
    for (const v of pi.pod.spec.volumes ?? []) {
      const claim = v.persistentVolumeClaim?.claimName;
      if (claim === undefined) continue;
      const k = `${pi.pod.metadata.namespace}/${claim}`;
      const n = (this.pvcRefCounts.get(k) ?? 0) + sign;
      if (n <= 0) this.pvcRefCounts.delete(k);
      else this.pvcRefCounts.set(k, n);
    }
    this.generation = nextGeneration();
  }

  /** A copy whose lists and aggregates can change without touching this one (pods are shared). */
  clone(): NodeInfo {
    const c = new NodeInfo();
    c.node = this.node;
    c.pods = [...this.pods];
    c.podsWithAffinity = [...this.podsWithAffinity];
    c.podsWithRequiredAntiAffinity = [...this.podsWithRequiredAntiAffinity];
    for (const [k, v] of this.usedPorts.used) c.usedPorts.used.set(k, v);
    c.requested = this.requested.clone();
    c.nonZeroRequested = this.nonZeroRequested.clone();
    c.allocatable = this.allocatable;
    c.imageStates = this.imageStates;
    c.pvcRefCounts = new Map(this.pvcRefCounts);
    c.generation = this.generation;
    return c;
  }
}
