/**
 * resourceFieldRef values as kube's pkg/api/v1/resource: ExtractContainerResourceValue with the
 * container's limits defaulted to the node's allocatable where unset
 * (MergeContainerResourceLimits), so a container without a memory limit reads the node's.
 */
import { type Container, type Pod, parseQuantity, type ResourceList } from "@skiff/api";
import type { ResourceFieldSelector } from "../api-types.js";

/** Quantity.MilliValue and Value both round up, as resource.Quantity does. */
const milliValue = (q: string): number => Math.ceil(parseQuantity(q) * 1000);
const value = (q: string): number => Math.ceil(parseQuantity(q));

const DEFAULTED_LIMITS = ["cpu", "memory", "ephemeral-storage"];

/** MergeContainerResourceLimits: unset cpu, memory and ephemeral-storage limits from allocatable. */
export function mergeContainerResourceLimits(container: Container, allocatable: ResourceList): Container {
  const limits: ResourceList = { ...(container.resources?.limits ?? {}) };
  for (const r of DEFAULTED_LIMITS) {
    const a = allocatable[r];
    if (limits[r] === undefined && a !== undefined) limits[r] = a;
  }
  return { ...container, resources: { ...container.resources, limits } };
}

/** ExtractContainerResourceValue: the value divided by the divisor, rounded up. */
export function extractContainerResourceValue(fs: ResourceFieldSelector, container: Container): string {
  const divisor = fs.divisor === undefined || parseQuantity(fs.divisor) === 0 ? "1" : fs.divisor;
  const dot = fs.resource.indexOf(".");
  const kind = fs.resource.slice(0, dot);
  const name = fs.resource.slice(dot + 1);
  if (kind === "limits" || kind === "requests") {
    // An unset quantity reads as zero, as Quantity's Cpu() and Memory() of a missing entry.
    const q = container.resources?.[kind]?.[name] ?? "0";
    if (name === "cpu") return String(Math.ceil(milliValue(q) / milliValue(divisor)));
    if (name === "memory" || name === "ephemeral-storage" || name.startsWith("hugepages-"))
      return String(Math.ceil(value(q) / value(divisor)));
  }
  throw new Error(`unsupported container resource : ${fs.resource}`);
}

/** ExtractResourceValueByContainerNameAndNodeAllocatable: the named container of the pod. */
export function extractResourceValueByContainerName(
  fs: ResourceFieldSelector,
  pod: Pod,
  containerName: string,
  allocatable: ResourceList,
): string {
  const all = [...(pod.spec.initContainers ?? []), ...pod.spec.containers];
  const c = all.find((x) => x.name === containerName);
  if (c === undefined) throw new Error(`container ${containerName} not found`);
  return extractContainerResourceValue(fs, mergeContainerResourceLimits(c, allocatable));
}
