/**
 * The NodeResourcesFit filter (kube's noderesources/fit.go fitsRequest): a node fits a pod when it
 * has room for one more pod and, for every resource the pod requests, allocatable minus what its
 * pods already request covers the request. Kept apart from the plugin so that the queueing hints
 * (and, later, preemption) can ask the same question.
 */
import type { Node, Pod } from "@skiff/api";
import { NodeInfo } from "../../framework/node-info.js";
import type { Resource } from "../../framework/resource.js";

/**
 * kube's v1helper.IsExtendedResourceName: a domain-prefixed name that is not a native one (native:
 * no domain, or "kubernetes.io/" anywhere in it) and not a quota "requests." name.
 */
export function isExtendedResourceName(name: string): boolean {
  if (!name.includes("/") || name.includes("kubernetes.io/")) return false;
  return !name.startsWith("requests.");
}

/**
 * A pod's request as the filter checks it, computed once per cycle: the scalar (extended,
 * hugepages) requests are flattened to arrays, without zeros and without the ignored ones.
 */
export class PodResourceRequest {
  readonly milliCPU: number;
  readonly memory: number;
  readonly ephemeralStorage: number;
  readonly scalarNames: string[] = [];
  readonly scalarValues: number[] = [];
  /** Nothing but the pod count to check (kube's all-zero shortcut). */
  readonly onlyPods: boolean;

  constructor(
    r: Resource,
    ignoredResources: ReadonlySet<string> = new Set(),
    ignoredResourceGroups: ReadonlySet<string> = new Set(),
  ) {
    this.milliCPU = r.milliCPU;
    this.memory = r.memory;
    this.ephemeralStorage = r.ephemeralStorage;
    for (const [name, v] of r.scalarResources ?? []) {
      if (v === 0) continue;
      if (
        isExtendedResourceName(name) &&
        (ignoredResources.has(name) || ignoredResourceGroups.has(name.slice(0, name.indexOf("/"))))
      )
        continue;
      this.scalarNames.push(name);
      this.scalarValues.push(v);
    }
    this.onlyPods =
      this.milliCPU === 0 &&
      this.memory === 0 &&
      this.ephemeralStorage === 0 &&
      (r.scalarResources === undefined || r.scalarResources.size === 0);
  }
}

/** Appends to a list created on the first failure (nodes that fit allocate nothing). */
function appendReason(reasons: string[] | undefined, reason: string): string[] {
  if (reasons === undefined) return [reason];
  reasons.push(reason);
  return reasons;
}

/**
 * The reasons the pod does not fit (kube's InsufficientResource reasons, in kube's order: pods,
 * cpu, memory, ephemeral-storage, then extended resources); undefined when it fits.
 */
export function insufficientResources(req: PodResourceRequest, nodeInfo: NodeInfo): string[] | undefined {
  let reasons: string[] | undefined;
  const alloc = nodeInfo.allocatable;
  const used = nodeInfo.requested;
  if (nodeInfo.pods.length + 1 > alloc.allowedPodNumber) reasons = ["Too many pods"];
  if (req.onlyPods) return reasons;
  if (req.milliCPU > 0 && req.milliCPU > alloc.milliCPU - used.milliCPU)
    reasons = appendReason(reasons, "Insufficient cpu");
  if (req.memory > 0 && req.memory > alloc.memory - used.memory)
    reasons = appendReason(reasons, "Insufficient memory");
  if (req.ephemeralStorage > 0 && req.ephemeralStorage > alloc.ephemeralStorage - used.ephemeralStorage)
    reasons = appendReason(reasons, "Insufficient ephemeral-storage");
  const names = req.scalarNames;
  for (let i = 0; i < names.length; i++) {
    const name = names[i] as string;
    if ((req.scalarValues[i] as number) > alloc.scalar(name) - used.scalar(name))
      reasons = appendReason(reasons, `Insufficient ${name}`);
  }
  return reasons;
}

/** kube's isFit: the pod fits an empty copy of the node (no ignored resources). */
export function isFit(podRequest: Resource, node: Node | undefined | null): boolean {
  if (node === undefined || node === null) return false;
  return insufficientResources(new PodResourceRequest(podRequest), new NodeInfo(node)) === undefined;
}

/**
 * kube's haveAnyRequestedResourcesIncreased: the node's allowed pod count grew, or the allocatable
 * of a resource the pod requests did.
 */
export function haveAnyRequestedResourcesIncreased(
  podRequest: Resource,
  original: Node,
  modified: Node,
): boolean {
  const before = new NodeInfo(original).allocatable;
  const after = new NodeInfo(modified).allocatable;
  if (after.allowedPodNumber > before.allowedPodNumber) return true;
  const r = podRequest;
  if (r.milliCPU > 0 && after.milliCPU > before.milliCPU) return true;
  if (r.memory > 0 && after.memory > before.memory) return true;
  if (r.ephemeralStorage > 0 && after.ephemeralStorage > before.ephemeralStorage) return true;
  for (const [name, v] of r.scalarResources ?? [])
    if (v !== 0 && after.scalar(name) > before.scalar(name)) return true;
  return false;
}

/** For the pod-event hint: the deleted pod frees resources only if it was on a node. */
export function wasAssigned(pod: Pod): boolean {
  return pod.spec.nodeName !== undefined && pod.spec.nodeName !== "";
}
