/** apps/v1 ControllerRevision: an immutable snapshot of a controller's template (data) and its number. */
import type { KubeObject } from "@skiff/api";

export interface ControllerRevision extends KubeObject {
  apiVersion: "apps/v1";
  kind: "ControllerRevision";
  /** The state to restore: for DaemonSets and StatefulSets a strategic merge patch of spec.template. */
  data?: unknown;
  /** Invariant: >= 0; the largest is the newest (the controllers renumber a revision rolled back to). */
  revision: number;
}

/**
 * apps.ControllerRevisionHashLabelKey: the label a DaemonSet's or StatefulSet's pods (and the
 * DaemonSet's revisions) carry naming the revision they were made from (not to be confused with
 * history's own "controller.kubernetes.io/hash" label on every revision).
 */
export const CONTROLLER_REVISION_HASH_LABEL_KEY = "controller-revision-hash";

/** A revision's data for DaemonSets and StatefulSets: a patch that puts back the whole template. */
export interface TemplatePatch {
  spec: { template: Record<string, unknown> };
}
