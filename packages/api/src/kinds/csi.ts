/**
 * storage.k8s.io/v1 CSINode, CSIDriver and CSIStorageCapacity: what a kubelet's CSI plugins
 * register and report, with kube's defaults, validation and printer columns.
 */
import type { KindDef } from "../kind.js";
import { objectSchema } from "../meta.js";
import { bool, enumOf, int32, int64, list, obj, quantity, str, strings } from "../schema.js";
import { column } from "../table.js";
import { dns1123Subdomain, type FieldError, invalid, notSupported, required } from "../validation.js";
import { asList, asObj, text } from "./json.js";
import { storageBase as base, immutable, validateDriverName } from "./storage.js";
import { labelSelectorSchema } from "./templates.js";

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
