/**
 * spec.successPolicy of Indexed Jobs (pkg/controller/job/success_policy.go): the Job meets its
 * success criteria once a rule's succeededIndexes have all succeeded (or succeededCount of them),
 * or, for a rule with only succeededCount, once that many indexes have succeeded.
 */
import { type Interval, OrderedIntervals } from "./intervals.js";
import type { SuccessPolicyRule } from "./types.js";

/** matchSuccessPolicy: the message "Matched rules at index N" and whether a rule matched. */
export function matchSuccessPolicy(
  policy: { rules: SuccessPolicyRule[] } | undefined,
  completions: number,
  succeeded: OrderedIntervals,
): [string, boolean] {
  if (policy === undefined || policy === null || succeeded.length === 0) return ["", false];
  for (const [index, rule] of (policy.rules ?? []).entries()) {
    if (rule.succeededIndexes !== undefined && rule.succeededIndexes !== null) {
      const required = OrderedIntervals.parse(rule.succeededIndexes, completions);
      if (required.length === 0) continue;
      if (matchSucceededIndexesRule(required, succeeded, rule.succeededCount))
        return [`Matched rules at index ${index}`, true];
    } else if (typeof rule.succeededCount === "number" && succeeded.total() >= rule.succeededCount)
      return [`Matched rules at index ${index}`, true];
  }
  return ["", false];
}

/** matchSucceededIndexesRule: how many of the rule's indexes succeeded, by walking both lists. */
function matchSucceededIndexesRule(
  rule: OrderedIntervals,
  succeeded: OrderedIntervals,
  succeededCount: number | undefined,
): boolean {
  const r = rule.intervals;
  const s = succeeded.intervals;
  let contains = 0;
  let i = 0;
  let j = 0;
  while (i < r.length && j < s.length) {
    const a = r[i] as Interval;
    const b = s[j] as Interval;
    const overlap = Math.min(a.last, b.last) - Math.max(a.first, b.first) + 1;
    if (overlap > 0) contains += overlap;
    if (b.last < a.last) j++;
    else if (b.last > a.last) i++;
    else {
      i++;
      j++;
    }
  }
  return contains === rule.total() || (typeof succeededCount === "number" && contains >= succeededCount);
}
