/**
 * kube's pkg/controller/daemon/util (daemonset_util.go) and NodeShouldRunDaemonPod: the tolerations
 * every daemon pod gets, the pod made from the template for one node (a required node affinity
 * `metadata.name In [node]` so that the scheduler binds it there, as kube since 1.12), which node a
 * daemon pod is meant for, whether it is of the current template, and the surge and unavailability
 * budgets of a rolling update.
 */
import type { Affinity, Node, Pod, PodSpec, Toleration } from "@skiff/api";
import { cloneObject } from "@skiff/client";
import { getScaledValueFromIntOrPercent } from "../util/intstr.js";
import type { PodTemplateSpec } from "../util/pod-control.js";
import {
  findMatchingUntoleratedTaint,
  TaintNodeDiskPressure,
  TaintNodeMemoryPressure,
  TaintNodeNetworkUnavailable,
  TaintNodeNotReady,
  TaintNodePIDPressure,
  TaintNodeUnreachable,
  TaintNodeUnschedulable,
} from "../util/taints.js";
import { OBJECT_NAME_FIELD, requiredNodeAffinityMatches } from "./predicates.js";
import { type DaemonSet, DEFAULT_DAEMONSET_UNIQUE_LABEL_KEY } from "./types.js";

/** Toleration.MatchToleration: the same key, operator, value and effect. */
function matchToleration(a: Toleration, b: Toleration): boolean {
  return (
    (a.key ?? "") === (b.key ?? "") &&
    (a.operator ?? "") === (b.operator ?? "") &&
    (a.value ?? "") === (b.value ?? "") &&
    (a.effect ?? "") === (b.effect ?? "")
  );
}

/** v1helper.AddOrUpdateTolerationInPodSpec: replaces a matching toleration, else appends. */
function addOrUpdateToleration(spec: PodSpec, toleration: Toleration): void {
  const current = spec.tolerations ?? [];
  let updated = false;
  const next = current.map((t) => {
    if (!matchToleration(toleration, t)) return t;
    updated = true;
    return toleration;
  });
  if (!updated) next.push(toleration);
  spec.tolerations = next;
}

/**
 * AddOrUpdateDaemonPodTolerations: daemon pods stay on not-ready and unreachable nodes (NoExecute,
 * no tolerationSeconds: never evicted), and schedule onto nodes under disk, memory or pid pressure
 * and unschedulable (cordoned) nodes; host-network pods onto nodes whose network is not ready.
 */
export function addOrUpdateDaemonPodTolerations(spec: PodSpec): void {
  const exists = (key: string, effect: "NoExecute" | "NoSchedule"): Toleration => ({
    key,
    operator: "Exists",
    effect,
  });
  addOrUpdateToleration(spec, exists(TaintNodeNotReady, "NoExecute"));
  addOrUpdateToleration(spec, exists(TaintNodeUnreachable, "NoExecute"));
  addOrUpdateToleration(spec, exists(TaintNodeDiskPressure, "NoSchedule"));
  addOrUpdateToleration(spec, exists(TaintNodeMemoryPressure, "NoSchedule"));
  addOrUpdateToleration(spec, exists(TaintNodePIDPressure, "NoSchedule"));
  addOrUpdateToleration(spec, exists(TaintNodeUnschedulable, "NoSchedule"));
  if (spec.hostNetwork === true)
    addOrUpdateToleration(spec, exists(TaintNodeNetworkUnavailable, "NoSchedule"));
}

/** CreatePodTemplate: the template with the daemon tolerations and the revision hash label. */
export function createPodTemplate(template: PodTemplateSpec, hash: string): PodTemplateSpec {
  const t = cloneObject(template);
  t.spec ??= { containers: [] };
  addOrUpdateDaemonPodTolerations(t.spec);
  t.metadata ??= {};
  if (hash !== "") t.metadata.labels = { ...t.metadata.labels, [DEFAULT_DAEMONSET_UNIQUE_LABEL_KEY]: hash };
  return t;
}

/**
 * ReplaceDaemonSetPodNodeNameNodeAffinity: the required node affinity becomes the single term
 * `metadata.name In [nodeName]`. Replacing the user's terms is safe: the controller has already
 * checked that the node matches them.
 */
export function replaceDaemonSetPodNodeNameNodeAffinity(
  affinity: Affinity | undefined,
  nodeName: string,
): Affinity {
  const required = {
    nodeSelectorTerms: [
      { matchFields: [{ key: OBJECT_NAME_FIELD, operator: "In" as const, values: [nodeName] }] },
    ],
  };
  const a: Affinity = affinity === undefined ? {} : cloneObject(affinity);
  a.nodeAffinity = { ...a.nodeAffinity, requiredDuringSchedulingIgnoredDuringExecution: required };
  return a;
}

/**
 * GetTargetNodeName: the node a daemon pod is for: its nodeName once bound, else the
 * `metadata.name In [node]` field requirement of its node affinity. Throws when it has neither.
 */
