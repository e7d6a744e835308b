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

/**
 * Label values are strings and no inherited property of a plain object is one, so
 * `typeof labels[k] === "string"` is an own-property test that is cheaper than Object.hasOwn.
 */
const labelValue = (labels: Labels, key: string): string | undefined => {
  const v = labels?.[key];
  return typeof v === "string" ? v : undefined;
};

type Requirement = (labels: Labels) => boolean;

function requirement(key: string, operator: string, values: readonly string[]): Requirement {
  const set = new Set(values);
  switch (operator) {
    case "In":
      return (l) => {
        const v = labelValue(l, key);
        return v !== undefined && set.has(v);
      };
    case "NotIn":
      return (l) => {
        const v = labelValue(l, key);
        return v === undefined || !set.has(v);
      };
    case "Exists":
      return (l) => labelValue(l, key) !== undefined;
    case "DoesNotExist":
      return (l) => labelValue(l, key) === undefined;
    default:
      return () => false;
  }
}

/** Compiles a selector; prefer compiledSelector, which caches by selector object. */
export function compileSelector(sel: LabelSelector | undefined | null): LabelMatcher {
  if (sel === undefined || sel === null) return matchNothing;
  const equals = Object.entries(sel.matchLabels ?? {});
  const exprs = (sel.matchExpressions ?? []).map((e) => requirement(e.key, e.operator, e.values ?? []));
  if (equals.length === 0 && exprs.length === 0) return matchEverything;
  // The common shapes (one or a few matchLabels, nothing else) get loops without indirection.
  if (exprs.length === 0) {
    if (equals.length === 1) {
      const [k, v] = equals[0] as [string, string];
      return (l) => l !== undefined && l[k] === v;
    }
    const keys = equals.map(([k]) => k);
    const values = equals.map(([, v]) => v);
    return (l) => {
      if (l === undefined) return false;
      for (let i = 0; i < keys.length; i++) if (l[keys[i] as string] !== values[i]) return false;
      return true;
    };
  }
  const reqs: Requirement[] = [
    ...equals.map(
      ([k, v]): Requirement =>
        (l) =>
          labelValue(l, k) === v,
    ),
    ...exprs,
  ];
  return (l) => {
    for (const r of reqs) if (!r(l)) return false;
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
