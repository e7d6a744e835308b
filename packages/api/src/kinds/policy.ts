/**
 * policy/v1 PodDisruptionBudget: the minimum available (or maximum unavailable) pods of a
 * collection, with kubectl's columns (MIN AVAILABLE, MAX UNAVAILABLE, ALLOWED DISRUPTIONS).
 */
import type { KindDef } from "../kind.js";
import { objectSchema } from "../meta.js";
import { enumOf, int32, int64, intOrString, mapOf, mergeList, obj, time } from "../schema.js";
import { column } from "../table.js";
import { dns1123Subdomain, type FieldError, invalid, notSupported } from "../validation.js";
import { asObj } from "./json.js";
import { conditionSchema } from "./podspec.js";
import { labelSelectorSchema, validateIntOrPercent, validateLabelSelector } from "./templates.js";

const evictionPolicies = ["AlwaysAllow", "IfHealthyBudget"];

export const podDisruptionBudgetKind: KindDef = {
  group: "policy",
  version: "v1",
  kind: "PodDisruptionBudget",
  resource: "poddisruptionbudgets",
  singular: "poddisruptionbudget",
  namespaced: true,
  shortNames: ["pdb"],
  categories: [],
  description:
    "PodDisruptionBudget is an object to define the max disruption that can be caused to a collection of pods",
  schema: objectSchema("PodDisruptionBudget defines the max disruption of a collection of pods.", {
    spec: obj(
      {
        minAvailable: intOrString("Pods that must still be available after an eviction (number or percent)."),
        selector: labelSelectorSchema,
        maxUnavailable: intOrString("Pods that may be unavailable after an eviction (number or percent)."),
        unhealthyPodEvictionPolicy: enumOf(evictionPolicies, "When unhealthy running pods may be evicted."),
      },
      "PodDisruptionBudgetSpec is a description of a PodDisruptionBudget.",
    ),
    status: obj(
      {
        observedGeneration: int64(),
        disruptedPods: mapOf(time(), "Pods whose eviction was processed but not yet observed."),
        disruptionsAllowed: int32("Number of pod disruptions that are currently allowed."),
        currentHealthy: int32("Current number of healthy pods."),
        desiredHealthy: int32("Minimum desired number of healthy pods."),
        expectedPods: int32("Total number of pods counted by this disruption budget."),
        conditions: mergeList(conditionSchema, "type"),
      },
      "PodDisruptionBudgetStatus represents information about the status of a PodDisruptionBudget.",
    ),
  }),
  nameRule: dns1123Subdomain,
  subresources: ["status"],
  hasStatus: true,
  defaults(pdb) {
    pdb.spec = asObj(pdb.spec);
    pdb.status ??= { currentHealthy: 0, desiredHealthy: 0, disruptionsAllowed: 0, expectedPods: 0 };
  },
  validate(pdb) {
    const spec = asObj(pdb.spec);
    const errs: FieldError[] = [];
    if (spec.minAvailable !== undefined && spec.maxUnavailable !== undefined)
      errs.push(invalid("spec", spec, "minAvailable and maxUnavailable cannot be both set"));
    for (const f of ["minAvailable", "maxUnavailable"])
      if (spec[f] !== undefined) errs.push(...validateIntOrPercent(spec[f], `spec.${f}`));
    if (spec.selector !== undefined) errs.push(...validateLabelSelector(spec.selector, "spec.selector"));
    const policy = spec.unhealthyPodEvictionPolicy;
    if (policy !== undefined && !evictionPolicies.includes(policy as string))
      errs.push(notSupported("spec.unhealthyPodEvictionPolicy", policy, evictionPolicies));
    return errs;
  },
  table: {
    columns: [
      column("Min Available", "The minimum number of pods that must be available."),
      column("Max Unavailable", "The maximum number of pods that may be unavailable."),
      column(
        "Allowed Disruptions",
        "Calculated number of pods that may be disrupted at this time.",
        "integer",
      ),
    ],
    cells(pdb) {
      const spec = asObj(pdb.spec);
      return [
        spec.minAvailable === undefined ? "N/A" : String(spec.minAvailable),
        spec.maxUnavailable === undefined ? "N/A" : String(spec.maxUnavailable),
        asObj(pdb.status).disruptionsAllowed ?? 0,
      ];
    },
  },
};
