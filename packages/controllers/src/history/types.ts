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
