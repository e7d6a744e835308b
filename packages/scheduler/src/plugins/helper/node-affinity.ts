/**
 * Node selectors parsed once and matched many times (k8s.io/component-helpers/scheduling/corev1/
 * nodeaffinity: NodeSelector, LazyErrorNodeSelector, RequiredNodeAffinity,
 * PreferredSchedulingTerms). Filter and Score call `match` for every node of every cycle, so the
 * requirements are checked for validity when the selector is built, not on each match.
 */
import type {
  Node,
  NodeSelector,
  NodeSelectorRequirement,
  NodeSelectorTerm,
  Pod,
  PreferredSchedulingTerm,
} from "@skiff/api";

/** metav1.ObjectNameField: the only field a matchFields requirement may name. */
export const OBJECT_NAME_FIELD = "metadata.name";

const NO_LABELS: Readonly<Record<string, string>> = Object.freeze({});

/** A label's value, or undefined when absent (own properties only: "constructor" is a label key). */
export function labelValue(labels: Readonly<Record<string, string>>, key: string): string | undefined {
  return Object.hasOwn(labels, key) ? labels[key] : undefined;
}

/** Go's strconv.ParseInt(s, 10, 64): an optional sign and decimal digits, nothing else. */
function parseInt64(s: string): number | undefined {
  return /^[+-]?\d+$/.test(s) ? Number(s) : undefined;
}

type ValueMatcher = (value: string | undefined) => boolean;

const NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** validation.IsQualifiedName: [prefix/]name, the prefix a DNS subdomain. */
function isQualifiedName(key: string): boolean {
  const slash = key.indexOf("/");
  const name = slash < 0 ? key : key.slice(slash + 1);
  if (name.length === 0 || name.length > 63 || !NAME.test(name)) return false;
  if (slash < 0) return true;
  const prefix = key.slice(0, slash);
  return prefix.length > 0 && prefix.length <= 253 && DNS1123_SUBDOMAIN.test(prefix);
}

/** validation.IsValidLabelValue: empty, or up to 63 characters of a name. */
const isValidLabelValue = (v: string) => v === "" || (v.length <= 63 && NAME.test(v));

/** A label requirement (labels.NewRequirement); an error string when it is malformed. */
function labelRequirement(r: NodeSelectorRequirement, path: string): ValueMatcher | string {
  const values = r.values ?? [];
  if (!isQualifiedName(r.key))
    return `${path}.key: Invalid value: ${JSON.stringify(r.key)}: name part must consist of alphanumeric characters, '-', '_' or '.'`;
  const badValue = values.findIndex((v) => typeof v !== "string" || !isValidLabelValue(v));
  if (badValue >= 0)
    return `${path}.values[${badValue}]: Invalid value: ${JSON.stringify(values[badValue])}: a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.'`;
  switch (r.operator) {
    case "In":
    case "NotIn": {
      if (values.length === 0)
        return `${path}.values: Required value: must be specified for 'In' and 'NotIn' operators`;
      const set = new Set(values);
      return r.operator === "In"
        ? (v) => v !== undefined && set.has(v)
        : (v) => v === undefined || !set.has(v);
    }
    case "Exists":
    case "DoesNotExist":
      if (values.length !== 0)
        return `${path}.values: Forbidden: may not be specified when operator is 'Exists' or 'DoesNotExist'`;
      return r.operator === "Exists" ? (v) => v !== undefined : (v) => v === undefined;
    case "Gt":
    case "Lt": {
      const bound = values.length === 1 ? parseInt64(values[0] as string) : undefined;
      if (bound === undefined)
        return `${path}.values: Invalid value: ${JSON.stringify(values)}: must be a single integer for 'Gt' and 'Lt' operators`;
      return r.operator === "Gt"
        ? (v) => {
            const n = v === undefined ? undefined : parseInt64(v);
            return n !== undefined && n > bound;
          }
        : (v) => {
            const n = v === undefined ? undefined : parseInt64(v);
            return n !== undefined && n < bound;
          };
    }
    default:
      return `${path}.operator: Invalid value: ${JSON.stringify(r.operator)}: not a valid selector operator`;
  }
}

/** A field requirement (nodeSelectorRequirementsAsFieldSelector): metadata.name, In or NotIn one value. */
function fieldRequirement(r: NodeSelectorRequirement, path: string): ValueMatcher | string {
  if (r.key !== OBJECT_NAME_FIELD)
    return `${path}.key: Invalid value: ${JSON.stringify(r.key)}: not a valid field selector key`;
  const values = r.values ?? [];
  if ((r.operator === "In" || r.operator === "NotIn") && values.length !== 1)
    return `${path}.values: Invalid value: ${JSON.stringify(values)}: must have one element`;
  const want = values[0];
  if (r.operator === "In") return (v) => v === want;
  if (r.operator === "NotIn") return (v) => v !== want;
  return `${path}.operator: Invalid value: ${JSON.stringify(r.operator)}: not a valid selector operator`;
}

/** One parsed NodeSelectorTerm: its requirements are ANDed. */
class ParsedTerm {
  readonly labelKeys: string[] = [];
  readonly labelMatchers: ValueMatcher[] = [];
  readonly fieldMatchers: ValueMatcher[] = [];
  readonly errors: string[] = [];

