/**
 * Taints and tolerations (k8s.io/api/core/v1/toleration.go, component-helpers' taints): which
 * toleration tolerates which taint, and the first taint a pod does not tolerate.
 */
import type { Taint, Toleration } from "@skiff/api";

/** Toleration.ToleratesTaint: an empty key with Exists tolerates every taint; an empty effect every effect. */
export function toleratesTaint(t: Toleration, taint: Taint): boolean {
  if (t.effect !== undefined && t.effect !== "" && t.effect !== taint.effect) return false;
  if (t.key !== undefined && t.key !== "" && t.key !== taint.key) return false;
  const op = t.operator ?? "Equal";
  if (op === "Exists") return true;
  if (op === "Equal") return (t.value ?? "") === (taint.value ?? "");
  return false;
}

export function tolerationsTolerateTaint(
  tolerations: readonly Toleration[] | undefined,
  taint: Taint,
): boolean {
  return (tolerations ?? []).some((t) => toleratesTaint(t, taint));
}

/** The first taint passing `filter` that no toleration tolerates (FindMatchingUntoleratedTaint). */
export function findMatchingUntoleratedTaint(
  taints: readonly Taint[] | undefined,
  tolerations: readonly Toleration[] | undefined,
  filter: (t: Taint) => boolean,
): Taint | undefined {
  for (const taint of taints ?? [])
    if (filter(taint) && !tolerationsTolerateTaint(tolerations, taint)) return taint;
  return undefined;
}

/** How kube prints a taint in messages: {key: value} (the value may be empty). */
export function formatTaint(t: Taint): string {
  return `{${t.key}: ${t.value ?? ""}}`;
}
