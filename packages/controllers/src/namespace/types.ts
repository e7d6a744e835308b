/** The core/v1 Namespace as the namespace controller reads and writes it. */
import type { KubeObject } from "@skiff/api";

/** k8s.io/api/core/v1 NamespaceCondition. */
export interface NamespaceCondition {
  type: string;
  status: "True" | "False" | "Unknown";
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

export interface Namespace extends KubeObject {
  spec?: { finalizers?: string[] };
  status?: { phase?: "Active" | "Terminating"; conditions?: NamespaceCondition[] };
}

/** schema.GroupVersionResource. */
export interface GroupVersionResource {
  group: string;
  version: string;
  resource: string;
}

/** The apiVersion of a group version: "v1" for the core group, "<group>/<version>" otherwise. */
export const apiVersionOf = (gvr: GroupVersionResource): string =>
  gvr.group === "" ? gvr.version : `${gvr.group}/${gvr.version}`;

/** kube's FinalizerKubernetes: the token the namespace controller owns in spec.finalizers. */
export const FINALIZER_KUBERNETES = "kubernetes";