  constructor(term: NodeSelectorTerm, path: string) {
    (term.matchExpressions ?? []).forEach((r, i) => {
      const m = labelRequirement(r, `${path}.matchExpressions[${i}]`);
      if (typeof m === "string") this.errors.push(m);
      else {
        this.labelKeys.push(r.key);
        this.labelMatchers.push(m);
      }
    });
    (term.matchFields ?? []).forEach((r, i) => {
      const m = fieldRequirement(r, `${path}.matchFields[${i}]`);
      if (typeof m === "string") this.errors.push(m);
      else this.fieldMatchers.push(m);
    });
  }

  /**
   * A term with a malformed requirement matches nothing. Field requirements are checked only when
   * the node has a name: kube's volume.CheckNodeAffinity matches a PV against labels alone.
   */
  match(labels: Readonly<Record<string, string>>, name: string): boolean {
    if (this.errors.length > 0) return false;
    const keys = this.labelKeys;
    const matchers = this.labelMatchers;
    for (let i = 0; i < keys.length; i++)
      if (!(matchers[i] as ValueMatcher)(labelValue(labels, keys[i] as string))) return false;
    if (name !== "") for (const m of this.fieldMatchers) if (!m(name)) return false;
    return true;
  }
}

const isEmptyTerm = (t: NodeSelectorTerm | undefined) =>
  t === undefined ||
  t === null ||
  ((t.matchExpressions ?? []).length === 0 && (t.matchFields ?? []).length === 0);

/**
 * kube's LazyErrorNodeSelector: ORed terms; empty terms are dropped (they select nothing), and a
 * malformed term simply does not match (its errors are kept for whoever wants to report them).
 */
export class NodeSelectorMatcher {
  private readonly terms: ParsedTerm[] = [];

  constructor(sel: NodeSelector, path = "nodeSelectorTerms") {
    (sel.nodeSelectorTerms ?? []).forEach((t, i) => {
      if (!isEmptyTerm(t)) this.terms.push(new ParsedTerm(t, `${path}[${i}]`));
    });
  }

  errors(): string[] {
    return this.terms.flatMap((t) => t.errors);
  }

  match(node: Node): boolean {
    return this.matchLabels(node.metadata.labels ?? NO_LABELS, node.metadata.name ?? "");
  }

  /** Matches labels (and a name, "" for none) without a Node object. */
  matchLabels(labels: Readonly<Record<string, string>>, name = ""): boolean {
    for (const t of this.terms) if (t.match(labels, name)) return true;
    return false;
  }
}

/** kube's NewNodeSelector: as NodeSelectorMatcher, but a malformed requirement is an error. */
export function newNodeSelector(sel: NodeSelector, path = "nodeSelectorTerms"): NodeSelectorMatcher {
  const m = new NodeSelectorMatcher(sel, path);
  const errs = m.errors();
  if (errs.length > 0) throw new Error(errs.length === 1 ? errs[0] : `[${errs.join(", ")}]`);
  return m;
}

/**
 * kube's RequiredNodeAffinity (GetRequiredNodeAffinity): the pod's nodeSelector map and its
 * required node affinity, both of which must hold. Malformed terms do not match (kube ignores
 * the parse errors here "for backwards compatibility").
 */
export class RequiredNodeAffinity {
  private readonly selectorKeys: string[] | undefined;
  private readonly selectorValues: string[] | undefined;
  private readonly required: NodeSelectorMatcher | undefined;

  constructor(pod: Pod) {
    const ns = pod.spec.nodeSelector;
    if (ns !== undefined && ns !== null) {
      this.selectorKeys = Object.keys(ns);
      this.selectorValues = this.selectorKeys.map((k) => ns[k] as string);
    }
    const req = pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
    if (req !== undefined && req !== null) this.required = new NodeSelectorMatcher(req);
  }

  match(node: Node): boolean {
    const labels = node.metadata.labels ?? NO_LABELS;
    const keys = this.selectorKeys;
    if (keys !== undefined) {
      const values = this.selectorValues as string[];
      for (let i = 0; i < keys.length; i++)
        if (labelValue(labels, keys[i] as string) !== values[i]) return false;
    }
    return this.required === undefined || this.required.matchLabels(labels, node.metadata.name ?? "");
  }
}

/**
 * kube's PreferredSchedulingTerms: the weights of the terms a node matches, summed. Terms with
 * weight 0 or an empty preference are dropped; a malformed term makes construction fail.
 */
export class PreferredSchedulingTerms {
  private readonly terms: ParsedTerm[] = [];
  private readonly weights: number[] = [];

  constructor(
    terms: readonly PreferredSchedulingTerm[],
    path = "preferredDuringSchedulingIgnoredDuringExecution",
  ) {
    const errs: string[] = [];
    terms.forEach((t, i) => {
      if (t.weight === 0 || isEmptyTerm(t.preference)) return;
      const parsed = new ParsedTerm(t.preference, `${path}[${i}].preference`);
      errs.push(...parsed.errors);
      this.terms.push(parsed);
      this.weights.push(t.weight);
    });
    if (errs.length > 0) throw new Error(errs.length === 1 ? errs[0] : `[${errs.join(", ")}]`);
  }

  score(node: Node): number {
    const labels = node.metadata.labels ?? NO_LABELS;
    const name = node.metadata.name ?? "";
    let score = 0;
    for (let i = 0; i < this.terms.length; i++)
      if ((this.terms[i] as ParsedTerm).match(labels, name)) score += this.weights[i] as number;
    return score;
  }
}
