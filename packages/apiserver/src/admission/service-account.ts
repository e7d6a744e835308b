/**
 * ServiceAccount (kube's plugin of that name, plugin/pkg/admission/serviceaccount): a new pod that
 * names no service account runs as "default", and, unless automountServiceAccountToken is false
 * (on the pod, or else on its ServiceAccount), gets kube's projected token volume
 * `kube-api-access-<5 random>` (a serviceAccountToken of 3607 s at `token`, `ca.crt` from the
 * kube-root-ca.crt ConfigMap, the namespace from the downward API), mounted read-only at
 * /var/run/secrets/kubernetes.io/serviceaccount in every init container and container that has
 * nothing mounted there yet. The service account it names must exist (403 `error looking up
 * service account ns/name: serviceaccount "name" not found`). "default" is made by the
 * controller manager's serviceaccount controller right after its namespace, so as
 * kube's plugin this one looks for it again for a while (10 tries, 100-200 ms apart) before
 * refusing. Mirror pods (the kubelet's static pods) are left as they are, as in kube.
 */
import type { KubeObject } from "@skiff/api";
import { StatusError } from "../status.js";
import type { AdmissionPlugin, Attributes, Operation } from "./interface.js";

/** Reads a service account (the watch cache, then the store); undefined when there is none. */
export type ServiceAccountLookup = (namespace: string, name: string) => Promise<KubeObject | undefined>;

export const DEFAULT_SERVICE_ACCOUNT_NAME = "default";
export const DEFAULT_API_TOKEN_MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount";
export const SERVICE_ACCOUNT_VOLUME_PREFIX = "kube-api-access-";
export const ROOT_CA_CONFIGMAP = "kube-root-ca.crt";
const MIRROR_POD_ANNOTATION = "kubernetes.io/config.mirror";
/** kube's names.SimpleNameGenerator alphabet (no vowels, no confusable digits). */
const ALPHABET = "bcdfghjklmnpqrstvwxz2456789";

type Json = Record<string, unknown>;
interface Container {
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}

const randomSuffix = () =>
  Array.from({ length: 5 }, () => ALPHABET[Math.floor(Math.random() * ALPHABET.length)]).join("");

/** kube's projected volume for the API token. */
export function tokenVolume(name: string): Json {
  return {
    name,
    projected: {
      sources: [
        { serviceAccountToken: { expirationSeconds: 3607, path: "token" } },
        { configMap: { name: ROOT_CA_CONFIGMAP, items: [{ key: "ca.crt", path: "ca.crt" }] } },
        {
          downwardAPI: {
            items: [{ path: "namespace", fieldRef: { apiVersion: "v1", fieldPath: "metadata.namespace" } }],
          },
        },
      ],
      defaultMode: 0o644,
    },
  };
}

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
    const spec = pod.spec as Json & { serviceAccountName?: string };
    if (spec.serviceAccountName === undefined || spec.serviceAccountName === "")
      spec.serviceAccountName = DEFAULT_SERVICE_ACCOUNT_NAME;
    const sa = await this.lookup?.(pod.metadata.namespace as string, spec.serviceAccountName);
    if (!shouldAutomount(sa, spec)) return;
    mountToken(spec);
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

/** The pod's own setting wins; else the ServiceAccount's; else true. */
function shouldAutomount(sa: KubeObject | undefined, spec: Json): boolean {
  if (typeof spec.automountServiceAccountToken === "boolean") return spec.automountServiceAccountToken;
  const fromSa = (sa as Json | undefined)?.automountServiceAccountToken;
  return typeof fromSa === "boolean" ? fromSa : true;
}

function mountToken(spec: Json): void {
  const volumes = (spec.volumes ?? []) as { name: string }[];
  const existing = volumes.find((v) => v.name.startsWith(SERVICE_ACCOUNT_VOLUME_PREFIX));
  const name = existing?.name ?? `${SERVICE_ACCOUNT_VOLUME_PREFIX}${randomSuffix()}`;
  let needed = false;
  for (const list of [spec.initContainers, spec.containers] as (Container[] | undefined)[]) {
    for (const c of list ?? []) {
      if ((c.volumeMounts ?? []).some((m) => m.mountPath === DEFAULT_API_TOKEN_MOUNT_PATH)) continue;
      c.volumeMounts = [
        ...(c.volumeMounts ?? []),
        { name, readOnly: true, mountPath: DEFAULT_API_TOKEN_MOUNT_PATH },
      ];
      needed = true;
    }
  }
  if (existing === undefined && needed) spec.volumes = [...volumes, tokenVolume(name)];
}
