/**
 * DefaultPreemption.SelectVictimsOnNode and its helpers (defaultpreemption/default_preemption.go,
 * scheduler/util): on a copy of one node and of the cycle state, remove every lower-priority pod,
 * check that the preemptor fits, then add back ("reprieve") as many of them as still let it fit,
 * the most important first and PodDisruptionBudget-violating ones before the others.
 */
import type { Pod, PodDisruptionBudget } from "@skiff/api";
import type { CycleState } from "../../framework/cycle-state.js";
import type { Handle } from "../../framework/interface.js";
import { compiledSelector, selectorIsEmpty } from "../../framework/label-selector.js";
import type { NodeInfo } from "../../framework/node-info.js";
import { type PodInfo, priorityOf } from "../../framework/pod-info.js";
import { isSuccess, Status } from "../../framework/status.js";

/** util.GetPodStartTime: status.startTime, or now for pods that have not started. ms. */
export function podStartTime(pod: Pod, now: number): number {
  const t = pod.status?.startTime;
  const ms = t === undefined ? Number.NaN : Date.parse(t);
  return Number.isNaN(ms) ? now : ms;
}

/** util.MoreImportantPod: higher priority first, then the one that started earlier. */
export function moreImportantPod(a: Pod, b: Pod, now: number): boolean {
  const pa = priorityOf(a);
  const pb = priorityOf(b);
  if (pa !== pb) return pa > pb;
  return podStartTime(a, now) < podStartTime(b, now);
}

const byImportance = (now: number) => (a: Pod, b: Pod) =>
  moreImportantPod(a, b, now) ? -1 : moreImportantPod(b, a, now) ? 1 : 0;

/** util.GetEarliestPodStartTime: the earliest start among the highest-priority victims. */
export function earliestPodStartTime(victims: readonly Pod[], now: number): number | undefined {
  const first = victims[0];
  if (first === undefined) return undefined;
  let earliest = podStartTime(first, now);
  let maxPriority = priorityOf(first);
  for (const p of victims) {
    const prio = priorityOf(p);
    if (prio === maxPriority) earliest = Math.min(earliest, podStartTime(p, now));
    else if (prio > maxPriority) {
      maxPriority = prio;
      earliest = podStartTime(p, now);
    }
  }
  return earliest;
}

/**
 * filterPodsWithPDBViolation: splits pods into those whose eviction would exceed a matching PDB's
 * disruptionsAllowed (counting the pods before them) and the others. A PDB with no or an empty
 * selector matches nothing; pods already in status.disruptedPods were counted by the API server.
 */
export function filterPodsWithPDBViolation(
  podInfos: readonly PodInfo[],
  pdbs: readonly PodDisruptionBudget[],
): [violating: PodInfo[], nonViolating: PodInfo[]] {
  const allowed = pdbs.map((p) => p.status?.disruptionsAllowed ?? 0);
  const violating: PodInfo[] = [];
  const nonViolating: PodInfo[] = [];
  for (const pi of podInfos) {
    const pod = pi.pod;
    let violated = false;
    const labels = pod.metadata.labels;
    if (labels !== undefined && Object.keys(labels).length > 0) {
      pdbs.forEach((pdb, i) => {
        if (pdb.metadata.namespace !== pod.metadata.namespace) return;
        const sel = pdb.spec?.selector;
        if (sel === undefined || selectorIsEmpty(sel) || !compiledSelector(sel)(labels)) return;
        const disrupted = (pdb.status as { disruptedPods?: Record<string, unknown> } | undefined)
          ?.disruptedPods;
        if (disrupted !== undefined && Object.hasOwn(disrupted, pod.metadata.name)) return;
        allowed[i] = (allowed[i] as number) - 1;
        if ((allowed[i] as number) < 0) violated = true;
      });
    }
    (violated ? violating : nonViolating).push(pi);
  }
  return [violating, nonViolating];
}

export interface SelectedVictims {
  victims: Pod[];
  numPDBViolations: number;
  status: Status;
}

const asError = (s: Status | undefined): Error => s?.error ?? new Error(s?.message() ?? "unknown error");

/** Lower priority than the preemptor (kube's isPreemptionAllowed). */
export const isPreemptionAllowed = (victim: PodInfo, preemptor: Pod): boolean =>
  priorityOf(victim.pod) < priorityOf(preemptor);

/** SelectVictimsOnNode; `state` and `nodeInfo` are the caller's copies and are changed. */
export function selectVictimsOnNode(
  handle: Handle,
  state: CycleState,
  pod: Pod,
  nodeInfo: NodeInfo,
  pdbs: readonly PodDisruptionBudget[],
): SelectedVictims {
  const now = handle.now();
  const removePod = (pi: PodInfo) => {
    if (!nodeInfo.removePod(pi.uid))
      throw new Error(`no corresponding pod ${pi.key} in pods of node ${nodeInfo.name}`);
    const s = handle.runPreFilterExtensionRemovePod(state, pod, pi, nodeInfo);
    if (!isSuccess(s)) throw asError(s);
  };
  const addPod = (pi: PodInfo) => {
    nodeInfo.addPod(pi);
    const s = handle.runPreFilterExtensionAddPod(state, pod, pi, nodeInfo);
    if (!isSuccess(s)) throw asError(s);
  };
  const fail = (status: Status): SelectedVictims => ({ victims: [], numPDBViolations: 0, status });

  const potentialVictims = nodeInfo.pods.filter((pi) => isPreemptionAllowed(pi, pod));
  try {
    for (const pi of potentialVictims) removePod(pi);
  } catch (e) {
    return fail(Status.error(e));
  }
  // Nothing was removed, so the node is as it was when it failed: preemption cannot help here.
  if (potentialVictims.length === 0)
    return fail(Status.unresolvable("No preemption victims found for incoming pod"));
  // If the pod does not fit even with every lower-priority pod gone, this node is no candidate
  // (affinity to a victim is not considered, as kube, for performance).
  const fits = handle.runFilterPlugins(state, pod, nodeInfo);
  if (!isSuccess(fits)) return fail(fits as Status);

  const order = byImportance(now);
  potentialVictims.sort((a, b) => order(a.pod, b.pod));
  const [violating, nonViolating] = filterPodsWithPDBViolation(potentialVictims, pdbs);
  const victims: Pod[] = [];
  const reprieve = (pi: PodInfo): boolean => {
    addPod(pi);
    const ok = isSuccess(handle.runFilterPlugins(state, pod, nodeInfo));
    if (!ok) {
      removePod(pi);
      victims.push(pi.pod);
    }
    return ok;
  };
  let numPDBViolations = 0;
  try {
    for (const pi of violating) if (!reprieve(pi)) numPDBViolations++;
    for (const pi of nonViolating) reprieve(pi);
  } catch (e) {
    return fail(Status.error(e));
  }
  // Keep the victims ordered by importance (the first is the highest-priority victim).
  if (violating.length > 0 && nonViolating.length > 0) victims.sort(order);
  return { victims, numPDBViolations, status: Status.success() };
}
