/**
 * core/v1 PersistentVolume: stored and validated as kube does (no provisioner or binder yet),
 * with a status subresource and kube's printer columns; what PersistentVolumeClaims
 * (persistentvolumeclaim.ts) share with it.
 */
import type { KindDef } from "../kind.js";
import { type KubeObject, objectReferenceSchema, objectSchema } from "../meta.js";
import { parseQuantity } from "../quantity.js";
import { any, enumOf, mapOf, obj, quantity, str, strings, time } from "../schema.js";
import { column } from "../table.js";
import {
  dns1123Subdomain,
  type FieldError,
  forbidden,
  invalid,
  notSupported,
  required,
} from "../validation.js";
import { asObj, text } from "./json.js";

/** A quantity's value, NaN when it does not parse (the schema reports that). */
export function qty(v: unknown): number {
  try {
    return parseQuantity(text(v));
  } catch {
    return Number.NaN;
  }
}

export const accessModes = ["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"];
const shortModes: Record<string, string> = {
  ReadWriteOnce: "RWO",
  ReadOnlyMany: "ROX",
  ReadWriteMany: "RWX",
  ReadWriteOncePod: "RWOP",
};
export const reclaimPolicies = ["Delete", "Recycle", "Retain"];
export const volumeModes = ["Block", "Filesystem"];

/** GetAccessModesAsString: RWO, ROX, RWX, RWOP in that order. */
export function modesText(modes: unknown): string {
  const have = new Set(Array.isArray(modes) ? (modes as string[]) : []);
  return accessModes
    .filter((m) => have.has(m))
    .map((m) => shortModes[m])
    .join(",");
}

/** The volume sources a PersistentVolume may name (exactly one). */
const pvSources = [
  "gcePersistentDisk",
  "awsElasticBlockStore",
  "hostPath",
  "glusterfs",
  "nfs",
  "rbd",
  "iscsi",
  "cinder",
  "cephfs",
  "fc",
  "flocker",
  "flexVolume",
  "azureFile",
  "vsphereVolume",
  "quobyte",
  "azureDisk",
  "photonPersistentDisk",
  "portworxVolume",
  "scaleIO",
  "local",
  "storageos",
  "csi",
];

export const className = (o: KubeObject, spec: Record<string, unknown>) =>
  (o.metadata.annotations?.["volume.beta.kubernetes.io/storage-class"] as string | undefined) ??
  (spec.storageClassName as string | undefined) ??
  "";

export const validateModes = (modes: unknown, path: string, detail = ""): FieldError[] => {
  const list = Array.isArray(modes) ? (modes as unknown[]) : [];
  if (list.length === 0) return [required(path, detail)];
  return list
    .filter((m) => !accessModes.includes(m as string))
    .map((m) => notSupported(path, m, accessModes));
};

export const volumeAttributesClass = (spec: Record<string, unknown>) =>
  typeof spec.volumeAttributesClassName === "string" && spec.volumeAttributesClassName !== ""
    ? spec.volumeAttributesClassName
    : "<unset>";

export const phase = (o: KubeObject) =>
  o.metadata.deletionTimestamp !== undefined ? "Terminating" : ((asObj(o.status).phase as string) ?? "");

