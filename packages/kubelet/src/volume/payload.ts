/**
 * The files of the API-backed volumes, as kube's MakePayload of pkg/volume/configmap and
 * pkg/volume/secret, CollectData of pkg/volume/downwardapi, and collectData of
 * pkg/volume/projected (whose sources' errors are gathered and reported together).
 */
import type { Pod, ResourceList } from "@skiff/api";
import type { DownwardAPIVolumeFile, VolumeProjection } from "../api-types.js";
import { extractFieldPathAsString } from "../env/fieldpath.js";
import { extractResourceValueByContainerName } from "../env/resource.js";
import type { Payload } from "./atomic-writer.js";
import {
  type ConfigMap,
  configMapNotFound,
  type KubeletObjectSource,
  type Secret,
  secretNotFound,
} from "./sources.js";

/** kube's ConfigMapVolumeSourceDefaultMode, SecretVolumeSourceDefaultMode, ... (all 0644). */
export const DEFAULT_MODE = 0o644;

export interface KeyToPath {
  key: string;
  path: string;
  mode?: number;
}

/** configmap.MakePayload: every key (data and binaryData), or the items; missing keys fail unless optional. */
export function configMapPayload(
  items: readonly KeyToPath[] | undefined,
  cm: ConfigMap,
  defaultMode: number,
  optional: boolean,
): Payload {
  const payload: Payload = new Map();
  const lookup = (key: string): Buffer | undefined => {
    const s = cm.data?.[key];
    if (s !== undefined) return Buffer.from(s, "utf8");
    const b = cm.binaryData?.[key];
    return b === undefined ? undefined : Buffer.from(b, "base64");
  };
  if (items === undefined || items.length === 0) {
    for (const k of [...Object.keys(cm.data ?? {}), ...Object.keys(cm.binaryData ?? {})])
      payload.set(k, { data: lookup(k) as Buffer, mode: defaultMode });
    return payload;
  }
  for (const it of items) {
    const data = lookup(it.key);
    if (data === undefined) {
      if (optional) continue;
      throw new Error(`configmap references non-existent config key: ${it.key}`);
    }
    payload.set(it.path, { data, mode: it.mode ?? defaultMode });
  }
  return payload;
}

/** secret.MakePayload: as configMapPayload over the Secret's (base64) data. */
export function secretPayload(
  items: readonly KeyToPath[] | undefined,
  secret: Secret,
  defaultMode: number,
  optional: boolean,
): Payload {
  const payload: Payload = new Map();
  const data = secret.data ?? {};
  if (items === undefined || items.length === 0) {
    for (const [k, v] of Object.entries(data))
      payload.set(k, { data: Buffer.from(v, "base64"), mode: defaultMode });
    return payload;
  }
  for (const it of items) {
    const v = data[it.key];
    if (v === undefined) {
      if (optional) continue;
      throw new Error(`references non-existent secret key: ${it.key}`);
    }
    payload.set(it.path, { data: Buffer.from(v, "base64"), mode: it.mode ?? defaultMode });
  }
  return payload;
}

/** downwardapi.CollectData: metadata fields and container resources; every failure reported. */
export function downwardAPIPayload(
  items: readonly DownwardAPIVolumeFile[],
  pod: Pod,
  defaultMode: number,
  allocatable: ResourceList,
): Payload {
  const payload: Payload = new Map();
  const errs: string[] = [];
  for (const it of items) {
    try {
      let value: string;
      if (it.fieldRef !== undefined) value = extractFieldPathAsString(pod, it.fieldRef.fieldPath);
      else if (it.resourceFieldRef !== undefined)
        value = extractResourceValueByContainerName(
          it.resourceFieldRef,
          pod,
          it.resourceFieldRef.containerName ?? "",
          allocatable,
        );
      else continue;
      payload.set(it.path, { data: Buffer.from(value, "utf8"), mode: it.mode ?? defaultMode });
    } catch (e) {
      errs.push((e as Error).message);
    }
  }
  if (errs.length > 0) throw new Error(aggregate(errs));
  return payload;
}

/** utilerrors.NewAggregate's message: the one error, or "[e1, e2]". */
export function aggregate(errs: readonly string[]): string {
  return errs.length === 1 ? (errs[0] as string) : `[${errs.join(", ")}]`;
}

/** projected collectData: every source into one payload; a failing source fails the volume. */
export async function projectedPayload(
  sources: readonly VolumeProjection[],
  pod: Pod,
  defaultMode: number,
  objects: KubeletObjectSource,
  allocatable: ResourceList,
): Promise<Payload> {
  const payload: Payload = new Map();
  const errs: string[] = [];
  const ns = pod.metadata.namespace;
  const merge = (p: Payload) => {
    for (const [k, v] of p) payload.set(k, v);
  };
  for (const s of sources) {
    try {
      if (s.configMap !== undefined) {
        const optional = s.configMap.optional === true;
        const cm = await objects.getConfigMap(ns, s.configMap.name);
        if (cm === undefined && !optional) throw new Error(configMapNotFound(s.configMap.name));
        const found = cm ?? { apiVersion: "v1", kind: "ConfigMap", metadata: {} };
        merge(configMapPayload(s.configMap.items, found, defaultMode, optional));
      } else if (s.secret !== undefined) {
        const optional = s.secret.optional === true;
        const secret = await objects.getSecret(ns, s.secret.name);
        if (secret === undefined && !optional) throw new Error(secretNotFound(s.secret.name));
        const found = secret ?? { apiVersion: "v1", kind: "Secret", metadata: {} };
        merge(secretPayload(s.secret.items, found, defaultMode, optional));
      } else if (s.downwardAPI !== undefined) {
        merge(downwardAPIPayload(s.downwardAPI.items ?? [], pod, defaultMode, allocatable));
      } else if (s.serviceAccountToken !== undefined) {
        const tp = s.serviceAccountToken;
        const sa =
          typeof pod.spec.serviceAccountName === "string" && pod.spec.serviceAccountName !== ""
            ? pod.spec.serviceAccountName
            : "default";
        const tr = await objects.requestServiceAccountToken(ns, sa, {
          audiences: tp.audience === undefined || tp.audience === "" ? [] : [tp.audience],
          // The API's default for a projected token (expirationSeconds is defaulted to 1 h).
          expirationSeconds: tp.expirationSeconds ?? 3600,
          boundPod: { name: pod.metadata.name, uid: pod.metadata.uid ?? "" },
        });
        payload.set(tp.path, { data: Buffer.from(tr.token, "utf8"), mode: defaultMode });
      }
    } catch (e) {
      errs.push((e as Error).message);
    }
  }
  if (errs.length > 0) throw new Error(aggregate(errs));
  return payload;
}
