/**
 * Label selectors for listers: k8s.io/apimachinery/pkg/labels' string form
 * (`app=web,tier in (a,b),!canary,version>2`) parsed by a small lexer and parser in the manner of
 * labels.Parse, and the metav1.LabelSelector object form matched by @skiff/api's selectorMatches
 * (metav1.LabelSelectorAsSelector). Keys and values are not checked against the label syntax
 * rules here (the API server does that for the selectors it is sent).
 */
import { type LabelSelector, selectorMatches } from "@skiff/api";

export type Operator = "=" | "!=" | "in" | "notin" | "exists" | "!" | "gt" | "lt";

/** labels.Requirement: one comma-separated clause. */
export interface Requirement {
  key: string;
  operator: Operator;
  values: string[];
}

export type Labels = Readonly<Record<string, string>> | undefined;

/** labels.Selector: what a lister filters with. */
export interface Selector {
  matches(labels: Labels): boolean;
  /** True when it selects everything. */
  empty(): boolean;
}

const SPECIAL = new Set(["!", "=", ",", "(", ")", "<", ">", " ", "\t", "\n", "\r"]);

/** The lexer: identifiers (anything but the special characters and blanks) and operators. */
function tokenize(s: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i] as string;
    if (/\s/.test(c)) {
      i++;
    } else if (c === "=" || c === "!") {
      const two = s.slice(i, i + 2);
      const op = two === "==" || two === "!=" ? two : c;
      out.push(op);
      i += op.length;
    } else if (SPECIAL.has(c)) {
      out.push(c);
      i++;
    } else {
      let j = i;
      while (j < s.length && !SPECIAL.has(s[j] as string) && !/\s/.test(s[j] as string)) j++;
      out.push(`id:${s.slice(i, j)}`);
      i = j;
    }
  }
  return out;
}

const isId = (t: string | undefined): t is string => t?.startsWith("id:") === true;
const idOf = (t: string) => t.slice(3);
const shown = (t: string | undefined) => (t === undefined ? "end of string" : isId(t) ? idOf(t) : t);

/** labels.Parse: the requirements of a selector string; "" selects everything. Throws on bad syntax. */
export function parseLabelSelector(s: string): Requirement[] {
  const toks = tokenize(s);
  const reqs: Requirement[] = [];
  let i = 0;
  const fail = (what: string): never => {
    throw new Error(`unable to parse requirement: found '${shown(toks[i])}', expected: ${what}`);
  };
  const next = () => toks[i++];
  while (i < toks.length) {
    if (toks[i] === "!") {
      i++;
      const key = next();
      if (!isId(key)) fail("identifier after '!'");
      reqs.push({ key: idOf(key as string), operator: "!", values: [] });
    } else {
      const key = next();
      if (!isId(key)) {
        i--;
        fail("identifier");
      }
      reqs.push(requirementAfterKey(idOf(key as string)));
    }
    if (i < toks.length) {
      if (toks[i] !== ",") fail("','");
      i++;
      if (i === toks.length) fail("identifier after ','");
    }
  }
  return reqs;

  function requirementAfterKey(key: string): Requirement {
    const op = toks[i];
    if (op === undefined || op === ",") return { key, operator: "exists", values: [] };
    i++;
    if (op === "=" || op === "==" || op === "!=") {
      // `a=` is a == "": the value may be empty.
      const v = isId(toks[i]) ? idOf(next() as string) : "";
      return { key, operator: op === "!=" ? "!=" : "=", values: [v] };
    }
    if (op === ">" || op === "<") {
      const v = next();
      if (!isId(v) || !/^-?\d+$/.test(idOf(v))) fail("an integer");
      return { key, operator: op === ">" ? "gt" : "lt", values: [idOf(v as string)] };
    }
    if (isId(op) && (idOf(op) === "in" || idOf(op) === "notin")) {
      if (next() !== "(") fail("'('");
      const values: string[] = [];
      for (;;) {
        const t = next();
        if (isId(t)) values.push(idOf(t));
        else if (t === ",") continue;
        else if (t === ")") break;
        else {
          i--;
          fail("')'");
        }
      }
      if (values.length === 0) fail("for 'in', 'notin' operators, a non-empty set of values");
      return { key, operator: idOf(op) as "in" | "notin", values };
    }
    i--;
    return fail("'=', '!=', '==', 'in', 'notin', '<', '>' or ','");
  }
}

/** Requirement.Matches. */
export function requirementMatches(r: Requirement, labels: Labels): boolean {
  const l = labels ?? {};
  const has = Object.hasOwn(l, r.key);
  const v = l[r.key] as string;
  switch (r.operator) {
    case "=":
    case "in":
      return has && r.values.includes(v);
    case "!=":
    case "notin":
      return !has || !r.values.includes(v);
    case "exists":
      return has;
    case "!":
      return !has;
    case "gt":
    case "lt": {
      if (!has || !/^-?\d+$/.test(v)) return false;
      const n = Number(v);
      const bound = Number(r.values[0]);
      return r.operator === "gt" ? n > bound : n < bound;
    }
  }
}

const everything: Selector = { matches: () => true, empty: () => true };

/**
 * A Selector from either form; undefined selects everything (labels.Everything). An object is a
 * metav1.LabelSelector: `{}` selects everything, as LabelSelectorAsSelector.
 */
export function toSelector(sel: string | LabelSelector | Selector | undefined): Selector {
  if (sel === undefined) return everything;
  if (typeof sel === "string") {
    const reqs = parseLabelSelector(sel);
    if (reqs.length === 0) return everything;
    return { matches: (l) => reqs.every((r) => requirementMatches(r, l)), empty: () => false };
  }
  if ("matches" in sel && typeof sel.matches === "function") return sel;
  const obj = sel as LabelSelector;
  const isEmpty =
    Object.keys(obj.matchLabels ?? {}).length === 0 && (obj.matchExpressions ?? []).length === 0;
  return isEmpty ? everything : { matches: (l) => selectorMatches(obj, l), empty: () => false };
}