export const persistentVolumeKind: KindDef = {
  group: "",
  version: "v1",
  kind: "PersistentVolume",
  resource: "persistentvolumes",
  singular: "persistentvolume",
  namespaced: false,
  shortNames: ["pv"],
  categories: [],
  description: "PersistentVolume (PV) is a storage resource provisioned by an administrator.",
  schema: objectSchema("PersistentVolume (PV) is a storage resource provisioned by an administrator.", {
    spec: obj({
      capacity: mapOf(quantity(), "The persistent volume's resources and capacity."),
      accessModes: strings("All ways the volume can be mounted."),
      claimRef: objectReferenceSchema,
      persistentVolumeReclaimPolicy: enumOf(
        reclaimPolicies,
        "What happens to a persistent volume when released.",
      ),
      storageClassName: str("The name of StorageClass to which this persistent volume belongs."),
      mountOptions: strings("The list of mount options."),
      volumeMode: enumOf(
        volumeModes,
        "Whether the volume is used with a formatted filesystem or a raw block state.",
      ),
      nodeAffinity: obj({ required: any("Hard node constraints.") }),
      volumeAttributesClassName: str(
        "The name of VolumeAttributesClass to which this persistent volume belongs.",
      ),
      ...Object.fromEntries(pvSources.map((s) => [s, any(`The ${s} volume source.`)])),
    }),
    status: obj({
      phase: enumOf(
        ["Pending", "Available", "Bound", "Released", "Failed"],
        "The current phase of a volume.",
      ),
      message: str(),
      reason: str(),
      lastPhaseTransitionTime: time(),
    }),
  }),
  nameRule: dns1123Subdomain,
  subresources: ["status"],
  hasStatus: true,
  defaults(pv) {
    const spec = asObj(pv.spec);
    spec.persistentVolumeReclaimPolicy ??= "Retain";
    spec.volumeMode ??= "Filesystem";
    pv.spec = spec;
    const status = asObj(pv.status);
    status.phase ??= "Pending";
    pv.status = status;
  },
  validate(pv) {
    const spec = asObj(pv.spec);
    const errs = validateModes(spec.accessModes, "spec.accessModes");
    const cap = asObj(spec.capacity);
    if (Object.keys(cap).length === 0) errs.push(required("spec.capacity"));
    else if (cap.storage === undefined || Object.keys(cap).length > 1)
      errs.push(notSupported("spec.capacity", cap, ["storage"]));
    else if (qty(cap.storage) < 0)
      errs.push(invalid("spec.capacity[storage]", cap.storage, "must be greater than or equal to 0"));
    const sources = pvSources.filter((s) => spec[s] !== undefined && spec[s] !== null);
    if (sources.length === 0) errs.push(required("spec", "must specify a volume type"));
    for (const s of sources.slice(1))
      errs.push(forbidden(`spec.${s}`, "may not specify more than 1 volume type"));
    if (!reclaimPolicies.includes(spec.persistentVolumeReclaimPolicy as string))
      errs.push(
        notSupported(
          "spec.persistentVolumeReclaimPolicy",
          spec.persistentVolumeReclaimPolicy,
          reclaimPolicies,
        ),
      );
    if (!volumeModes.includes(spec.volumeMode as string))
      errs.push(notSupported("spec.volumeMode", spec.volumeMode, volumeModes));
    const sc = spec.storageClassName;
    if (typeof sc === "string" && sc !== "")
      for (const m of dns1123Subdomain(sc)) errs.push(invalid("spec.storageClassName", sc, m));
    return errs;
  },
  table: {
    columns: [
      column("Capacity", "capacity is the description of the persistent volume's resources and capacity."),
      column("Access Modes", "accessModes contains all ways the volume can be mounted."),
      column(
        "Reclaim Policy",
        "persistentVolumeReclaimPolicy defines what happens to a persistent volume when released from its claim.",
      ),
      column("Status", "phase indicates if a volume is available, bound to a claim, or released by a claim."),
      column(
        "Claim",
        "claimRef is part of a bi-directional binding between PersistentVolume and PersistentVolumeClaim.",
      ),
      column("StorageClass", "StorageClass of the pv"),
      column("VolumeAttributesClass", "VolumeAttributesClass of the pv"),
      column("Reason", "reason is a brief CamelCase string that describes any failure."),
      column(
        "VolumeMode",
        "volumeMode defines if a volume is intended to be used with a formatted filesystem or to remain in raw block state.",
        "string",
        1,
      ),
    ],
    cells(pv) {
      const spec = asObj(pv.spec);
      const claim =
        spec.claimRef === undefined
          ? ""
          : `${text(asObj(spec.claimRef).namespace)}/${text(asObj(spec.claimRef).name)}`;
      return [
        text(asObj(spec.capacity).storage ?? "0"),
        modesText(spec.accessModes),
        spec.persistentVolumeReclaimPolicy ?? "",
        phase(pv),
        claim,
        className(pv, spec),
        volumeAttributesClass(spec),
        asObj(pv.status).reason ?? "",
        (spec.volumeMode as string | undefined) ?? "<unset>",
      ];
    },
  },
};
