/**
 * Score normalization shared by plugins (k8s.io/kubernetes/pkg/scheduler/framework/plugins/helper/
 * normalize_score.go).
 */
import type { NodeScore } from "../../framework/interface.js";
import type { Status } from "../../framework/status.js";

/**
 * kube's DefaultNormalizeScore: maps scores from [0, max(scores)] onto [0, maxPriority] in place
 * with integer division (as Go's int64 arithmetic truncates); `reverse` then subtracts each from
 * maxPriority so that a lower raw score ranks higher. All-zero scores stay 0, or become
 * maxPriority when reversed. Scores are assumed to be non-negative integers.
 */
export function defaultNormalizeScore(
  maxPriority: number,
  reverse: boolean,
  scores: NodeScore[],
): Status | undefined {
  let maxCount = 0;
  for (const s of scores) if (s.score > maxCount) maxCount = s.score;
  if (maxCount === 0) {
    if (reverse) for (const s of scores) s.score = maxPriority;
    return undefined;
  }
  for (const s of scores) {
    let score = Math.trunc((maxPriority * s.score) / maxCount);
    if (reverse) score = maxPriority - score;
    s.score = score;
  }
  return undefined;
}
