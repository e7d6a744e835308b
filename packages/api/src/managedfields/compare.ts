/**
 * What changed from one value to another (typed.TypedValue.Compare): the fields added, modified
 * and removed. Leaves (scalars, atomic lists, empty objects) are compared by value; a map key or
 * list item that appears or disappears is itself added or removed. A struct field's own node is
 * not (kube's Go structs are never absent; deviation noted in docs/apiserver.md).
 */
import type { JsonValue } from "../patch/json.js";
import type { Schema } from "../schema.js";
import { canonicalJson, fieldElement, type PathElement } from "./path.js";
import { FieldSet } from "./set.js";
import { fieldSchema, indexItems, isMapKey, isObject, itemSchema, listTypeOf, nodeKind } from "./typeinfo.js";

export interface Comparison {
  added: FieldSet;
  modified: FieldSet;
  removed: FieldSet;
}

type V = JsonValue | undefined;

export function compare(schema: Schema, lhs: JsonValue, rhs: JsonValue): Comparison {
  const c: Comparison = { added: new FieldSet(), modified: new FieldSet(), removed: new FieldSet() };
  walk(schema, lhs, rhs, [], c, true);
  return c;
}

export const jsonEqual = (a: V, b: V) =>
  a === b || (a !== undefined && b !== undefined && canonicalJson(a) === canonicalJson(b));

const isEmpty = (v: V) =>
  v === undefined ||
  v === null ||
  (isObject(v) && Object.keys(v).length === 0) ||
  (Array.isArray(v) && v.length === 0);

function leaf(l: V, r: V, path: PathElement[], c: Comparison): void {
  if (path.length === 0) return;
  if (l === undefined) c.added.insert(path);
  else if (r === undefined) c.removed.insert(path);
  else if (!jsonEqual(l, r)) c.modified.insert(path);
}

/** `own`: whether this node's own presence counts (map keys and list items, not struct fields). */
function walk(s: Schema, l: V, r: V, path: PathElement[], c: Comparison, own: boolean): void {
  const lk = l === undefined ? undefined : nodeKind(s, l);
  const rk = r === undefined ? undefined : nodeKind(s, r);
  const kind = lk ?? rk;
  if (kind === "leaf" || (lk !== undefined && rk !== undefined && lk !== rk) || (isEmpty(l) && isEmpty(r))) {
    leaf(l, r, path, c);
    return;
  }
  if (kind === "object") {
    const lo = (l ?? {}) as Record<string, JsonValue>;
    const ro = (r ?? {}) as Record<string, JsonValue>;
    const keys = new Set([...Object.keys(lo), ...Object.keys(ro)]);
    for (const k of keys) {
      path.push(fieldElement(k));
      const fs = fieldSchema(s, k);
      // A map field is absent until set (a nil Go map), so its own node counts, as kube's.
      walk(fs, lo[k], ro[k], path, c, isMapKey(s, k) || fs.type === "map");
      path.pop();
    }
  } else {
    const t = listTypeOf(s);
    const lg = indexItems(s, t, (l ?? []) as JsonValue[], false);
    const rg = indexItems(s, t, (r ?? []) as JsonValue[], false);
    const elements = new Set([...lg.keys(), ...rg.keys()]);
    for (const e of elements) {
      const li = lg.get(e) ?? [];
      const ri = rg.get(e) ?? [];
      path.push(e);
      if (li.length <= 1 && ri.length <= 1) walk(itemSchema(s), li[0], ri[0], path, c, true);
      else if (li.length >= 2 && ri.length >= 2) {
        if (!jsonEqual(li, ri)) c.modified.insert(path);
      } else if (li.length >= 2) {
        if (ri.length > 0) walk(itemSchema(s), undefined, ri[0], path, c, true);
        c.removed.insert(path);
      } else {
        if (li.length > 0) walk(itemSchema(s), li[0], undefined, path, c, true);
        c.added.insert(path);
      }
      path.pop();
    }
  }
  if (own && path.length > 0) {
    if (l === undefined) c.added.insert(path);
    else if (r === undefined) c.removed.insert(path);
  }
}
