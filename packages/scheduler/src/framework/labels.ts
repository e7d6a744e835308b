/**
 * Label selectors as the scheduler uses them: metav1.LabelSelectorAsSelector semantics, where an
 * absent selector selects nothing and an empty one ({}) selects everything.
 */
import { type LabelSelector, selectorMatches } from "@skiff/api";

export function labelSelectorMatches(
  sel: LabelSelector | undefined,
  labels: Record<string, string> | undefined,
): boolean {
  if (sel === undefined || sel === null) return false;
  return selectorMatches(sel, labels ?? {});
}
