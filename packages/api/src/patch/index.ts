export { PatchError, PatchLimitError } from "./errors.js";
export { type JsonObject, type JsonValue, jsonEqual } from "./json.js";
export {
  applyJsonPatch,
  type JsonPatchOperation,
  type JsonPatchOptions,
  parseJsonPointer,
} from "./jsonpatch.js";
export { applyMergePatch } from "./mergepatch.js";
export {
  applyStrategicMergePatch,
  kubernetesPatchMeta,
  type PatchMeta,
  type PatchMetaEntry,
} from "./strategic.js";
