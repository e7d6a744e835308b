/**
 * The fields a value sets (typed.TypedValue.ToFieldSet): every scalar, atomic list and map key,
 * every list item (with its fields), and struct fields whose value is null or an empty object.
 */
import type { JsonValue } from "../patch/json.js";
import type { Schema } from "../schema.js";
import { fieldElement, type PathElement, pathString } from "./path.js";
import { FieldSet } from "./set.js";
import {
  ApplyTypeError,
  fieldSchema,
  indexItems,
  isMapKey,
  isObject,
  itemSchema,
  listTypeOf,
  nodeKind,
} from "./typeinfo.js";

export function toFieldSet(schema: Schema, value: JsonValue, strict = false): FieldSet {
  const set = new FieldSet();
  walk(schema, value, [], set, strict);
  return set;
}

function walk(s: Schema, v: JsonValue, path: PathElement[], set: FieldSet, strict: boolean): void {
  const kind = nodeKind(s, v);
  if (kind === "leaf") {
    if (path.length > 0) set.insert(path);
    return;
  }
  if (kind === "object") {
    for (const [k, child] of Object.entries(v as Record<string, JsonValue>)) {
      path.push(fieldElement(k));
      walk(fieldSchema(s, k), child, path, set, strict);
      if (child === null || (isObject(child) && Object.keys(child).length === 0) || isMapKey(s, k))
        set.insert(path);
      path.pop();
    }
    return;
  }
  const t = listTypeOf(s);
  let items: Map<PathElement, JsonValue[]>;
  try {
    items = indexItems(s, t, v as JsonValue[], strict);
  } catch (err) {
    if (err instanceof ApplyTypeError) throw new ApplyTypeError(`${pathString(path)}: ${err.message}`);
    throw err;
  }
  for (const [e, group] of items) {
    path.push(e);
    if (group.length === 1) walk(itemSchema(s), group[0] as JsonValue, path, set, strict);
    set.insert(path);
    path.pop();
  }
}
