/**
 * Taints and tolerations (k8s.io/api/core/v1/toleration.go, component-helpers' taints): which
 * toleration tolerates which taint, and the first taint a pod does not tolerate.
 */
import type { Taint } from "@skiff/api";

export { findMatchingUntoleratedTaint, toleratesTaint, tolerationsTolerateTaint } from "@skiff/api";

/** How kube prints a taint in messages: {key: value} (the value may be empty). */
export function formatTaint(t: Taint): string {
  return `{${t.key}: ${t.value ?? ""}}`;
}
