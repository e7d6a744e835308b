/**
 * ServiceAccount (kube's plugin of that name, plugin/pkg/admission/serviceaccount), the part that
 * applies to what Skiff serves: a new pod that names no service account runs as "default".
 * kube's plugin also requires that service account to exist and mounts its token; Skiff has no
 * service-account controller creating "default" in each namespace nor tokens yet, so it stops
 * at the defaulting. Mirror pods (the kubelet's static pods) are left as they are, as in kube.
 */
import type { AdmissionPlugin, Attributes, Operation } from "./interface.js";

export const DEFAULT_SERVICE_ACCOUNT_NAME = "default";
const MIRROR_POD_ANNOTATION = "kubernetes.io/config.mirror";

export class ServiceAccount implements AdmissionPlugin {
  readonly name = "ServiceAccount";

  handles(op: Operation): boolean {
    return op === "CREATE";
  }

  async admit(a: Attributes): Promise<void> {
    if (a.kind.group !== "" || a.kind.kind !== "Pod" || a.subresource !== undefined) return;
    const pod = a.object;
    if (pod === undefined || pod.metadata.annotations?.[MIRROR_POD_ANNOTATION] !== undefined) return;
    // Validation made sure a pod has a spec.
    const spec = pod.spec as { serviceAccountName?: string };
    if (spec.serviceAccountName === undefined || spec.serviceAccountName === "")
      spec.serviceAccountName = DEFAULT_SERVICE_ACCOUNT_NAME;
  }
}
