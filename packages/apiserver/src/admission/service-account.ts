/**
 * ServiceAccount (kube's plugin of that name, plugin/pkg/admission/serviceaccount): a new pod that
 * names no service account runs as "default", and, unless automountServiceAccountToken is false
 * (on the pod, or else on its ServiceAccount), gets kube's projected token volume
 * `kube-api-access-<5 random>` (a serviceAccountToken of 3607 s at `token`, `ca.crt` from the
 * kube-root-ca.crt ConfigMap, the namespace from the downward API), mounted read-only at
 * /var/run/secrets/kubernetes.io/serviceaccount in every init container and container that has
 * nothing mounted there yet. Deviation: kube refuses a pod whose ServiceAccount does not exist;
 * Skiff admits it (the controller creating "default" in each namespace is not there yet in every
 * setup), taking automount from the pod alone. Mirror pods (static pods) are left as they are.
 */
import type { KindDef, KubeObject, Registry } from "@skiff/api";
import type { WatchCache } from "../storage/watch-cache.js";
import type { AdmissionPlugin, Attributes, Operation } from "./interface.js";

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
    private readonly registry?: Registry,
    private readonly cache?: WatchCache,
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
    const sa = await this.serviceAccount(pod.metadata.namespace, spec.serviceAccountName);
    if (!shouldAutomount(sa, spec)) return;
    mountToken(spec);
  }

  private async serviceAccount(namespace: string | undefined, name: string): Promise<KubeObject | undefined> {
    const kind = this.registry?.resource("", "v1", "serviceaccounts") as KindDef | undefined;
    if (kind === undefined || this.cache === undefined) return undefined;
    return (await this.cache.for(kind)).get(namespace, name);
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
