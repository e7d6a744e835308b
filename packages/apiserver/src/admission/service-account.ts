/**
 * ServiceAccount (kube's plugin of that name, plugin/pkg/admission/serviceaccount), the part that
 * applies to what Skiff serves: a new pod that names no service account runs as "default", and
 * the service account it names must exist (403 `error looking up service account ns/name:
 * serviceaccount "name" not found`). "default" is made by the serviceaccounts controller
 * (controllers/service-account.ts) right after its namespace, so as kube's plugin this one looks
 * for it again for a while (10 tries, 100-200 ms apart) before refusing. Mirror pods (the
 * kubelet's static pods) are left as they are, as in kube.
 */
import type { KubeObject } from "@skiff/api";
import { StatusError } from "../status.js";
import type { AdmissionPlugin, Attributes, Operation } from "./interface.js";

/** Reads a service account (the watch cache, then the store); undefined when there is none. */
export type ServiceAccountLookup = (namespace: string, name: string) => Promise<KubeObject | undefined>;

export const DEFAULT_SERVICE_ACCOUNT_NAME = "default";
const MIRROR_POD_ANNOTATION = "kubernetes.io/config.mirror";

export class ServiceAccount implements AdmissionPlugin {
  readonly name = "ServiceAccount";

  constructor(
    private readonly lookup?: ServiceAccountLookup,
    private readonly retryMs: () => number = () => 100 + Math.floor(Math.random() * 100),
  ) {}

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

  /** kube's getServiceAccount: the cache, then live lookups (10 for "default", which a controller makes). */
  async validate(a: Attributes): Promise<void> {
    if (
      this.lookup === undefined ||
      a.kind.group !== "" ||
      a.kind.kind !== "Pod" ||
      a.subresource !== undefined
    )
      return;
    const pod = a.object;
    if (pod === undefined || pod.metadata.annotations?.[MIRROR_POD_ANNOTATION] !== undefined) return;
    const ns = a.namespace as string;
    const name =
      (pod.spec as { serviceAccountName?: string }).serviceAccountName ?? DEFAULT_SERVICE_ACCOUNT_NAME;
    const attempts = name === DEFAULT_SERVICE_ACCOUNT_NAME ? 10 : 1;
    for (let i = 0; i < attempts; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, this.retryMs()));
      if ((await this.lookup(ns, name)) !== undefined) return;
    }
    throw new StatusError(
      403,
      "Forbidden",
      `pods "${a.name}" is forbidden: error looking up service account ${ns}/${name}: serviceaccount "${name}" not found`,
      { name: a.name, group: "", kind: "pods" },
    );
  }
}
