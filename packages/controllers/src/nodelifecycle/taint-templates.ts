/**
 * Which taints the node lifecycle controller puts on nodes (node_lifecycle_controller.go's
 * templates and maps): NoExecute not-ready/unreachable, mutually exclusive as the Ready status
 * they mirror, and a NoSchedule taint for each condition that makes a node unfit for new pods.
 */
import type { Node, Taint } from "@skiff/api";
import {
  TaintNodeDiskPressure,
  TaintNodeMemoryPressure,
  TaintNodeNetworkUnavailable,
  TaintNodeNotReady,
  TaintNodePIDPressure,
  TaintNodeUnreachable,
  TaintNodeUnschedulable,
} from "../util/taints.js";

/** UnreachableTaintTemplate: Ready is Unknown (the node stopped reporting). */
export const UnreachableTaintTemplate: Readonly<Taint> = { key: TaintNodeUnreachable, effect: "NoExecute" };
/** NotReadyTaintTemplate: Ready is False (the kubelet says the node is not ready). */
export const NotReadyTaintTemplate: Readonly<Taint> = { key: TaintNodeNotReady, effect: "NoExecute" };

/** nodeConditionToTaintKeyStatusMap: condition type -> status -> the NoSchedule taint's key. */
const nodeConditionToTaintKey: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  Ready: { False: TaintNodeNotReady, Unknown: TaintNodeUnreachable },
  MemoryPressure: { True: TaintNodeMemoryPressure },
  DiskPressure: { True: TaintNodeDiskPressure },
  NetworkUnavailable: { True: TaintNodeNetworkUnavailable },
  PIDPressure: { True: TaintNodePIDPressure },
};

/** taintKeyToNodeConditionMap's keys: the condition taints this controller owns. */
const conditionTaintKeys = new Set([
  TaintNodeNotReady,
  TaintNodeUnreachable,
  TaintNodeNetworkUnavailable,
  TaintNodeMemoryPressure,
  TaintNodeDiskPressure,
  TaintNodePIDPressure,
]);

/** The NoSchedule taints the node's conditions and spec.unschedulable call for. */
export function noScheduleTaintsFor(node: Node): Taint[] {
  const taints: Taint[] = [];
  for (const c of node.status?.conditions ?? []) {
    const key = nodeConditionToTaintKey[c.type]?.[c.status];
    if (key !== undefined) taints.push({ key, effect: "NoSchedule" });
  }
  if (node.spec?.unschedulable === true) taints.push({ key: TaintNodeUnschedulable, effect: "NoSchedule" });
  return taints;
}

/** The node's NoSchedule taints that this controller owns (and so may remove). */
export function ownedNoScheduleTaints(node: Node): Taint[] {
  return (node.spec?.taints ?? []).filter(
    (t) => t.effect === "NoSchedule" && (t.key === TaintNodeUnschedulable || conditionTaintKeys.has(t.key)),
  );
}

/**
 * labelReconcileInfo: the beta OS and arch labels kept equal to the stable ones (the stable
 * label is the truth; a missing beta label is added).
 */
export function labelsToReconcile(node: Node): Record<string, string> {
  const labels = node.metadata.labels ?? {};
  const out: Record<string, string> = {};
  for (const [primary, secondary] of [
    ["kubernetes.io/os", "beta.kubernetes.io/os"],
    ["kubernetes.io/arch", "beta.kubernetes.io/arch"],
  ] as const) {
    const value = labels[primary];
    if (value === undefined) continue;
    if (labels[secondary] !== value) out[secondary] = value;
  }
  return out;
}
