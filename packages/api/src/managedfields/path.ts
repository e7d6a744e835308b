/**
 * Path elements as FieldsV1 spells them (sigs.k8s.io/structured-merge-diff fieldpath): `f:<name>`
 * a field, `k:{"name":"c"}` an associative list item by its keys (sorted), `v:<json>` an item of
 * a set, `i:<n>` a list index. A path is a list of them; `pathString` prints it as kube does in
 * conflict messages (`.spec.containers[name="c"].image`).
 */
import type { JsonValue } from "../patch/json.js";

/** One step of a path, in its FieldsV1 form. */
export type PathElement = string;
export type Path = readonly PathElement[];

export const fieldElement = (name: string): PathElement => `f:${name}`;
export const valueElement = (v: JsonValue): PathElement => `v:${canonicalJson(v)}`;
export const indexElement = (i: number): PathElement => `i:${i}`;

/** `k:{...}` with the key fields in name order, as fieldpath.KeyByFields sorts them. */
export function keyElement(keys: Readonly<Record<string, JsonValue>>): PathElement {
  const sorted: Record<string, JsonValue> = {};
  for (const k of Object.keys(keys).sort()) sorted[k] = keys[k] as JsonValue;
  return `k:${canonicalJson(sorted)}`;
}

/** JSON with object keys sorted, so that equal values have one spelling. */
export function canonicalJson(v: JsonValue): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  if (typeof v === "object" && v !== null)
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k] as JsonValue)}`)
      .join(",")}}`;
  return JSON.stringify(v);
}

/** True if `e` is a well-formed path element. */
export function isPathElement(e: string): boolean {
  const kind = e.slice(0, 2);
  const rest = e.slice(2);
  if (kind === "f:") return rest.length > 0;
  if (kind === "i:") return /^(0|[1-9]\d*)$/.test(rest);
  if (kind !== "k:" && kind !== "v:") return false;
  try {
    const v = JSON.parse(rest) as unknown;
    return kind === "v:" || (typeof v === "object" && v !== null && !Array.isArray(v));
  } catch {
    return false;
  }
}

/** A value as value.ToString prints it: strings quoted, the rest as JSON. */
const valueString = (v: JsonValue) => JSON.stringify(v);

/** One element as fieldpath.PathElement.String prints it. */
export function elementString(e: PathElement): string {
  const rest = e.slice(2);
  switch (e.slice(0, 2)) {
    case "f:":
      return `.${rest}`;
    case "i:":
      return `[${rest}]`;
    case "v:":
      return `[=${valueString(JSON.parse(rest) as JsonValue)}]`;
    default: {
      const keys = JSON.parse(rest) as Record<string, JsonValue>;
      return `[${Object.entries(keys)
        .map(([k, v]) => `${k}=${valueString(v)}`)
        .join(",")}]`;
    }
  }
}

export const pathString = (p: Path): string => p.map(elementString).join("");
