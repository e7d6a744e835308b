/**
 * storage.k8s.io/v1 StorageClass, with kube's defaults, validation and printer columns (no
 * provisioner acts on it yet), and what the CSI kinds (csi.ts) share with it.
 */
import type { KindDef } from "../kind.js";
import { type KubeObject, objectSchema } from "../meta.js";
import { bool, enumOf, list, obj, str, stringMap, strings } from "../schema.js";
import { column, nameColumn } from "../table.js";
import {
  dns1123Subdomain,
  type FieldError,
  forbidden,
  invalid,
  notSupported,
  qualifiedName,
  required,
} from "../validation.js";
import { asObj, text } from "./json.js";

export const storageBase = {
  group: "storage.k8s.io",
  version: "v1",
  categories: [] as string[],
  subresources: [] as KindDef["subresources"],
  hasStatus: false,
  nameRule: dns1123Subdomain,
};

const reclaimPolicies = ["Delete", "Recycle", "Retain"];
const bindingModes = ["Immediate", "WaitForFirstConsumer"];
export const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
export const immutable = (
  obj: KubeObject,
  old: KubeObject | undefined,
  path: string,
  get: (o: KubeObject) => unknown,
) =>
  old !== undefined && !same(get(obj), get(old))
    ? [invalid(path, get(obj) ?? null, "field is immutable")]
    : [];

/** A provisioner or driver name: a qualified name, lower-cased (validateProvisioner, ValidateCSIDriverName). */
export function validateDriverName(name: unknown, path: string, max: number): FieldError[] {
  if (typeof name !== "string" || name === "") return [required(path)];
  const errs: FieldError[] = [];
  if (name.length > max)
    errs.push({
      type: "FieldValueTooLong",
      field: path,
      value: name,
      detail: `may not be more than ${max} bytes`,
    });
  for (const m of qualifiedName(name.toLowerCase())) errs.push(invalid(path, name, m));
  return errs;
}

const isDefaultClass = (sc: KubeObject) =>
  sc.metadata.annotations?.["storageclass.kubernetes.io/is-default-class"] === "true" ||
  sc.metadata.annotations?.["storageclass.beta.kubernetes.io/is-default-class"] === "true";

export const storageClassKind: KindDef = {
  ...storageBase,
  kind: "StorageClass",
  resource: "storageclasses",
  singular: "storageclass",
  namespaced: false,
  shortNames: ["sc"],
  description:
    "StorageClass describes the parameters for a class of storage for which PersistentVolumes can be dynamically provisioned.",
  schema: objectSchema("StorageClass describes the parameters for a class of storage.", {
    provisioner: str("The type of the provisioner."),
    parameters: stringMap("Parameters for the provisioner that should create volumes of this storage class."),
    reclaimPolicy: enumOf(
      reclaimPolicies,
      "The reclaim policy of dynamically provisioned PersistentVolumes.",
    ),
    mountOptions: strings("Mount options of dynamically provisioned PersistentVolumes."),
    allowVolumeExpansion: bool("Whether the storage class allows volume expand."),
    volumeBindingMode: enumOf(bindingModes, "How PersistentVolumeClaims should be provisioned and bound."),
    allowedTopologies: list(
      obj({ matchLabelExpressions: list(obj({ key: str(), values: strings() })) }),
      "Restrict the node topologies where volumes can be dynamically provisioned.",
    ),
  }),
  defaults(sc) {
    sc.reclaimPolicy ??= "Delete";
    sc.volumeBindingMode ??= "Immediate";
  },
  validate(sc, old) {
    const errs = validateDriverName(sc.provisioner, "provisioner", 63);
    if (!reclaimPolicies.includes(sc.reclaimPolicy as string))
      errs.push(notSupported("reclaimPolicy", sc.reclaimPolicy, reclaimPolicies));
    if (!bindingModes.includes(sc.volumeBindingMode as string))
      errs.push(notSupported("volumeBindingMode", sc.volumeBindingMode, bindingModes));
    let size = 0;
    for (const [k, v] of Object.entries(asObj(sc.parameters))) size += k.length + text(v).length;
    if (size > 256 * 1024)
      errs.push({
        type: "FieldValueTooLong",
        field: "parameters",
        value: "",
        detail: "may not be more than 262144 bytes",
      });
    if (old !== undefined) {
      if (!same(sc.parameters, old.parameters))
        errs.push(forbidden("parameters", "updates to parameters are forbidden."));
      if (sc.provisioner !== old.provisioner)
        errs.push(forbidden("provisioner", "updates to provisioner are forbidden."));
      if (sc.reclaimPolicy !== old.reclaimPolicy)
        errs.push(forbidden("reclaimPolicy", "updates to reclaimPolicy are forbidden."));
      errs.push(...immutable(sc, old, "volumeBindingMode", (o) => o.volumeBindingMode));
    }
    return errs;
  },
  table: {
    noName: true,
    columns: [
      nameColumn,
      column("Provisioner", "The provisioner of this storage class."),
      column("ReclaimPolicy", "The reclaim policy of dynamically provisioned PersistentVolumes."),
      column("VolumeBindingMode", "How PersistentVolumeClaims should be provisioned and bound."),
      column("AllowVolumeExpansion", "Whether the storage class allows volume expand."),
    ],
    cells: (sc) => [
      isDefaultClass(sc) ? `${sc.metadata.name} (default)` : sc.metadata.name,
      sc.provisioner ?? "",
      (sc.reclaimPolicy as string | undefined) ?? "Delete",
      (sc.volumeBindingMode as string | undefined) ?? "Immediate",
      sc.allowVolumeExpansion === true,
    ],
  },
};
