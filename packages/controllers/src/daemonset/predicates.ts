/**
 * The scheduling predicates the daemonset controller evaluates itself to decide which nodes should
 * run a daemon pod (daemon_controller.go's predicates): the pod's required node affinity
 * (component-helpers' nodeaffinity.GetRequiredNodeAffinity: nodeSelector AND one of the required
 * terms); taints against tolerations are util/taints.ts's. A small matcher of its own: the
 * controllers may not import the scheduler.
 */
import type { Node, NodeSelectorRequirement, NodeSelectorTerm, PodSpec } from "@skiff/api";

/** metav1.ObjectNameField: the one field a matchFields requirement may name. */
export const OBJECT_NAME_FIELD = "metadata.name";

const has = (labels: Readonly<Record<string, string>>, key: string) => Object.hasOwn(labels, key);

/** Go's strconv.ParseInt: an optional sign and decimal digits. */
const parseInt64 = (s: string | undefined) =>
  s !== undefined && /^[+-]?\d+$/.test(s) ? Number(s) : undefined;

/** One label requirement (nodeSelectorRequirementsAsSelector); a malformed one matches nothing. */
function labelRequirementMatches(
  r: NodeSelectorRequirement,
  labels: Readonly<Record<string, string>>,
): boolean {
  const values = r.values ?? [];
  const v = has(labels, r.key) ? labels[r.key] : undefined;
  switch (r.operator) {
    case "In":
      return values.length > 0 && v !== undefined && values.includes(v);
    case "NotIn":
      return values.length > 0 && (v === undefined || !values.includes(v));
    case "Exists":
      return values.length === 0 && v !== undefined;
    case "DoesNotExist":
      return values.length === 0 && v === undefined;
    case "Gt":
    case "Lt": {
      const bound = values.length === 1 ? parseInt64(values[0]) : undefined;
      const n = parseInt64(v);
      if (bound === undefined || n === undefined) return false;
      return r.operator === "Gt" ? n > bound : n < bound;
    }
    default:
      return false;
  }
}

/** One field requirement: metadata.name In/NotIn exactly one value. */
function fieldRequirementMatches(r: NodeSelectorRequirement, name: string): boolean {
  const values = r.values ?? [];
  if (r.key !== OBJECT_NAME_FIELD || values.length !== 1) return false;
  if (r.operator === "In") return name === values[0];
  if (r.operator === "NotIn") return name !== values[0];
  return false;
}

/** A NodeSelectorTerm: its requirements ANDed; a term with none selects nothing. */
export function nodeSelectorTermMatches(term: NodeSelectorTerm, node: Node): boolean {
  const exprs = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  if (exprs.length === 0 && fields.length === 0) return false;
  const labels = node.metadata.labels ?? {};
  return (
    exprs.every((r) => labelRequirementMatches(r, labels)) &&
    fields.every((r) => fieldRequirementMatches(r, node.metadata.name))
  );
}

/** nodeaffinity.GetRequiredNodeAffinity(pod).Match(node): nodeSelector and the required terms (ORed). */
export function requiredNodeAffinityMatches(spec: PodSpec, node: Node): boolean {
  const labels = node.metadata.labels ?? {};
  for (const [k, v] of Object.entries(spec.nodeSelector ?? {}))
    if (!has(labels, k) || labels[k] !== v) return false;
  const required = spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  if (required === undefined || required === null) return true;
  return (required.nodeSelectorTerms ?? []).some((t) => nodeSelectorTermMatches(t, node));
}
