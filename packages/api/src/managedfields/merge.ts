/**
 * Merging an apply configuration into the live object (typed.TypedValue.Merge) and removing a set
 * of fields from a value (typed.TypedValue.RemoveItems), both by the schema: structs and maps key
 * by key, keyed lists and sets item by item (the configuration's order for its items, the live
 * object's items it does not name kept in place), atomic lists and scalars replaced whole.
 */
import { type JsonObject, type JsonValue, setKey } from "../patch/json.js";
import type { Schema } from "../schema.js";
import { fieldElement } from "./path.js";
import { FieldSet } from "./set.js";
import { fieldSchema, isObject, itemElement, itemSchema, listTypeOf, nodeKind } from "./typeinfo.js";

const copy = <T extends JsonValue>(v: T): T => structuredClone(v);

export function merge(s: Schema, live: JsonValue | undefined, config: JsonValue): JsonValue {
  if (live === undefined || config === null) return copy(config);
  const lk = nodeKind(s, live);
  const ck = nodeKind(s, config);
  if (lk !== ck || ck === "leaf") return copy(config);
  if (ck === "object") {
    const out: JsonObject = {};
    const l = live as JsonObject;
    const c = config as JsonObject;
    for (const [k, v] of Object.entries(l)) if (!(k in c)) setKey(out, k, copy(v));
    for (const [k, v] of Object.entries(c)) {
      if (v === null) continue;
      setKey(out, k, merge(fieldSchema(s, k), l[k], v));
    }
    // The live object's key order first, then the new keys.
    const ordered: JsonObject = {};
    for (const k of [...Object.keys(l), ...Object.keys(c)])
      if (k in out && !(k in ordered)) setKey(ordered, k, out[k] as JsonValue);
    return ordered;
  }
  return mergeList(s, live as JsonValue[], config as JsonValue[]);
}

function mergeList(s: Schema, live: JsonValue[], config: JsonValue[]): JsonValue[] {
  const t = listTypeOf(s);
  const el = (v: JsonValue) => itemElement(s, t, v, false);
  const inConfig = new Map<string, JsonValue>();
  for (const c of config) if (!inConfig.has(el(c))) inConfig.set(el(c), c);
  const liveBy = new Map<string, JsonValue>();
  for (const l of live) if (!liveBy.has(el(l))) liveBy.set(el(l), l);
  const out: JsonValue[] = [];
  const done = new Set<string>();
  let next = 0;
  const configItems = [...inConfig.keys()];
  const emit = (e: string) => {
    done.add(e);
    out.push(merge(itemSchema(s), liveBy.get(e), inConfig.get(e) as JsonValue));
  };
  for (const l of live) {
    const e = el(l);
    if (done.has(e)) continue;
    if (!inConfig.has(e)) {
      out.push(copy(l));
      done.add(e);
      continue;
    }
    // The configuration's items up to this one, in its order.
    while (next < configItems.length) {
      const ce = configItems[next++] as string;
      if (!done.has(ce)) emit(ce);
      if (ce === e) break;
    }
  }
  for (const ce of configItems) if (!done.has(ce)) emit(ce);
  return out;
}

/**
 * `v` without the members of `set` (a member's whole subtree goes) but what `keep` holds: below a
 * removed member, only the fields `keep` names stay (kube's prune, then its add-back of owned
 * items). Undefined if nothing is left.
 */
export function removeItems(
  s: Schema,
  v: JsonValue,
  set: FieldSet,
  keep: FieldSet = new FieldSet(),
  all = false,
): JsonValue | undefined {
  const kind = nodeKind(s, v);
  if (kind === "leaf") return v;
  const child = (e: string, c: JsonValue, cs: Schema): JsonValue | undefined => {
    const sub = set.child(e);
    const k = keep.child(e);
    if (all || sub?.member === true) {
      if (k === undefined || k.empty()) return undefined;
      if (k.member) return c;
      return removeItems(cs, c, sub ?? new FieldSet(), k, true);
    }
    return sub === undefined ? c : removeItems(cs, c, sub, k ?? new FieldSet(), false);
  };
  if (kind === "object") {
    const out: JsonObject = {};
    for (const [k, c] of Object.entries(v as JsonObject)) {
      const kept = child(fieldElement(k), c, fieldSchema(s, k));
      if (kept !== undefined) setKey(out, k, kept);
    }
    return Object.keys(out).length > 0 || Object.keys(v as JsonObject).length === 0 ? out : undefined;
  }
  const t = listTypeOf(s);
  const out: JsonValue[] = [];
  for (const item of v as JsonValue[]) {
    const kept = child(itemElement(s, t, item, false), item, itemSchema(s));
    if (kept !== undefined) out.push(kept);
  }
  return out.length > 0 || (v as JsonValue[]).length === 0 ? out : undefined;
}

export { isObject };
