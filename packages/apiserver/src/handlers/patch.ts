/**
 * PATCH of an object (kube: handlers/patch.go): JSON patch, merge patch or strategic merge patch
 * on the stored object, then the same path as an update. As kube-apiserver, a conflict with a
 * concurrent writer re-reads and re-applies the patch instead of failing, unless the patch
 * carries a resourceVersion (then a stale one is a 409). Patch bombs are bounded: at most 10000
 * JSON patch operations (413), `copy` may add at most MAX_BODY_BYTES (422), the result may be at
 * most MAX_BODY_BYTES (413) and MAX_DEPTH deep (400).
 */
import {
  applyJsonPatch,
  applyMergePatch,
  applyStrategicMergePatch,
  type JsonValue,
  type KindDef,
  type KubeObject,
  PatchError,
  schemaAt,
} from "@skiff/api";
import { badRequest, StatusError } from "../status.js";
import { versioner } from "../storage/versioner.js";
import { apply } from "./apply.js";
import {
  checkDepth,
  checkObjectSize,
  decodeBody,
  MAX_BODY_BYTES,
  type PatchType,
  patchTypeOf,
} from "./content.js";
import { trackUpdate } from "./fieldmanager.js";
import { checkUidUnchanged, isStaleConflict, MAX_RETRIES } from "./preconditions.js";
import { checkBody, fieldValidationOf, prepareUpdate } from "./prepare.js";
import type { RequestScope, RestAnswer, RestRequest } from "./scope.js";
import { updateObject } from "./update.js";

/** kube-apiserver's maxJSONPatchOperations. */
export const MAX_JSON_PATCH_OPERATIONS = 10000;

/** The strategic-merge keys of the list at `path`, from the kind's schema. */
function patchMeta(kind: KindDef) {
  return (path: readonly string[]) => {
    const s = schemaAt(kind.schema, path);
    return s?.type === "array"
      ? { patchMergeKey: s.patchMergeKey, patchStrategy: s.patchStrategy }
      : undefined;
  };
}

/** kube's answer for a JSON patch that does not apply: NewGenericServerResponse(422, ...). */
function jsonPatchFailed(message: string): StatusError {
  return new StatusError(422, "Invalid", "the server rejected our request due to an error in our request", {
    causes: [{ reason: "UnexpectedServerResponse", message }],
  });
}

function checkPatchBody(type: PatchType, body: unknown): void {
  if (type === "json") {
    if (!Array.isArray(body))
      throw badRequest("json: cannot unmarshal object into Go value of type jsonpatch.Patch");
    if (body.length > MAX_JSON_PATCH_OPERATIONS)
      throw new StatusError(
        413,
        "RequestEntityTooLarge",
        `Request entity too large: The allowed maximum operations in a JSON patch is ${MAX_JSON_PATCH_OPERATIONS}, got ${body.length}`,
      );
  } else if (typeof body !== "object" || body === null || Array.isArray(body))
    throw badRequest("the body of a merge patch must be a JSON object");
}

/** The stored object with the patch applied (a fresh copy each time). */
function applyPatch(kind: KindDef, type: PatchType, old: KubeObject, body: unknown): unknown {
  const base = JSON.parse(JSON.stringify(old)) as JsonValue;
  try {
    if (type === "json")
      return applyJsonPatch(base, body as never, { accumulatedCopySizeLimit: MAX_BODY_BYTES });
    if (type === "merge") return applyMergePatch(base, body as JsonValue);
    return applyStrategicMergePatch(base, body as JsonValue, patchMeta(kind));
  } catch (e) {
    if (e instanceof PatchError) throw type === "json" ? jsonPatchFailed(e.message) : badRequest(e.message);
    if (e instanceof RangeError) throw badRequest(`the patch could not be applied: ${e.message}`);
    throw e;
  }
}

export async function patch(scope: RequestScope, req: RestRequest): Promise<RestAnswer> {
  const { kind, namespace, name, subresource } = req.path;
  const type = patchTypeOf(req.contentType);
  if (type === "apply") return apply(scope, req);
  const body = decodeBody(req.body, "application/json");
  checkPatchBody(type, body);
  for (let attempt = 0; ; attempt++) {
    const old = await scope.store.get(kind, namespace, name as string);
    const patched = applyPatch(kind, type, old, body);
    checkDepth(patched);
    checkObjectSize(patched);
    const { obj, warnings } = checkBody(kind, patched, fieldValidationOf(req.query.fieldValidation));
    checkUidUnchanged(kind, obj.metadata.uid, old);
    // A resourceVersion the patch sets is a precondition (kube: Store.Update compares it).
    const rv = obj.metadata.resourceVersion;
    const conditional = rv !== undefined && rv !== "" && rv !== old.metadata.resourceVersion;
    const expected = conditional ? parseRevision(rv) : versioner.objectResourceVersion(old);
    obj.metadata.name = name;
    const next = prepareUpdate(kind, obj, old, subresource === "status" ? "status" : undefined);
    trackUpdate(kind, req, old, next, scope.now());
    try {
      const stored = await updateObject(scope, req, next, old, expected);
      return { code: 200, body: stored, warnings };
    } catch (e) {
      if (conditional || !isStaleConflict(e) || attempt >= MAX_RETRIES) throw e;
    }
  }
}

/** A resourceVersion from a patch: a decimal revision, else kube's 400. */
function parseRevision(rv: string): number {
  try {
    return versioner.parseResourceVersion(rv);
  } catch {
    throw badRequest(`invalid resourceVersion "${rv}"`);
  }
}
