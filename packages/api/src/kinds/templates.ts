/**
 * What the kinds with a pod template share: the label selector (schema, matching and validation
 * as metav1.LabelSelectorAsSelector does them, kubectl's FormatLabelSelector text), the
 * template's defaults and validation, int-or-percent checks and the wide table columns.
 */
import { enumOf, list, obj, str, stringMap } from "../schema.js";
import { column } from "../table.js";
import {
  type FieldError,
  forbidden,
  invalid,
  labelValue,
  notSupported,
  qualifiedName,
  required,
} from "../validation.js";
import { asList, asObj, type Json } from "./json.js";
import { defaultPodSpec, validatePodSpec } from "./pod.js";

export const labelSelectorSchema = obj(
  {
    matchLabels: stringMap("A map of {key,value} pairs."),
    matchExpressions: list(
      obj({ key: str(), operator: enumOf(["In", "NotIn", "Exists", "DoesNotExist"]), values: list(str()) }),
    ),
  },
  "A label selector is a label query over a set of resources.",
);

// ---- label selectors ----

/** LabelSelectorAsSelector(sel).Matches(labels): no selector matches nothing, `{}` everything. */
export function selectorMatches(selector: unknown, labels: unknown): boolean {
  if (typeof selector !== "object" || selector === null) return false;
  const sel = selector as Json;
  const have = asObj(labels);
  const has = (k: string) => Object.hasOwn(have, k);
  for (const [k, v] of Object.entries(asObj(sel.matchLabels))) if (!has(k) || have[k] !== v) return false;
  for (const e of asList(sel.matchExpressions)) {
    const key = String(e.key);
    const values = (e.values as string[] | undefined) ?? [];
    const ok =
      e.operator === "In"
        ? has(key) && values.includes(have[key] as string)
        : e.operator === "NotIn"
          ? !has(key) || !values.includes(have[key] as string)
          : e.operator === "Exists"
            ? has(key)
            : e.operator === "DoesNotExist"
              ? !has(key)
              : false;
    if (!ok) return false;
  }
  return true;
}

/** metav1.FormatLabelSelector: `app=web,tier in (a,b),!canary`, or <none>. */
export function formatLabelSelector(selector: unknown): string {
  if (typeof selector !== "object" || selector === null) return "<none>";
  const sel = selector as Json;
  const reqs: [string, string][] = Object.entries(asObj(sel.matchLabels)).map(([k, v]) => [k, `${k}=${v}`]);
  for (const e of asList(sel.matchExpressions)) {
    const key = String(e.key);
    const values = [...((e.values as string[] | undefined) ?? [])].sort().join(",");
    if (e.operator === "In") reqs.push([key, `${key} in (${values})`]);
    else if (e.operator === "NotIn") reqs.push([key, `${key} notin (${values})`]);
    else if (e.operator === "Exists") reqs.push([key, key]);
    else if (e.operator === "DoesNotExist") reqs.push([key, `!${key}`]);
  }
  reqs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const text = reqs.map((r) => r[1]).join(",");
  return text === "" ? "<none>" : text;
}

/** labels.FormatLabels: sorted `k=v` pairs, or <none>. */
export function formatLabels(labels: unknown): string {
  const text = Object.entries(asObj(labels))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
  return text === "" ? "<none>" : text;
}

