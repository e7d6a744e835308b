/**
 * core/v1 PersistentVolumeClaim: stored and validated as kube does (no binder yet), with a status
 * subresource and kube's printer columns.
 */
import type { KindDef } from "../kind.js";
import { objectSchema } from "../meta.js";
import { enumOf, mapOf, mergeList, obj, quantity, str, strings } from "../schema.js";
import { column } from "../table.js";
import { dns1123Subdomain, forbidden, invalid, notSupported, required } from "../validation.js";
import { asObj, text } from "./json.js";
import { conditionSchema } from "./podspec.js";
import { labelSelectorSchema, validateLabelSelector } from "./templates.js";
import {
  className,
  modesText,
  phase,
  qty,
  validateModes,
  volumeAttributesClass,
  volumeModes,
} from "./volumes.js";

/** The PVC spec fields that may change: requests (bound claims) and the attributes class. */
function comparableClaimSpec(spec: Record<string, unknown>, old: Record<string, unknown>, bound: boolean) {
  const out = { ...spec, volumeAttributesClassName: undefined } as Record<string, unknown>;
  if (!old.volumeName) out.volumeName = undefined;
  if (bound) out.resources = { ...asObj(spec.resources), requests: asObj(asObj(old.resources).requests) };
  return JSON.stringify(out);
}

export const persistentVolumeClaimKind: KindDef = {
  group: "",
  version: "v1",
  kind: "PersistentVolumeClaim",
  resource: "persistentvolumeclaims",
  singular: "persistentvolumeclaim",
  namespaced: true,
  shortNames: ["pvc"],
  categories: [],
  description: "PersistentVolumeClaim is a user's request for and claim to a persistent volume",
  schema: objectSchema("PersistentVolumeClaim is a user's request for and claim to a persistent volume", {
    spec: obj({
      accessModes: strings("The desired access modes the volume should have."),
      selector: labelSelectorSchema,
      resources: obj({ limits: mapOf(quantity()), requests: mapOf(quantity()) }),
      volumeName: str("The binding reference to the PersistentVolume backing this claim."),
      storageClassName: str("The name of the StorageClass required by the claim."),
      volumeMode: enumOf(volumeModes, "What type of volume is required by the claim."),
      dataSource: obj({ apiGroup: str(), kind: str(), name: str() }),
      dataSourceRef: obj({ apiGroup: str(), kind: str(), name: str(), namespace: str() }),
      volumeAttributesClassName: str("The VolumeAttributesClass used by this claim."),
    }),
    status: obj({
      phase: enumOf(["Pending", "Bound", "Lost"], "The current phase of PersistentVolumeClaim."),
      accessModes: strings("The actual access modes the volume backing the PVC has."),
      capacity: mapOf(quantity(), "The actual resources of the underlying volume."),
      conditions: mergeList(conditionSchema, "type"),
      allocatedResources: mapOf(quantity()),
      allocatedResourceStatuses: mapOf(str()),
      currentVolumeAttributesClassName: str(),
      modifyVolumeStatus: obj({ targetVolumeAttributesClassName: str(), status: str() }),
    }),
  }),
  nameRule: dns1123Subdomain,
  subresources: ["status"],
  hasStatus: true,
  defaults(pvc) {
    const spec = asObj(pvc.spec);
    spec.volumeMode ??= "Filesystem";
    pvc.spec = spec;
    const status = asObj(pvc.status);
    status.phase ??= "Pending";
    pvc.status = status;
  },
  validate(pvc, old) {
    const spec = asObj(pvc.spec);
    const errs = validateModes(spec.accessModes, "spec.accessModes", "at least 1 access mode is required");
    if (spec.selector !== undefined) errs.push(...validateLabelSelector(spec.selector, "spec.selector"));
    const storage = asObj(asObj(spec.resources).requests).storage;
    if (storage === undefined) errs.push(required("spec.resources[storage]"));
    else if (qty(storage) <= 0)
      errs.push(invalid("spec.resources[storage]", text(storage), "must be greater than zero"));
    if (!volumeModes.includes(spec.volumeMode as string))
      errs.push(notSupported("spec.volumeMode", spec.volumeMode, volumeModes));
    const sc = spec.storageClassName;
    if (typeof sc === "string" && sc !== "")
      for (const m of dns1123Subdomain(sc)) errs.push(invalid("spec.storageClassName", sc, m));
    if (old !== undefined) {
      const oldSpec = asObj(old.spec);
      const bound = asObj(pvc.status).phase === "Bound";
      if (comparableClaimSpec(spec, oldSpec, bound) !== comparableClaimSpec(oldSpec, oldSpec, bound))
        errs.push(
          forbidden(
            "spec",
            "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims",
          ),
        );
    }
    return errs;
  },
  table: {
    columns: [
      column("Status", "phase represents the current phase of PersistentVolumeClaim."),
      column("Volume", "volumeName is the binding reference to the PersistentVolume backing this claim."),
      column("Capacity", "capacity represents the actual resources of the underlying volume."),
      column("Access Modes", "accessModes contains the actual access modes the volume backing the PVC has."),
      column("StorageClass", "StorageClass of the pvc"),
      column("VolumeAttributesClass", "VolumeAttributesClass of the pvc"),
      column("VolumeMode", "volumeMode defines what type of volume is required by the claim.", "string", 1),
    ],
    cells(pvc) {
      const spec = asObj(pvc.spec);
      const status = asObj(pvc.status);
      const boundTo = (spec.volumeName as string | undefined) ?? "";
      return [
        phase(pvc),
        boundTo,
        boundTo === "" ? "" : text(asObj(status.capacity).storage ?? "0"),
        boundTo === "" ? "" : modesText(status.accessModes),
        className(pvc, spec),
        volumeAttributesClass(spec),
        (spec.volumeMode as string | undefined) ?? "<unset>",
      ];
    },
  },
};
