/**
 * scheduling.k8s.io/v1 PriorityClass: a name for a pod priority. Names starting with `system-`
 * are reserved for the two classes the API server creates at start (kube:
 * pkg/apis/scheduling.SystemPriorityClasses, created by the priority class bootstrap hook).
 */
import type { KindDef } from "../kind.js";
import { type KubeObject, objectSchema } from "../meta.js";
import { bool, enumOf, int32, str } from "../schema.js";
import { age, ageColumn, column } from "../table.js";
import { dns1123Subdomain, type FieldError, forbidden, invalid, notSupported } from "../validation.js";

const preemptionPolicies = ["Never", "PreemptLowerPriority"];
/** kube's HighestUserDefinablePriority. */
const highestUserDefinable = 1_000_000_000;

/** The classes kube-apiserver creates at start (and forbids deleting). */
export const systemPriorityClasses: readonly { name: string; value: number; description: string }[] = [
  {
    name: "system-node-critical",
    value: 2_000_001_000,
    description: "Used for system critical pods that must not be moved from their current node.",
  },
  {
    name: "system-cluster-critical",
    value: 2_000_000_000,
    description:
      "Used for system critical pods that must run in the cluster, but can be moved to another node if necessary.",
  },
];

/** IsKnownSystemPriorityClass: undefined when it is one, else why not. */
function knownSystemClass(pc: KubeObject): string | undefined {
  const sys = systemPriorityClasses.find((s) => s.name === pc.metadata.name);
  if (sys === undefined) return `${pc.metadata.name} is not a known system priority class`;
  if (pc.value !== sys.value) return `value of ${sys.name} PriorityClass must be ${sys.value}`;
  if ((pc.globalDefault ?? false) !== false)
    return `globalDefault of ${sys.name} PriorityClass must be false`;
  return undefined;
}

export const priorityClassKind: KindDef = {
  group: "scheduling.k8s.io",
  version: "v1",
  kind: "PriorityClass",
  resource: "priorityclasses",
  singular: "priorityclass",
  namespaced: false,
  shortNames: ["pc"],
  categories: [],
  description:
    "PriorityClass defines mapping from a priority class name to the priority integer value. The value can be any valid integer.",
  schema: objectSchema(
    "PriorityClass defines mapping from a priority class name to the priority integer value.",
    {
      value: int32("The integer value of this priority class: the actual priority that pods receive."),
      globalDefault: bool("Whether this class is the default priority of pods without a priorityClassName."),
      description: str(
        "An arbitrary string that usually provides guidelines on when this priority class should be used.",
      ),
      preemptionPolicy: enumOf(preemptionPolicies, "The Policy for preempting pods with lower priority."),
    },
  ),
  nameRule: dns1123Subdomain,
  subresources: [],
  hasStatus: false,
  defaults(pc) {
    pc.preemptionPolicy ??= "PreemptLowerPriority";
    pc.value ??= 0;
  },
  validate(pc, old) {
    const errs: FieldError[] = [];
    if (typeof pc.value !== "number" || !Number.isInteger(pc.value))
      errs.push(invalid("value", pc.value, "must be an integer"));
    if ((pc.metadata.name ?? "").startsWith("system-")) {
      const why = knownSystemClass(pc);
      if (why !== undefined)
        errs.push(
          forbidden(
            "metadata.name",
            `priority class names with 'system-' prefix are reserved for system use only. error: ${why}`,
          ),
        );
    } else if (typeof pc.value === "number" && pc.value > highestUserDefinable)
      errs.push(
        forbidden("value", `maximum allowed value of a user defined priority is ${highestUserDefinable}`),
      );
    if (!preemptionPolicies.includes(pc.preemptionPolicy as string))
      errs.push(notSupported("preemptionPolicy", pc.preemptionPolicy, preemptionPolicies));
    if (old !== undefined) {
      if (pc.value !== old.value) errs.push(forbidden("value", "may not be changed in an update."));
      if (pc.preemptionPolicy !== old.preemptionPolicy)
        errs.push(invalid("preemptionPolicy", pc.preemptionPolicy, "field is immutable"));
    }
    return errs;
  },
  table: {
    noAge: true,
    columns: [
      column("Value", "The value of this priority class.", "integer"),
      column("Global-Default", "Whether this priority class is the default one.", "boolean"),
      ageColumn,
      column("PreemptionPolicy", "The Policy for preempting pods with lower priority."),
    ],
    cells: (pc, now) => [
      pc.value ?? 0,
      pc.globalDefault === true,
      ageCell(pc, now),
      (pc.preemptionPolicy as string | undefined) ?? "",
    ],
  },
};

const ageCell = (o: KubeObject, now: Date) => age(o.metadata.creationTimestamp, now);
