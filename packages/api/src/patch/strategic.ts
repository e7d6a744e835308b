import { PatchError } from "./errors.js";
import { clone, isObject, type JsonObject, type JsonValue, jsonEqual, setKey } from "./json.js";

/** Strategic-merge metadata of one field (the `x-kubernetes-patch-*` / `patchStrategy` struct tags). */
export interface PatchMetaEntry {
  patchMergeKey?: string;
  /** As Kubernetes spells it: "merge", "replace", "retainKeys", "merge,retainKeys". */
  patchStrategy?: string;
}

/** Patch metadata for the list or map at `path` (property names from the object root; array elements are not in the path). */
export type PatchMeta = (path: readonly string[]) => PatchMetaEntry | undefined;

const noMeta: PatchMeta = () => undefined;

/**
 * Builds a {@link PatchMeta} from a table keyed by dotted paths, e.g.
 * `{"spec.template.spec.containers": {patchMergeKey: "name", patchStrategy: "merge"}}`.
 * A path is looked up whole first, then by ever shorter suffixes, so a key naming only the last
 * segment(s) (`"containers"`, `"spec.containers"`) applies wherever that field appears.
 * The longest matching key wins.
 */
export function kubernetesPatchMeta(table: Record<string, PatchMetaEntry>): PatchMeta {
  return (path) => {
    for (let i = 0; i < path.length; i++) {
      const key = path.slice(i).join(".");
      if (Object.hasOwn(table, key)) return table[key];
    }
    return undefined;
  };
}

const DIRECTIVE = "$patch";
const RETAIN_KEYS = "$retainKeys";
const SET_ELEMENT_ORDER = "$setElementOrder/";
const DELETE_FROM_PRIMITIVE_LIST = "$deleteFromPrimitiveList/";

/** Returned by mergeMap for `$patch: delete`. */
const DELETED = Symbol("deleted");

function strategies(entry: PatchMetaEntry | undefined): string[] {
  return (entry?.patchStrategy ?? "").split(",").map((s) => s.trim());
}

function describe(v: JsonValue): string {
  return JSON.stringify(v);
}

/**
 * Kubernetes strategic merge patch (`application/strategic-merge-patch+json`), following
 * k8s.io/apimachinery/pkg/util/strategicpatch (the server-side "apply a patch" mode). Inputs are not mutated.
 *
 * - Maps merge recursively; `null` deletes a key.
 * - Lists whose strategy contains "merge" merge: with a `patchMergeKey`, elements are matched by that key
 *   and merged; lists of primitives are unioned without duplicates. Every other list, and maps with
 *   strategy "replace", are replaced whole.
 * - Order of a merged list is upstream's normalizeElementOrder: elements named in the patch (or in
 *   `$setElementOrder/<list>` when given) follow that order, the others keep their live order and are
 *   interleaved where the live list had them. Consequently an element added by a patch that names no
 *   existing element lands *before* the existing ones (as with kubectl), unless `$setElementOrder` says otherwise.
 * - Directives: `$patch: replace|delete|merge` (on a map or as a list element), `$retainKeys`,
 *   `$setElementOrder/<list>`, `$deleteFromPrimitiveList/<list>`. Unknown `$patch` values and unknown
 *   `$name/<list>` directives throw {@link PatchError}. Plain `$name` keys without a slash are ordinary
 *   fields (CRD schemas use `$ref`, `$schema`).
 *
 * Deliberate differences from upstream: `$patch: delete` on a nested map removes the key (upstream leaves
 * `{}`); `$patch: merge` is accepted as "merge as usual" (upstream rejects it inside lists); values that are
 * added rather than merged (new keys, appended list elements, `$patch: replace` maps) are cleaned of nulls and
 * directives (upstream copies them verbatim, apart from dropping nulls from new keys).
 */
export function applyStrategicMergePatch(
  doc: JsonValue,
  patch: JsonValue,
  meta: PatchMeta = noMeta,
): JsonValue {
  if (!isObject(patch)) throw new PatchError("strategic merge patch must be a JSON object");
  const out = mergeMap(isObject(doc) ? doc : undefined, patch, [], meta);
  return out === DELETED ? {} : out;
}

