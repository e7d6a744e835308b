/**
 * What server-side apply needs from a schema (structured-merge-diff's schema.Map/List): whether a
 * node is a struct (named fields), a map (keys are data: labels, free-form objects) or a list,
 * and how a list's items are identified: "map" lists by their keys (containers by name, ports by
 * containerPort and protocol), "set" lists of scalars by value, "atomic" lists as one value.
 */
import { isObject, type JsonValue } from "../patch/json.js";

export { isObject };

import type { ArraySchema, Schema } from "../schema.js";
import { keyElement, type PathElement, valueElement } from "./path.js";

const anySchema: Schema = { type: "any" };

export class ApplyTypeError extends Error {}

export type ListType = { type: "atomic" } | { type: "set" } | { type: "map"; keys: readonly string[] };

const scalarTypes = new Set(["string", "integer", "number", "boolean", "int-or-string"]);

/** The list type (x-kubernetes-list-type), derived from the patch strategy when unset. */
export function listTypeOf(s: Schema): ListType {
  if (s.type !== "array") return { type: "atomic" };
  const a = s as ArraySchema;
  const keys = a.listMapKeys ?? (a.patchMergeKey !== undefined ? [a.patchMergeKey] : undefined);
  if (a.listType === "map" || (a.listType === undefined && keys !== undefined && isMergeStrategy(a)))
    return keys === undefined ? { type: "atomic" } : { type: "map", keys };
  if (
    a.listType === "set" ||
    (a.listType === undefined && isMergeStrategy(a) && scalarTypes.has(a.items.type))
  )
    return { type: "set" };
  return { type: "atomic" };
}

const isMergeStrategy = (a: ArraySchema) => a.patchStrategy?.split(",").includes("merge") === true;

/** True for a struct: its keys are field names (their own node is not owned unless empty). */
export const isStruct = (s: Schema) => s.type === "object";

/** The schema of field `name` of a struct or map node. */
export function fieldSchema(s: Schema, name: string): Schema {
  if (s.type === "object") return s.properties[name] ?? anySchema;
  if (s.type === "map") return s.values;
  return anySchema;
}

/** True if `name` is a map key rather than a declared field (then its own node is owned). */
export const isMapKey = (s: Schema, name: string) => s.type !== "object" || !(name in s.properties);

export const itemSchema = (s: Schema): Schema => (s.type === "array" ? s.items : anySchema);

/**
 * The path element of a list item; `strict` (apply) throws when an item of a keyed list lacks a
 * key with no default, as kube's typed conversion does; otherwise the key is null.
 */
export function itemElement(s: Schema, t: ListType, item: JsonValue, strict: boolean): PathElement {
  if (t.type === "set") return valueElement(item);
  if (t.type !== "map") throw new Error("atomic lists have no item elements");
  if (!isObject(item)) {
    if (strict) throw new ApplyTypeError("associative list with keys has an element that is not a map");
    return valueElement(item);
  }
  const defaults = s.type === "array" ? s.listMapKeyDefaults : undefined;
  const keys: Record<string, JsonValue> = {};
  for (const k of t.keys) {
    const v = item[k] ?? defaults?.[k];
    if (v === undefined) {
      if (strict)
        throw new ApplyTypeError(
          `associative list with keys has an element that omits key field ${JSON.stringify(k)} (and doesn't have default value)`,
        );
      keys[k] = null;
    } else keys[k] = v;
  }
  return keyElement(keys);
}

/** A list's items grouped by path element, in first-seen order. */
export function indexItems(s: Schema, t: ListType, items: JsonValue[], strict: boolean) {
  const byElement = new Map<PathElement, JsonValue[]>();
  for (const [i, item] of items.entries()) {
    let e: PathElement;
    try {
      e = itemElement(s, t, item, strict);
    } catch (err) {
      if (err instanceof ApplyTypeError) throw new ApplyTypeError(`element ${i}: ${err.message}`);
      throw err;
    }
    const group = byElement.get(e);
    if (group === undefined) byElement.set(e, [item]);
    else group.push(item);
  }
  return byElement;
}

/** A granular node: a struct or map (object value), or a keyed list or set (array value). */
export function nodeKind(s: Schema, v: JsonValue | undefined): "object" | "list" | "leaf" {
  if (isObject(v) && (s.type === "object" || s.type === "map" || s.type === "any")) return "object";
  if (Array.isArray(v) && listTypeOf(s).type !== "atomic") return "list";
  return "leaf";
}
