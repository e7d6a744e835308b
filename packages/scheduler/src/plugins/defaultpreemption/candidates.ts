/**
 * Preemption candidates and the choice among them (framework/preemption: Candidate,
 * pickOneNodeForPreemption), and the FitError message that says why no node could be freed.
 */
import type { Pod } from "@skiff/api";
import type { NodeToStatus } from "../../framework/interface.js";
import { priorityOf } from "../../framework/pod-info.js";
import { earliestPodStartTime } from "./victims.js";

/** extenderv1.Victims: the pods to preempt, the most important first. */
export interface Victims {
  pods: Pod[];
  numPDBViolations: number;
}

/** A node on which the preemptor fits once its victims are gone. */
export interface Candidate {
  name: string;
  victims: Victims;
}

export type ScoreFunc = (node: string) => number;

const MaxInt32 = 2 ** 31 - 1;

/**
 * pickOneNodeForPreemption: each score function keeps the nodes with the highest score, and the
 * next one breaks their tie: fewest PDB violations, lowest highest-victim priority, smallest sum
 * of victim priorities, fewest victims, latest start of the highest-priority victims; then the
 * first remaining node.
 */
export function pickOneNodeForPreemption(
  nodesToVictims: ReadonlyMap<string, Victims>,
  now: number,
  scoreFuncs?: readonly ScoreFunc[],
): string | undefined {
  if (nodesToVictims.size === 0) return undefined;
  const v = (node: string) => nodesToVictims.get(node) as Victims;
  const funcs: readonly ScoreFunc[] = scoreFuncs ?? [
    (node) => -v(node).numPDBViolations,
    (node) => {
      const first = v(node).pods[0];
      return first === undefined ? 0 : -priorityOf(first);
    },
    // MaxInt32 + 1 is added to every priority so that a few negative-priority pods do not win
    // over fewer pods of the same negative priority.
    (node) => -v(node).pods.reduce((sum, p) => sum + priorityOf(p) + MaxInt32 + 1, 0),
    (node) => -v(node).pods.length,
    (node) => earliestPodStartTime(v(node).pods, now) ?? Number.MIN_SAFE_INTEGER,
  ];
  let candidates = [...nodesToVictims.keys()];
  for (const f of funcs) {
    let max = Number.NEGATIVE_INFINITY;
    let selected: string[] = [];
    for (const node of candidates) {
      const s = f(node);
      if (s > max) {
        max = s;
        selected = [];
      }
      if (s === max) selected.push(node);
    }
    if (selected.length === 1) return selected[0];
    candidates = selected;
  }
  return candidates[0];
}

/** framework.NoNodeAvailableMsg. */
export const NoNodeAvailableMsg = "0/%v nodes are available";

/**
 * FitError.Error(): "0/N nodes are available: <count> <reason>, ...." with the reasons of every
 * node's status counted and sorted, nodes absent from `statuses` counted under `absentReason`.
 */
export function fitErrorMessage(numAllNodes: number, statuses: NodeToStatus, absentReason: string): string {
  const counts = new Map<string, number>();
  for (const s of statuses.values()) for (const r of s.reasons) counts.set(r, (counts.get(r) ?? 0) + 1);
  const absent = numAllNodes - statuses.size;
  if (absent > 0) counts.set(absentReason, (counts.get(absentReason) ?? 0) + absent);
  const reasons = [...counts].map(([r, n]) => `${n} ${r}`).sort();
  let msg = `${NoNodeAvailableMsg.replace("%v", String(numAllNodes))}:`;
  if (reasons.length > 0) msg += ` ${reasons.join(", ")}.`;
  return msg;
}
