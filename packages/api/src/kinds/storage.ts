/**
 * storage.k8s.io/v1: StorageClass, CSINode, CSIDriver and CSIStorageCapacity, with kube's
 * defaults, validation and printer columns (no provisioner acts on them yet).
 */
import type { KindDef } from "../kind.js";
import { type KubeObject, objectSchema } from "../meta.js";
import { bool, enumOf, int32, int64, list, obj, quantity, str, stringMap, strings } from "../schema.js";
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
import { asList, asObj, text } from "./json.js";
import { labelSelectorSchema } from "./templates.js";

const base = {
  group: "storage.k8s.io",
  version: "v1",
  categories: [] as string[],
  subresources: [] as KindDef["subresources"],
  hasStatus: false,
  nameRule: dns1123Subdomain,
};

const reclaimPolicies = ["Delete", "Recycle", "Retain"];
const bindingModes = ["Immediate", "WaitForFirstConsumer"];
const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
const immutable = (
  obj: KubeObject,
  old: KubeObject | undefined,
  path: string,
  get: (o: KubeObject) => unknown,
) =>
  old !== undefined && !same(get(obj), get(old))
    ? [invalid(path, get(obj) ?? null, "field is immutable")]
    : [];

/** A provisioner or driver name: a qualified name, lower-cased (validateProvisioner, ValidateCSIDriverName). */
function validateDriverName(name: unknown, path: string, max: number): FieldError[] {
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
  ...base,
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

export const csiNodeKind: KindDef = {
  ...base,
  kind: "CSINode",
  resource: "csinodes",
  singular: "csinode",
  namespaced: false,
  shortNames: [],
  description: "CSINode holds information about all CSI drivers installed on a node.",
  schema: objectSchema(
    "CSINode holds information about all CSI drivers installed on a node.",
    {
      spec: obj(
        {
          drivers: list(
            obj({
              name: str("The name of the CSI driver that this object refers to."),
              nodeID: str("The node from the driver's point of view."),
              topologyKeys: strings("The keys of topology the driver supports."),
              allocatable: obj({
                count: int32("Maximum number of unique volumes managed by the CSI driver."),
              }),
            }),
            "The information of all CSI drivers existing on the node.",
            { mergeKey: "name", strategy: "merge" },
          ),
        },
        "The specification of CSINode",
      ),
    },
    ["spec"],
  ),
  validate(n) {
    const errs: FieldError[] = [];
    const seen = new Set<string>();
    asList(asObj(n.spec).drivers).forEach((d, i) => {
      const p = `spec.drivers[${i}]`;
      errs.push(...validateDriverName(d.name, `${p}.name`, 63));
      if (typeof d.nodeID !== "string" || d.nodeID === "")
        errs.push(required(`${p}.nodeID`, "nodeID must be provided"));
      else if (d.nodeID.length > 192)
        errs.push({
          type: "FieldValueTooLong",
          field: `${p}.nodeID`,
          value: d.nodeID,
          detail: "may not be more than 192 bytes",
        });
      if (typeof d.name === "string") {
        if (seen.has(d.name))
          errs.push({ type: "FieldValueDuplicate", field: `${p}.name`, value: d.name, detail: "" });
        seen.add(d.name);
      }
      const count = asObj(d.allocatable).count;
      if (typeof count === "number" && count < 0)
        errs.push(invalid(`${p}.allocatable.count`, count, "must be greater than or equal to 0"));
    });
    return errs;
  },
  table: {
    columns: [
      column("Drivers", "Drivers indicates the number of CSI drivers registered on the node", "integer"),
    ],
    cells: (n) => [asList(asObj(n.spec).drivers).length],
  },
};

const lifecycleModes = ["Persistent", "Ephemeral"];
const fsGroupPolicies = ["ReadWriteOnceWithFSType", "File", "None"];

export const csiDriverKind: KindDef = {
  ...base,
  kind: "CSIDriver",
  resource: "csidrivers",
  singular: "csidriver",
  namespaced: false,
  shortNames: [],
  description:
    "CSIDriver captures information about a Container Storage Interface (CSI) volume driver deployed on the cluster.",
  schema: objectSchema(
    "CSIDriver captures information about a CSI volume driver deployed on the cluster.",
    {
      spec: obj({
        attachRequired: bool("Whether this CSI volume driver requires an attach operation."),
        podInfoOnMount: bool(
          "Whether this CSI volume driver requires additional pod information during mount.",
        ),
        volumeLifecycleModes: strings("The volume modes this CSI volume driver supports."),
        storageCapacity: bool("Whether the driver reports storage capacity (CSIStorageCapacity)."),
        fsGroupPolicy: enumOf(
          fsGroupPolicies,
          "Whether the underlying volume supports changing ownership and permission.",
        ),
        tokenRequests: list(
          obj({ audience: str(), expirationSeconds: int64() }),
          "Service account tokens the driver needs.",
        ),
        requiresRepublish: bool("Whether NodePublishVolume should be called periodically."),
        seLinuxMount: bool("Whether the driver supports the '-o context' mount option."),
      }),
    },
    ["spec"],
  ),
  defaults(d) {
    const spec = asObj(d.spec);
    spec.attachRequired ??= true;
    spec.podInfoOnMount ??= false;
    spec.storageCapacity ??= false;
    spec.fsGroupPolicy ??= "ReadWriteOnceWithFSType";
    spec.requiresRepublish ??= false;
    spec.volumeLifecycleModes ??= ["Persistent"];
    d.spec = spec;
  },
  validate(d, old) {
    const errs: FieldError[] = [];
    const name = d.metadata.name ?? "";
    if (name !== "") errs.push(...validateDriverName(name, "name", 63));
    const spec = asObj(d.spec);
    asList(spec.volumeLifecycleModes).forEach((m, i) => {
      if (!lifecycleModes.includes(m as unknown as string))
        errs.push(notSupported(`spec.volumeLifecycleModes[${i}]`, m, lifecycleModes));
    });
    if (!fsGroupPolicies.includes(spec.fsGroupPolicy as string))
      errs.push(notSupported("spec.fsGroupPolicy", spec.fsGroupPolicy, fsGroupPolicies));
    asList(spec.tokenRequests).forEach((t, i) => {
      const e = t.expirationSeconds;
      if (typeof e === "number" && e < 600)
        errs.push(
          invalid(
            `spec.tokenRequests[${i}].expirationSeconds`,
            e,
            "may not specify a duration less than 10 minutes",
          ),
        );
    });
    errs.push(...immutable(d, old, "spec.attachRequired", (o) => asObj(o.spec).attachRequired));
    errs.push(...immutable(d, old, "spec.fsGroupPolicy", (o) => asObj(o.spec).fsGroupPolicy));
    errs.push(...immutable(d, old, "spec.volumeLifecycleModes", (o) => asObj(o.spec).volumeLifecycleModes));
    return errs;
  },
  table: {
    columns: [
      column("AttachRequired", "Whether this CSI volume driver requires an attach operation.", "boolean"),
      column(
        "PodInfoOnMount",
        "Whether this CSI volume driver requires additional pod information during mount.",
        "boolean",
      ),
      column("StorageCapacity", "Whether the driver reports storage capacity.", "boolean"),
      column("TokenRequests", "Service account tokens the driver needs."),
      column("RequiresRepublish", "Whether NodePublishVolume should be called periodically.", "boolean"),
      column("Modes", "The volume modes this CSI volume driver supports."),
    ],
    cells(d) {
      const spec = asObj(d.spec);
      const audiences = asList(spec.tokenRequests).map((t) => text(t.audience ?? ""));
      const modes = asList(spec.volumeLifecycleModes) as unknown as string[];
      return [
        spec.attachRequired !== false,
        spec.podInfoOnMount === true,
        spec.storageCapacity === true,
        audiences.length > 0 ? audiences.join(",") : "<unset>",
        spec.requiresRepublish === true,
        modes.length > 0 ? modes.join(",") : "<none>",
      ];
    },
  },
};

export const csiStorageCapacityKind: KindDef = {
  ...base,
  kind: "CSIStorageCapacity",
  resource: "csistoragecapacities",
  singular: "csistoragecapacity",
  namespaced: true,
  shortNames: [],
  description: "CSIStorageCapacity stores the result of one CSI GetCapacity call.",
  schema: objectSchema(
    "CSIStorageCapacity stores the result of one CSI GetCapacity call.",
    {
      nodeTopology: labelSelectorSchema,
      storageClassName: str("The name of the StorageClass that the reported capacity applies to."),
      capacity: quantity("The value reported by the CSI driver in its GetCapacityResponse."),
      maximumVolumeSize: quantity("The largest size that may be used in a CreateVolumeRequest."),
    },
    ["storageClassName"],
  ),
  validate(c) {
    const errs: FieldError[] = [];
    const sc = c.storageClassName;
    if (typeof sc !== "string" || sc === "") errs.push(required("storageClassName"));
    else for (const m of dns1123Subdomain(sc)) errs.push(invalid("storageClassName", sc, m));
    return errs;
  },
  table: {
    noAge: true,
    columns: [
      column("StorageClassName", "The name of the StorageClass that the reported capacity applies to."),
      column("Capacity", "The value reported by the CSI driver in its GetCapacityResponse."),
    ],
    cells: (c) => [c.storageClassName ?? "", c.capacity === undefined ? "<unset>" : text(c.capacity)],
  },
};
