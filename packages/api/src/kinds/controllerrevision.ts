/**
 * apps/v1 ControllerRevision: an immutable snapshot of state data, used by DaemonSet and
 * StatefulSet controllers for rollbacks.
 */
import type { KindDef } from "../kind.js";
import { objectSchema } from "../meta.js";
import { any, int64 } from "../schema.js";
import { column } from "../table.js";
import { dns1123Subdomain, type FieldError, invalid, required } from "../validation.js";

export const controllerRevisionKind: KindDef = {
  group: "apps",
  version: "v1",
  kind: "ControllerRevision",
  resource: "controllerrevisions",
  singular: "controllerrevision",
  namespaced: true,
  shortNames: [],
  categories: [],
  description: "ControllerRevision implements an immutable snapshot of state data.",
  schema: objectSchema(
    "ControllerRevision implements an immutable snapshot of state data.",
    {
      data: any("Data is the serialized representation of the state."),
      revision: int64("Revision indicates the revision of the state represented by Data."),
    },
    ["revision"],
  ),
  nameRule: dns1123Subdomain,
  subresources: [],
  hasStatus: false,
  validate(cr, old) {
    const errs: FieldError[] = [];
    if (cr.data === undefined || cr.data === null) errs.push(required("data", "data is mandatory"));
    if (typeof cr.revision === "number" && cr.revision < 0)
      errs.push(invalid("revision", cr.revision, "must be greater than or equal to 0"));
    if (old !== undefined && JSON.stringify(cr.data ?? null) !== JSON.stringify(old.data ?? null))
      errs.push(invalid("data", cr.data, "field is immutable"));
    return errs;
  },
  table: {
    columns: [
      column("Controller", "Controller of the object"),
      column("Revision", "Revision indicates the revision of the state represented by Data."),
    ],
    cells(cr) {
      const ref = (cr.metadata.ownerReferences ?? []).find((o) => o.controller === true);
      let controller = "<none>";
      if (ref !== undefined) {
        const group = ref.apiVersion.includes("/") ? ref.apiVersion.split("/")[0] : "";
        controller = `${(group ? `${ref.kind}.${group}` : ref.kind).toLowerCase()}/${ref.name}`;
      }
      return [controller, cr.revision ?? 0];
    },
  },
};