export function getTargetNodeName(pod: Pod): string {
  if (pod.spec.nodeName !== undefined && pod.spec.nodeName !== "") return pod.spec.nodeName;
  const id = `${pod.metadata.namespace}/${pod.metadata.name}`;
  const terms =
    pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  if (terms === undefined)
    throw new Error(
      `no spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution for pod ${id}`,
    );
  if (terms.length < 1)
    throw new Error(`no nodeSelectorTerms in requiredDuringSchedulingIgnoredDuringExecution of pod ${id}`);
  for (const term of terms)
    for (const exp of term.matchFields ?? [])
      if (exp.key === OBJECT_NAME_FIELD && exp.operator === "In") {
        if ((exp.values ?? []).length !== 1)
          throw new Error(`the matchFields value of '${OBJECT_NAME_FIELD}' is not unique for pod ${id}`);
        return (exp.values as string[])[0] as string;
      }
  throw new Error(`no node name found for pod ${id}`);
}

/**
 * IsPodUpdated: the pod carries the current template's hash. (kube also accepts the deprecated
 * pod-template-generation label of DaemonSets created before revisions existed; Skiff's never are.)
 */
export function isPodUpdated(pod: Pod, hash: string): boolean {
  return hash !== "" && pod.metadata.labels?.[DEFAULT_DAEMONSET_UNIQUE_LABEL_KEY] === hash;
}

/** SurgeCount: maxSurge scaled to the nodes that should run the pod, rounded up; 0 unless RollingUpdate. */
export function surgeCount(ds: DaemonSet, numberToSchedule: number): number {
  const s = ds.spec.updateStrategy;
  if (s?.type !== "RollingUpdate" || s.rollingUpdate?.maxSurge === undefined) return 0;
  return getScaledValueFromIntOrPercent(s.rollingUpdate.maxSurge, numberToSchedule, true);
}

/** UnavailableCount: maxUnavailable scaled likewise; 0 unless RollingUpdate. */
export function unavailableCount(ds: DaemonSet, numberToSchedule: number): number {
  const s = ds.spec.updateStrategy;
  if (s?.type !== "RollingUpdate" || s.rollingUpdate?.maxUnavailable === undefined) return 0;
  return getScaledValueFromIntOrPercent(s.rollingUpdate.maxUnavailable, numberToSchedule, true);
}

/** AllowsSurge: a rolling update that may run two pods on a node. */
export function allowsSurge(ds: DaemonSet): boolean {
  try {
    return surgeCount(ds, 1) !== 0;
  } catch {
    return false;
  }
}

/** NewPod: the daemon pod as the template would make it for nodeName, with the daemon tolerations. */
export function newPod(ds: DaemonSet, nodeName: string): Pod {
  const spec = cloneObject(ds.spec.template.spec ?? { containers: [] });
  spec.nodeName = nodeName;
  addOrUpdateDaemonPodTolerations(spec);
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: "",
      namespace: ds.metadata.namespace,
      labels: { ...ds.spec.template.metadata?.labels },
    },
    spec,
  };
}

/**
 * NodeShouldRunDaemonPod: shouldRun is whether a new daemon pod belongs on the node (node name,
 * required node affinity, and taints: NoSchedule and NoExecute ones tolerated);
 * shouldContinueRunning whether a pod already there may stay (every NoExecute taint tolerated).
 */
export function nodeShouldRunDaemonPod(
  node: Node,
  ds: DaemonSet,
): { shouldRun: boolean; shouldContinueRunning: boolean } {
  const pod = newPod(ds, node.metadata.name);
  const templateNodeName = ds.spec.template.spec?.nodeName ?? "";
  if (templateNodeName !== "" && templateNodeName !== node.metadata.name)
    return { shouldRun: false, shouldContinueRunning: false };
  if (!requiredNodeAffinityMatches(pod.spec, node)) return { shouldRun: false, shouldContinueRunning: false };
  const taints = node.spec?.taints;
  const untolerated = findMatchingUntoleratedTaint(
    taints,
    pod.spec.tolerations,
    (t) => t.effect === "NoExecute" || t.effect === "NoSchedule",
  );
  if (untolerated === undefined) return { shouldRun: true, shouldContinueRunning: true };
  const noExecute = findMatchingUntoleratedTaint(
    taints,
    pod.spec.tolerations,
    (t) => t.effect === "NoExecute",
  );
  return { shouldRun: false, shouldContinueRunning: noExecute === undefined };
}

/** podByCreationTimestampAndPhase: bound pods first, then oldest first, then by name. */
export function compareByCreationTimestampAndPhase(a: Pod, b: Pod): number {
  const boundA = (a.spec.nodeName ?? "") !== "";
  const boundB = (b.spec.nodeName ?? "") !== "";
  if (boundA !== boundB) return boundA ? -1 : 1;
  const ta = Date.parse(a.metadata.creationTimestamp ?? "");
  const tb = Date.parse(b.metadata.creationTimestamp ?? "");
  if (ta !== tb && !Number.isNaN(ta) && !Number.isNaN(tb)) return ta - tb;
  return a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0;
}
