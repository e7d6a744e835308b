/**
 * The rollout arithmetic (deploymentutil): maxSurge and maxUnavailable from ints or percentages
 * (ResolveFenceposts: surge rounds up, unavailable rounds down, and both zero means one
 * unavailable), how far the new ReplicaSet may grow (NewRSNewReplicas), saturation, and each
 * ReplicaSet's share of a scaling event (GetProportion, getReplicaSetFraction).
 */
import { getScaledValueFromIntOrPercent, type IntOrString } from "../../util/intstr.js";
import type { Deployment, ReplicaSet } from "../types.js";
import { desiredReplicasAnnotation, maxReplicasAnnotation } from "./annotations.js";
import { replicaCount, specReplicas } from "./replicasets.js";

/** kube's math.MaxInt32: progressDeadlineSeconds / revisionHistoryLimit meaning "none". */
export const MAX_INT32 = 2147483647;

export const deploymentReplicas = (d: Deployment): number => d.spec.replicas ?? 0;

export const isRollingUpdate = (d: Deployment): boolean => d.spec.strategy?.type === "RollingUpdate";

/**
 * ResolveFenceposts: [maxSurge, maxUnavailable] for `desired` replicas. Both resolving to zero
 * (a rounded-down percentage) gives one unavailable, so that the rollout can progress.
 */
export function resolveFenceposts(
  maxSurge: IntOrString | undefined,
  maxUnavailable: IntOrString | undefined,
  desired: number,
): [number, number] {
  const surge = getScaledValueFromIntOrPercent(maxSurge ?? 0, desired, true);
  let unavailable = getScaledValueFromIntOrPercent(maxUnavailable ?? 0, desired, false);
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return [surge, unavailable];
}

/** MaxSurge: 0 for Recreate (and for a value validation should have refused). */
export function maxSurge(d: Deployment): number {
  if (!isRollingUpdate(d)) return 0;
  const ru = d.spec.strategy?.rollingUpdate;
  try {
    return resolveFenceposts(ru?.maxSurge, ru?.maxUnavailable, deploymentReplicas(d))[0];
  } catch {
    return 0;
  }
}

/** MaxUnavailable: 0 for Recreate or no replicas, never more than the replicas. */
export function maxUnavailable(d: Deployment): number {
  const replicas = deploymentReplicas(d);
  if (!isRollingUpdate(d) || replicas === 0) return 0;
  const ru = d.spec.strategy?.rollingUpdate;
  let unavailable = 0;
  try {
    unavailable = resolveFenceposts(ru?.maxSurge, ru?.maxUnavailable, replicas)[1];
  } catch {
    unavailable = 0;
  }
  return Math.min(unavailable, replicas);
}

/**
 * NewRSNewReplicas: the new ReplicaSet's size for this step. RollingUpdate: grow by what the
 * surge leaves room for, never past the desired count; Recreate: the desired count at once.
 */
export function newRSNewReplicas(d: Deployment, allRSs: readonly ReplicaSet[], newRS: ReplicaSet): number {
  const replicas = deploymentReplicas(d);
  switch (d.spec.strategy?.type) {
    case "RollingUpdate": {
      const surge = getScaledValueFromIntOrPercent(
        d.spec.strategy.rollingUpdate?.maxSurge ?? 0,
        replicas,
        true,
      );
      const currentPodCount = replicaCount(allRSs);
      const maxTotalPods = replicas + surge;
      if (currentPodCount >= maxTotalPods) return specReplicas(newRS);
      const scaleUpCount = Math.min(maxTotalPods - currentPodCount, replicas - specReplicas(newRS));
      return specReplicas(newRS) + scaleUpCount;
    }
    case "Recreate":
      return replicas;
    default:
      throw new Error("deployment type not supported");
  }
}

/** IsSaturated: the new ReplicaSet has every replica, all available, for the current size. */
export function isSaturated(d: Deployment, rs: ReplicaSet | undefined): boolean {
  if (rs === undefined) return false;
  const desired = desiredReplicasAnnotation(rs);
  if (desired === undefined) return false;
  const replicas = deploymentReplicas(d);
  return (
    specReplicas(rs) === replicas && desired === replicas && (rs.status?.availableReplicas ?? 0) === replicas
  );
}

/** integer.RoundToInt32: math.Round, half away from zero. */
export function roundToInt32(x: number): number {
  return Math.sign(x) * Math.round(Math.abs(x));
}

/**
 * getReplicaSetFraction: how much this ReplicaSet grows (or shrinks) when the Deployment's
 * maximum size moves from what the ReplicaSet's max-replicas annotation recorded to the current
 * one, keeping its share. Scaling to zero takes all of it.
 */
export function getReplicaSetFraction(rs: ReplicaSet, d: Deployment): number {
  if (deploymentReplicas(d) === 0) return -specReplicas(rs);
  const deploymentMaxReplicas = deploymentReplicas(d) + maxSurge(d);
  let before = maxReplicasAnnotation(rs);
  // Without the annotation, the current size: not accurate when others differ, but the min/max
  // in getProportion keeps the result within bounds.
  if (before === undefined || before === 0) before = d.status?.replicas ?? 0;
  // kube divides by zero here (an infinite share, clamped by getProportion); no share instead.
  if (before === 0) return 0;
  const newRSsize = (specReplicas(rs) * deploymentMaxReplicas) / before;
  return roundToInt32(newRSsize) - specReplicas(rs);
}

/**
 * GetProportion: this ReplicaSet's part of `toAdd` replicas (negative: to remove) given `added`
 * already given out, never more than what is left.
 */
export function getProportion(
  rs: ReplicaSet | undefined,
  d: Deployment,
  toAdd: number,
  added: number,
): number {
  if (rs === undefined || specReplicas(rs) === 0 || toAdd === 0 || toAdd === added) return 0;
  const fraction = getReplicaSetFraction(rs, d);
  const allowed = toAdd - added;
  return toAdd > 0 ? Math.min(fraction, allowed) : Math.max(fraction, allowed);
}
