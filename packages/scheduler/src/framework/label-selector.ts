/**
 * Label selectors compiled once into a matcher function (labels.Selector after
 * metav1.LabelSelectorAsSelector): plugins such as InterPodAffinity and PodTopologySpread match the
 * same selector against thousands of pods per cycle, so the selector's requirements are turned into
 * arrays and sets once instead of walking the selector object on every pod.
 *
 * Semantics are those of labelSelectorMatches (labels.ts): an absent selector matches nothing, an
 * empty one ({}) matches everything; In / NotIn with no values behave as the API package's matcher.
 */
import type { LabelSelector } from "@skiff/api";

export type Labels = Readonly<Record<string, string>> | undefined;
export type LabelMatcher = (labels: Labels) => boolean;

/** labels.Nothing(). */
export const matchNothing: LabelMatcher = () => false;
/** labels.Everything(). */
export const matchEverything: LabelMatcher = () => true;

const has = (labels: Labels, key: string): boolean => labels !== undefined && Object.hasOwn(labels, key);

/** Compiles a selector; prefer compiledSelector, which caches by selector object. */
export function compileSelector(sel: LabelSelector | undefined | null): LabelMatcher {
  if (sel === undefined || sel === null) return matchNothing;
  const equals = Object.entries(sel.matchLabels ?? {});
  const exprs = (sel.matchExpressions ?? []).map((e) => ({
    key: e.key,
    operator: e.operator as string,
    values: new Set(e.values ?? []),
  }));
  if (equals.length === 0 && exprs.length === 0) return matchEverything;
  return (labels) => {
    for (const [k, v] of equals)
      if (!has(labels, k) || (labels as Record<string, string>)[k] !== v) return false;
    for (const e of exprs) {
      const present = has(labels, e.key);
      switch (e.operator) {
        case "In":
          if (!present || !e.values.has((labels as Record<string, string>)[e.key] as string)) return false;
          break;
        case "NotIn":
          if (present && e.values.has((labels as Record<string, string>)[e.key] as string)) return false;
          break;
        case "Exists":
          if (!present) return false;
          break;
        case "DoesNotExist":
          if (present) return false;
          break;
        default:
          return false;
      }
    }
    return true;
  };
}

const cache = new WeakMap<LabelSelector, LabelMatcher>();

/**
 * The compiled matcher of a selector object, cached while the object lives (selectors inside pod
 * specs and PodInfo terms are long-lived and never mutated by the scheduler).
 */
export function compiledSelector(sel: LabelSelector | undefined | null): LabelMatcher {
  if (sel === undefined || sel === null) return matchNothing;
  let m = cache.get(sel);
  if (m === undefined) {
    m = compileSelector(sel);
    cache.set(sel, m);
  }
  return m;
}

/** Whether the selector selects everything (labels.Selector.Empty()). */
export function selectorIsEmpty(sel: LabelSelector | undefined | null): boolean {
  return (
    sel !== undefined &&
    sel !== null &&
    Object.keys(sel.matchLabels ?? {}).length === 0 &&
    (sel.matchExpressions ?? []).length === 0
  );
}