function mergeMap(
  original: JsonObject | undefined,
  patch: JsonObject,
  path: readonly string[],
  meta: PatchMeta,
): JsonObject | typeof DELETED {
  let rest = patch;
  if (Object.hasOwn(patch, DIRECTIVE)) {
    const { [DIRECTIVE]: directive, ...others } = patch;
    rest = others;
    if (directive === "delete") return DELETED;
    if (directive === "replace") return mergeMap(undefined, others, path, meta);
    if (directive !== "merge")
      throw new PatchError(`unknown patch type: ${describe(directive ?? null)} in map`);
  }

  const out: JsonObject = original ? clone(original) : {};

  if (Object.hasOwn(rest, RETAIN_KEYS)) {
    const retain = rest[RETAIN_KEYS];
    if (!Array.isArray(retain) || !retain.every((k) => typeof k === "string")) {
      throw new PatchError("invalid patch format of retainKeys: $retainKeys must be a list of strings");
    }
    const keep = new Set<string>(retain as string[]);
    for (const [k, v] of Object.entries(rest)) {
      if (v === null || k.startsWith("$")) continue;
      if (!keep.has(k)) {
        throw new PatchError(
          `invalid patch format of retainKeys: field ${JSON.stringify(k)} is not in $retainKeys`,
        );
      }
    }
    for (const k of Object.keys(out)) if (!keep.has(k)) delete out[k];
  }

  const orders = new Map<string, JsonValue[]>();
  const deletions = new Map<string, JsonValue[]>();
  for (const [k, v] of Object.entries(rest)) {
    if (k === RETAIN_KEYS) continue;
    if (k === DIRECTIVE) continue;
    if (k.startsWith(SET_ELEMENT_ORDER) || k.startsWith(DELETE_FROM_PRIMITIVE_LIST)) {
      const isOrder = k.startsWith(SET_ELEMENT_ORDER);
      const field = k.slice((isOrder ? SET_ELEMENT_ORDER : DELETE_FROM_PRIMITIVE_LIST).length);
      if (!Array.isArray(v)) throw new PatchError(`invalid value for ${k}: must be a list`);
      (isOrder ? orders : deletions).set(field, v);
      continue;
    }
    if (k.startsWith("$") && k.includes("/"))
      throw new PatchError(`unknown strategic merge patch directive: ${k}`);

    const fieldPath = [...path, k];
    if (v === null) {
      delete out[k];
    } else if (isObject(v)) {
      const existing = out[k];
      const replace = strategies(meta(fieldPath)).includes("replace");
      const merged = mergeMap(!replace && isObject(existing) ? existing : undefined, v, fieldPath, meta);
      if (merged === DELETED) delete out[k];
      else setKey(out, k, merged);
    } else if (Array.isArray(v)) {
      const entry = meta(fieldPath);
      const existing = out[k];
      if (strategies(entry).includes("merge")) {
        const merged = mergeList(
          Array.isArray(existing) ? existing : [],
          v,
          fieldPath,
          entry?.patchMergeKey,
          meta,
        );
        setKey(out, k, merged);
      } else {
        setKey(out, k, clone(v));
      }
    } else {
      setKey(out, k, v);
    }
  }

  for (const [field, order] of orders) {
    const list = out[field];
    if (!Array.isArray(list)) continue;
    const serverOrder = original && Array.isArray(original[field]) ? (original[field] as JsonValue[]) : [];
    const mergeKey = meta([...path, field])?.patchMergeKey;
    setKey(out, field, normalizeOrder(list, order, serverOrder, mergeKey));
  }

  for (const [field, remove] of deletions) {
    const list = out[field];
    if (!Array.isArray(list)) continue;
    setKey(
      out,
      field,
      list.filter((e) => !remove.some((r) => jsonEqual(r, e))),
    );
  }
  return out;
}

