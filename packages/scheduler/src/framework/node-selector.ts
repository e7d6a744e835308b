/**
 * Node selector matching (k8s.io/component-helpers/scheduling/corev1/nodeaffinity): a pod's
 * nodeSelector map and required node affinity terms (ORed terms of ANDed requirements; Gt/Lt
 * compare integers; matchFields supports metadata.name only, as kube).
 */
import type { Node, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, Pod } from "@skiff/api";

function requirementMatches(r: NodeSelectorRequirement, value: string | undefined): boolean {
  const has = value !== undefined;
  const values = r.values ?? [];
  switch (r.operator) {
    case "In":
      return has && values.includes(value);
    case "NotIn":
      return !has || !values.includes(value);
    case "Exists":
      return has;
    case "DoesNotExist":
      return !has;
    case "Gt":
    case "Lt": {
      if (!has || values.length !== 1) return false;
      const a = Number.parseInt(value, 10);
      const b = Number.parseInt(values[0] as string, 10);
      if (!Number.isInteger(a) || !Number.isInteger(b) || String(a) !== value.trim()) return false;
      return r.operator === "Gt" ? a > b : a < b;
    }
    default:
      return false;
  }
}

/** One term: every expression on the labels and every field requirement must hold; an empty term matches nothing. */
export function nodeSelectorTermMatches(term: NodeSelectorTerm, node: Node): boolean {
  const exprs = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  if (exprs.length === 0 && fields.length === 0) return false;
  const labels = node.metadata.labels ?? {};
  for (const r of exprs) if (!requirementMatches(r, labels[r.key])) return false;
  for (const r of fields) {
    if (r.key !== "metadata.name") return false;
    if (!requirementMatches(r, node.metadata.name)) return false;
  }
  return true;
}

/** The terms are ORed. */
export function nodeSelectorMatches(sel: NodeSelector, node: Node): boolean {
  return (sel.nodeSelectorTerms ?? []).some((t) => nodeSelectorTermMatches(t, node));
}

/** kube's GetRequiredNodeAffinity(pod).Match(node): nodeSelector and required node affinity both hold. */
export function podMatchesNodeSelectorAndAffinityTerms(pod: Pod, node: Node): boolean {
  const labels = node.metadata.labels ?? {};
  for (const [k, v] of Object.entries(pod.spec.nodeSelector ?? {})) if (labels[k] !== v) return false;
  const req = pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  return req === undefined || nodeSelectorMatches(req, node);
}
