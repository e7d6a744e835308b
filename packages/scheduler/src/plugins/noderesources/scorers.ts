/**
 * The scoring strategies of NodeResourcesFit and NodeResourcesBalancedAllocation (kube's
 * least_allocated.go, most_allocated.go, requested_to_capacity_ratio.go, balanced_allocation.go).
 * Each maps, per resource, what the node would have requested with the pod (`requested`) against
 * what it can give (`allocatable`) to a 0..100 node score. A resource whose allocatable is 0 was
 * left out by the caller and is skipped. Integer divisions truncate as Go's int64 ones do.
 */
import { MAX_NODE_SCORE } from "../../framework/interface.js";
import {
  MAX_CUSTOM_PRIORITY_SCORE,
  MAX_UTILIZATION,
  type ResourceSpec,
  type UtilizationShapePoint,
} from "./args.js";

export type Scorer = (requested: Float64Array, allocatable: Float64Array) => number;

/** The unused share of a resource on 0..100: more free, higher (leastRequestedScore). */
export function leastRequestedScore(requested: number, capacity: number): number {
  if (capacity === 0 || requested > capacity) return 0;
  return Math.trunc(((capacity - requested) * MAX_NODE_SCORE) / capacity);
}

/** The used share of a resource on 0..100, capped at capacity (mostRequestedScore). */
export function mostRequestedScore(requested: number, capacity: number): number {
  if (capacity === 0) return 0;
  // Pods without requests count the defaults when scoring, so requested may pass capacity.
  const r = Math.min(requested, capacity);
  return Math.trunc((r * MAX_NODE_SCORE) / capacity);
}

/** The weighted mean of a per-resource score over the resources the node has. */
function weighted(
  resources: readonly ResourceSpec[],
  per: (requested: number, capacity: number) => number,
): Scorer {
  const weights = resources.map((r) => r.weight);
  return (requested, allocatable) => {
    let nodeScore = 0;
    let weightSum = 0;
    for (let i = 0; i < weights.length; i++) {
      const alloc = allocatable[i] as number;
      if (alloc === 0) continue;
      const w = weights[i] as number;
      nodeScore += per(requested[i] as number, alloc) * w;
      weightSum += w;
    }
    return weightSum === 0 ? 0 : Math.trunc(nodeScore / weightSum);
  };
}

/** LeastAllocated: favours nodes with more unused capacity (the default; spreads pods). */
export const leastResourceScorer = (resources: readonly ResourceSpec[]): Scorer =>
  weighted(resources, leastRequestedScore);

/** MostAllocated: favours fuller nodes (bin packing). */
export const mostResourceScorer = (resources: readonly ResourceSpec[]): Scorer =>
  weighted(resources, mostRequestedScore);

/**
 * helper.BuildBrokenLinearFunction: the piecewise linear function through the shape's points,
 * flat before the first and after the last.
 */
export function brokenLinearFunction(shape: readonly UtilizationShapePoint[]): (p: number) => number {
  return (p) => {
    for (let i = 0; i < shape.length; i++) {
      const cur = shape[i] as UtilizationShapePoint;
      if (p <= cur.utilization) {
        if (i === 0) return cur.score;
        const prev = shape[i - 1] as UtilizationShapePoint;
        return (
          prev.score +
          Math.trunc(
            ((cur.score - prev.score) * (p - prev.utilization)) / (cur.utilization - prev.utilization),
          )
        );
      }
    }
    return (shape[shape.length - 1] as UtilizationShapePoint).score;
  };
}

/**
 * RequestedToCapacityRatio: each resource's utilization (0..100) through the configured shape
 * (scores 0..10 scaled to 0..100); resources scoring 0 are left out of the weighted mean, which is
 * rounded (math.Round) rather than truncated, as kube does.
 */
export function requestedToCapacityRatioScorer(
  resources: readonly ResourceSpec[],
  shape: readonly UtilizationShapePoint[],
): Scorer {
  const raw = brokenLinearFunction(
    shape.map((p) => ({
      utilization: p.utilization,
      score: p.score * (MAX_NODE_SCORE / MAX_CUSTOM_PRIORITY_SCORE),
    })),
  );
  const resourceScore = (requested: number, capacity: number) =>
    capacity === 0 || requested > capacity
      ? raw(MAX_UTILIZATION)
      : raw(Math.trunc((requested * MAX_UTILIZATION) / capacity));
  const weights = resources.map((r) => r.weight);
  return (requested, allocatable) => {
    let nodeScore = 0;
    let weightSum = 0;
    for (let i = 0; i < weights.length; i++) {
      const alloc = allocatable[i] as number;
      if (alloc === 0) continue;
      const s = resourceScore(requested[i] as number, alloc);
      if (s > 0) {
        const w = weights[i] as number;
        nodeScore += s * w;
        weightSum += w;
      }
    }
    return weightSum === 0 ? 0 : goRound(nodeScore / weightSum);
  };
}

/** Go's math.Round: half away from zero (JavaScript's Math.round rounds half up). */
function goRound(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

/**
 * BalancedAllocation: 100 × (1 − the standard deviation of the resources' utilization fractions,
 * each capped at 1), so nodes whose resources fill evenly score higher. Two resources take the
 * shortcut |f1 − f2| / 2, as kube does.
 */
export const balancedResourceScorer: Scorer = (requested, allocatable) => {
  let n = 0;
  let total = 0;
  let f0 = 0;
  let f1 = 0;
  for (let i = 0; i < requested.length; i++) {
    const alloc = allocatable[i] as number;
    if (alloc === 0) continue;
    const f = Math.min((requested[i] as number) / alloc, 1);
    if (n === 0) f0 = f;
    else if (n === 1) f1 = f;
    total += f;
    n++;
  }
  let std = 0;
  if (n === 2) std = Math.abs((f0 - f1) / 2);
  else if (n > 2) {
    const mean = total / n;
    let sum = 0;
    for (let i = 0; i < requested.length; i++) {
      const alloc = allocatable[i] as number;
      if (alloc === 0) continue;
      const f = Math.min((requested[i] as number) / alloc, 1);
      sum += (f - mean) * (f - mean);
    }
    std = Math.sqrt(sum / n);
  }
  return Math.trunc((1 - std) * MAX_NODE_SCORE);
};
