/**
 * PATCH of an object (kube: handlers/patch.go): JSON patch, merge patch or strategic merge patch
 * on the stored object, then the same path as an update. As kube-apiserver, a conflict with a
 * concurrent writer re-reads and re-applies the patch (a few times) instead of failing.
 */
import {
  applyJsonPatch,
  applyMergePatch,
  applyStrategicMergePatch,
  type JsonValue,
  type KindDef,
  PatchError,
  schemaAt,
} from "@skiff/api";
import { badRequest, StatusError } from "../status.js";
import { versioner } from "../storage/versioner.js";
import { apply } from "./apply.js";
import { decodeBody, patchTypeOf } from "./content.js";
import { trackUpdate } from "./fieldmanager.js";
import { checkBody, fieldValidationOf, prepareUpdate } from "./prepare.js";
import type { RequestScope, RestAnswer, RestRequest } from "./scope.js";
import { updateObject } from "./update.js";

/** The strategic-merge keys of the list at `path`, from the kind's schema. */
function patchMeta(kind: KindDef) {
  return (path: readonly string[]) => {
    const s = schemaAt(kind.schema, path);
    return s?.type === "array"
      ? { patchMergeKey: s.patchMergeKey, patchStrategy: s.patchStrategy }
      : undefined;
  };
}

export async function patch(scope: RequestScope, req: RestRequest): Promise<RestAnswer> {
  const { kind, namespace, name, subresource } = req.path;
  const type = patchTypeOf(req.contentType);
  if (type === "apply") return apply(scope, req);
  const body = decodeBody(req.body, "application/json");
  for (let attempt = 0; ; attempt++) {
    const old = await scope.store.get(kind, namespace, name as string);
    let patched: unknown;
    try {
      const base = JSON.parse(JSON.stringify(old)) as JsonValue;
      patched =
        type === "json"
          ? applyJsonPatch(base, body as never)
          : type === "merge"
            ? applyMergePatch(base, body as JsonValue)
            : applyStrategicMergePatch(base, body as JsonValue, patchMeta(kind));
    } catch (e) {
      if (e instanceof PatchError) throw badRequest(e.message);
      throw e;
    }
    const { obj, warnings } = checkBody(kind, patched, fieldValidationOf(req.query.fieldValidation));
    const rv = obj.metadata.resourceVersion;
    if (rv !== undefined && rv !== old.metadata.resourceVersion)
      throw badRequest(
        "metadata.resourceVersion: Invalid value: the resourceVersion in a patch must match the object's",
      );
    obj.metadata.name = name;
    const next = prepareUpdate(kind, obj, old, subresource === "status" ? "status" : undefined);
    trackUpdate(kind, req, old, next, scope.now());
    try {
      const stored = await updateObject(scope, req, next, old, versioner.objectResourceVersion(old));
      return { code: 200, body: stored, warnings };
    } catch (e) {
      if (e instanceof StatusError && e.reason === "Conflict" && attempt < 5) continue;
      throw e;
    }
  }
}
