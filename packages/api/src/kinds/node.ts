/** node.k8s.io/v1 RuntimeClass: a container runtime configuration (handler) pods may select. */
import type { KindDef } from "../kind.js";
import { objectSchema } from "../meta.js";
import { any, list, mapOf, obj, quantity, str, stringMap } from "../schema.js";
import { column } from "../table.js";
import { dns1123Label, dns1123Subdomain, type FieldError, invalid } from "../validation.js";

export const runtimeClassKind: KindDef = {
  group: "node.k8s.io",
  version: "v1",
  kind: "RuntimeClass",
  resource: "runtimeclasses",
  singular: "runtimeclass",
  namespaced: false,
  shortNames: [],
  categories: [],
  description: "RuntimeClass defines a class of container runtime supported in the cluster.",
  schema: objectSchema(
    "RuntimeClass defines a class of container runtime supported in the cluster.",
    {
      handler: str("The underlying runtime and configuration that the CRI implementation will use."),
      overhead: obj({ podFixed: mapOf(quantity(), "The fixed resource overhead of running a pod.") }),
      scheduling: obj({
        nodeSelector: stringMap("Labels that must be present on nodes that support this RuntimeClass."),
        tolerations: list(any(), "Tolerations appended to pods running with this RuntimeClass."),
      }),
    },
    ["handler"],
  ),
  nameRule: dns1123Subdomain,
  subresources: [],
  hasStatus: false,
  validate(rc, old) {
    const errs: FieldError[] = [];
    const handler = typeof rc.handler === "string" ? rc.handler : "";
    for (const m of dns1123Label(handler)) errs.push(invalid("handler", handler, m));
    if (old !== undefined && rc.handler !== old.handler)
      errs.push(invalid("handler", rc.handler, "field is immutable"));
    return errs;
  },
  table: {
    columns: [
      column("Handler", "The underlying runtime and configuration that the CRI implementation will use."),
    ],
    cells: (rc) => [rc.handler ?? ""],
  },
};
