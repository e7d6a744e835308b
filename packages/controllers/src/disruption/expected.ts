/**
 * How many pods a budget counts on and how many must stay healthy (kube's disruption controller
 * getExpectedPodCount / getExpectedScale): maxUnavailable and a percentage minAvailable count
 * against the summed scale of the pods' controllers (each once), an integer minAvailable against
 * the pods found. A pod without a controller is reported, not counted in the scale; a pod whose
 * controller is not found is an error.
 */
import type { Pod } from "@skiff/api";
import { getControllerOf } from "../util/controller-ref.js";
import { getScaledValueFromIntOrPercent } from "../util/intstr.js";
import type { PodControllerFinder } from "./finders.js";
import type { PodDisruptionBudget } from "./types.js";

/**
 * getExpectedPodCount: maxUnavailable and percentage minAvailable count against the summed
 * scale of the pods' controllers; an integer minAvailable against the pods found.
 */
export async function getExpectedPodCount(
  pdb: PodDisruptionBudget,
  pods: readonly Pod[],
  finders: readonly PodControllerFinder[],
): Promise<{ expectedCount: number; desiredHealthy: number; unmanagedPods: string[] }> {
  const spec = pdb.spec ?? {};
  let expectedCount = 0;
  let desiredHealthy = 0;
  let unmanagedPods: string[] = [];
  if (spec.maxUnavailable !== undefined) {
    ({ expectedCount, unmanagedPods } = await getExpectedScale(pods, finders));
    const maxUnavailable = getScaledValueFromIntOrPercent(spec.maxUnavailable, expectedCount, true);
    desiredHealthy = Math.max(0, expectedCount - maxUnavailable);
  } else if (spec.minAvailable !== undefined) {
    if (typeof spec.minAvailable === "number") {
      desiredHealthy = spec.minAvailable;
      expectedCount = pods.length;
    } else {
      ({ expectedCount, unmanagedPods } = await getExpectedScale(pods, finders));
      desiredHealthy = getScaledValueFromIntOrPercent(spec.minAvailable, expectedCount, true);
    }
  }
  return { expectedCount, desiredHealthy, unmanagedPods };
}

/** getExpectedScale: the sum of the scales of the pods' controllers, each counted once. */
export async function getExpectedScale(
  pods: readonly Pod[],
  finders: readonly PodControllerFinder[],
): Promise<{ expectedCount: number; unmanagedPods: string[] }> {
  const scales = new Map<string, number>();
  const unmanagedPods: string[] = [];
  for (const pod of pods) {
    const ref = getControllerOf(pod);
    if (ref === undefined) {
      unmanagedPods.push(pod.metadata.name);
      continue;
    }
    if (scales.has(ref.uid)) continue;
    let found = false;
    for (const finder of finders) {
      const cs = await finder(ref, pod.metadata.namespace);
      if (cs !== undefined) {
        scales.set(cs.uid, cs.scale);
        found = true;
        break;
      }
    }
    if (!found) throw new Error(`found no controllers for pod "${pod.metadata.name}"`);
  }
  let expectedCount = 0;
  for (const n of scales.values()) expectedCount += n;
  return { expectedCount, unmanagedPods };
}
