/**
 * The pod conditions the kubelet owns, as pkg/kubelet/status/generate.go builds them:
 * PodReadyToStartContainers, Initialized, ContainersReady and Ready, with kube's reasons and
 * messages. Other conditions (PodScheduled, DisruptionTarget ...) belong to other writers and are
 * carried over unchanged.
 */
import type { PodCondition } from "@skiff/api";
import type { V1ContainerStatus } from "../api-types.js";

export const KUBELET_CONDITIONS = new Set([
  "PodReadyToStartContainers",
  "Initialized",
  "ContainersReady",
  "Ready",
]);

type Phase = "Pending" | "Running" | "Succeeded" | "Failed" | "Unknown";

function statusOf(
  statuses: readonly V1ContainerStatus[] | undefined,
  name: string,
): V1ContainerStatus | undefined {
  return statuses?.find((s) => s.name === name);
}

const list = (names: readonly string[]) => `[${names.join(" ")}]`;

/** GenerateContainersReadyCondition. */
export function containersReadyCondition(
  names: readonly string[],
  statuses: readonly V1ContainerStatus[] | undefined,
  phase: Phase,
): PodCondition {
  if (statuses === undefined)
    return { type: "ContainersReady", status: "False", reason: "UnknownContainerStatuses" };
  const unknown: string[] = [];
  const unready: string[] = [];
  for (const n of names) {
    const s = statusOf(statuses, n);
    if (s === undefined) unknown.push(n);
    else if (!s.ready) unready.push(n);
  }
  if (phase === "Succeeded" && unknown.length === 0)
    return { type: "ContainersReady", status: "False", reason: "PodCompleted" };
  const parts: string[] = [];
  if (unknown.length > 0) parts.push(`containers with unknown status: ${list(unknown)}`);
  if (unready.length > 0) parts.push(`containers with unready status: ${list(unready)}`);
  if (parts.length > 0)
    return {
      type: "ContainersReady",
      status: "False",
      reason: "ContainersNotReady",
      message: parts.join(", "),
    };
  return { type: "ContainersReady", status: "True" };
}

/** GeneratePodReadyCondition (readiness gates are not supported: the condition follows ContainersReady). */
export function podReadyCondition(
  names: readonly string[],
  statuses: readonly V1ContainerStatus[] | undefined,
  phase: Phase,
): PodCondition {
  const c = containersReadyCondition(names, statuses, phase);
  return { ...c, type: "Ready" };
}

/** GeneratePodInitializedCondition. */
export function podInitializedCondition(
  names: readonly string[],
  statuses: readonly V1ContainerStatus[] | undefined,
  phase: Phase,
): PodCondition {
  if (names.length === 0) return { type: "Initialized", status: "True" };
  const unknown: string[] = [];
  const incomplete: string[] = [];
  for (const n of names) {
    const s = statusOf(statuses, n);
    if (s === undefined) unknown.push(n);
    else if (s.state.terminated?.exitCode !== 0) incomplete.push(n);
  }
  if (phase === "Succeeded" && unknown.length === 0)
    return { type: "Initialized", status: "True", reason: "PodCompleted" };
  const parts: string[] = [];
  if (unknown.length > 0) parts.push(`containers with unknown status: ${list(unknown)}`);
  if (incomplete.length > 0) parts.push(`containers with incomplete status: ${list(incomplete)}`);
  if (parts.length > 0)
    return {
      type: "Initialized",
      status: "False",
      reason: "ContainersNotInitialized",
      message: parts.join(", "),
    };
  return { type: "Initialized", status: "True" };
}

/** generatePodReadyToStartContainersCondition: the sandbox (network, cgroup, volumes) is up. */
export function readyToStartContainersCondition(sandboxReady: boolean): PodCondition {
  return { type: "PodReadyToStartContainers", status: sandboxReady ? "True" : "False" };
}