/** ValidateLabelSelector. */
export function validateLabelSelector(selector: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const sel = asObj(selector);
  asList(sel.matchExpressions).forEach((e, i) => {
    const at = `${path}.matchExpressions[${i}]`;
    const values = (e.values as unknown[] | undefined) ?? [];
    if (e.operator === "In" || e.operator === "NotIn") {
      if (values.length === 0)
        errs.push(required(`${at}.values`, "must be specified when `operator` is 'In' or 'NotIn'"));
    } else if (e.operator === "Exists" || e.operator === "DoesNotExist") {
      if (values.length > 0)
        errs.push(
          forbidden(`${at}.values`, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"),
        );
    } else errs.push(invalid(`${at}.operator`, e.operator, "not a valid selector operator"));
    for (const m of qualifiedName(String(e.key ?? ""))) errs.push(invalid(`${at}.key`, e.key, m));
  });
  for (const [k, v] of Object.entries(asObj(sel.matchLabels))) {
    for (const m of qualifiedName(k)) errs.push(invalid(`${path}.matchLabels`, k, m));
    for (const m of labelValue(String(v))) errs.push(invalid(`${path}.matchLabels`, v, m));
  }
  return errs;
}

export const isEmptySelector = (sel: unknown) =>
  Object.keys(asObj(asObj(sel).matchLabels)).length === 0 && asList(asObj(sel).matchExpressions).length === 0;

// ---- int-or-percent (apps validation) ----

const percentRe = /^[0-9]+%$/;

/** ValidatePositiveIntOrPercent and IsNotMoreThan100Percent. */
export function validateIntOrPercent(v: unknown, path: string): FieldError[] {
  if (typeof v === "number") return v < 0 ? [invalid(path, v, "must be greater than or equal to 0")] : [];
  if (typeof v !== "string") return [invalid(path, v, "must be an integer or percentage (e.g '5%')")];
  if (!percentRe.test(v))
    return [
      invalid(
        path,
        v,
        "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
      ),
    ];
  return Number.parseInt(v, 10) > 100 ? [invalid(path, v, "must not be greater than 100%")] : [];
}

export const intOrPercentValue = (v: unknown) =>
  typeof v === "number" ? v : Number.parseInt(String(v), 10) || 0;

export const nonNegative = (v: unknown, path: string): FieldError[] =>
  typeof v === "number" && v < 0 ? [invalid(path, v, "must be greater than or equal to 0")] : [];

export const immutable = (now: unknown, before: unknown, path: string): FieldError[] =>
  JSON.stringify(now) === JSON.stringify(before) ? [] : [invalid(path, now ?? null, "field is immutable")];

// ---- templates ----

/** The pod template's defaults: metadata present (creationTimestamp: null upstream), PodSpec defaults. */
export function defaultTemplate(holder: Json, key = "template"): Json {
  const template = asObj(holder[key]);
  holder[key] = template;
  template.metadata ??= {};
  template.spec = asObj(template.spec);
  defaultPodSpec(template.spec as Json);
  return template;
}

/** Selector required and matching the template's labels, and the template's pod spec. */
export function validateSelectorAndTemplate(spec: Json, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const template = asObj(spec.template);
  const labels = asObj(template.metadata).labels;
  if (spec.selector === undefined || spec.selector === null) errs.push(required(`${path}.selector`));
  else errs.push(...validateLabelSelector(spec.selector, `${path}.selector`));
  if (!selectorMatches(spec.selector, labels))
    errs.push(
      invalid(
        `${path}.template.metadata.labels`,
        labels ?? {},
        "`selector` does not match template `labels`",
      ),
    );
  errs.push(...validatePodSpec(template.spec as Json | undefined, `${path}.template.spec`));
  return errs;
}

/** Controllers that run pods forever: restartPolicy Always only. */
export function restartAlways(spec: Json, path: string): FieldError[] {
  const rp = asObj(asObj(spec.template).spec).restartPolicy;
  return rp === "Always" || rp === undefined
    ? []
    : [notSupported(`${path}.template.spec.restartPolicy`, rp, ["Always"])];
}

/** kubectl's layoutContainerCells: container names and images, comma-separated. */
export function containerCells(template: unknown): [string, string] {
  const containers = asList(asObj(asObj(template).spec).containers);
  return [containers.map((c) => c.name).join(","), containers.map((c) => c.image).join(",")];
}

export const containersColumn = column("Containers", "Names of each container in the template.", "string", 1);
export const imagesColumn = column(
  "Images",
  "Images referenced by each container in the template.",
  "string",
  1,
);
export const selectorColumn = column("Selector", "Label selector for pods.", "string", 1);