/** Merges a list whose strategy is "merge". */
function mergeList(
  original: readonly JsonValue[],
  patch: readonly JsonValue[],
  path: readonly string[],
  mergeKey: string | undefined,
  meta: PatchMeta,
): JsonValue[] {
  const hasMaps = original.some(isObject) || patch.some(isObject);
  if (!hasMaps) {
    const merged: JsonValue[] = [];
    for (const v of [...original, ...patch]) {
      if (!merged.some((m) => jsonEqual(m, v))) merged.push(clone(v));
    }
    return normalizeOrder(merged, patch, original, undefined);
  }
  const where = path.join(".");
  if (!mergeKey) throw new PatchError(`cannot merge lists without merge key for ${where}`);
  if (!original.every(isObject) || !patch.every(isObject)) {
    throw new PatchError(`cannot merge list ${where}: it mixes maps and other values`);
  }

  // Special elements ($patch directives) first.
  let base: JsonObject[] = original.map((e) => clone(e as JsonObject));
  const regular: JsonObject[] = [];
  let replace = false;
  for (const el of patch as JsonObject[]) {
    if (!Object.hasOwn(el, DIRECTIVE)) {
      regular.push(el);
      continue;
    }
    const directive = el[DIRECTIVE];
    if (directive === "delete") {
      if (!Object.hasOwn(el, mergeKey)) {
        throw new PatchError(`delete patch type with no merge key defined: ${describe(el)} in list ${where}`);
      }
      base = base.filter((o) => !jsonEqual(o[mergeKey], el[mergeKey]));
    } else if (directive === "replace") {
      replace = true;
    } else if (directive === "merge") {
      const { [DIRECTIVE]: _, ...others } = el;
      regular.push(others);
    } else {
      throw new PatchError(`unknown patch type: ${describe(directive ?? null)} in list ${where}`);
    }
  }
  if (replace) {
    const replaced: JsonValue[] = [];
    for (const el of regular) {
      const m = mergeMap(undefined, el, path, meta);
      if (m !== DELETED) replaced.push(m);
    }
    return replaced;
  }

  const serverOrder: JsonValue[] = [...base];
  const merged: JsonObject[] = base;
  for (const el of regular) {
    if (!Object.hasOwn(el, mergeKey)) {
      throw new PatchError(`map: ${describe(el)} does not contain declared merge key: ${mergeKey}`);
    }
    const i = merged.findIndex((o) => jsonEqual(o[mergeKey], el[mergeKey]));
    const m = mergeMap(i >= 0 ? merged[i] : undefined, el, path, meta);
    if (i >= 0) {
      if (m === DELETED) merged.splice(i, 1);
      else merged[i] = m;
    } else if (m !== DELETED) {
      merged.push(m);
    }
  }
  return normalizeOrder(merged, regular, serverOrder, mergeKey);
}

/** Position of `item` in `list`, comparing by merge key for maps and by value otherwise. */
function indexIn(list: readonly JsonValue[], item: JsonValue, mergeKey: string | undefined): number {
  if (mergeKey !== undefined && isObject(item)) {
    if (!Object.hasOwn(item, mergeKey)) return -1;
    return list.findIndex((e) => isObject(e) && jsonEqual(e[mergeKey], item[mergeKey]));
  }
  return list.findIndex((e) => jsonEqual(e, item));
}

function sortBy(items: JsonValue[], order: readonly JsonValue[], mergeKey: string | undefined): JsonValue[] {
  const rank = (v: JsonValue) => {
    const i = indexIn(order, v, mergeKey);
    return i < 0 ? Number.POSITIVE_INFINITY : i;
  };
  return items
    .map((v, i) => ({ v, i, r: rank(v) }))
    .sort((a, b) => (a.r === b.r ? a.i - b.i : a.r < b.r ? -1 : 1))
    .map((x) => x.v);
}

/**
 * Upstream's normalizeElementOrder: items named in `patchOrder` follow that order; the remaining
 * ("server-only") items keep their order from `serverOrder` and are interleaved between the patch items
 * where the live list ordered them before (mergeSortedSlice).
 */
function normalizeOrder(
  merged: readonly JsonValue[],
  patchOrder: readonly JsonValue[],
  serverOrder: readonly JsonValue[],
  mergeKey: string | undefined,
): JsonValue[] {
  const inPatch: JsonValue[] = [];
  const serverOnly: JsonValue[] = [];
  for (const v of merged) (indexIn(patchOrder, v, mergeKey) >= 0 ? inPatch : serverOnly).push(v);
  const right = sortBy(inPatch, patchOrder, mergeKey);
  const left = sortBy(serverOnly, serverOrder, mergeKey);
  const out: JsonValue[] = [];
  let i = 0;
  let j = 0;
  while (i < left.length || j < right.length) {
    if (i >= left.length) out.push(right[j++] as JsonValue);
    else if (j >= right.length) out.push(left[i++] as JsonValue);
    else {
      const li = indexIn(serverOrder, left[i] as JsonValue, mergeKey);
      const ri = indexIn(serverOrder, right[j] as JsonValue, mergeKey);
      if (li >= 0 && ri >= 0 && li < ri) out.push(left[i++] as JsonValue);
      else out.push(right[j++] as JsonValue);
    }
  }
  return out;
}
