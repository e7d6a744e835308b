import { clone, isObject, type JsonObject, type JsonValue, setKey } from "./json.js";

/**
 * RFC 7386 JSON Merge Patch (`application/merge-patch+json`): objects merge recursively,
 * `null` deletes a key, every other value (arrays included) replaces. Inputs are not mutated.
 */
export function applyMergePatch(doc: JsonValue | undefined, patch: JsonValue): JsonValue {
  if (!isObject(patch)) return clone(patch);
  const out: JsonObject = isObject(doc) ? clone(doc) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) {
      delete out[k];
    } else {
      setKey(out, k, applyMergePatch(Object.hasOwn(out, k) ? out[k] : undefined, v));
    }
  }
  return out;
}
