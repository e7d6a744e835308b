/**
 * PUT namespaces/<name>/finalize (kube's FinalizeREST, an Update only: no GET or PATCH): sets a
 * namespace's spec.finalizers, nothing else. The namespace controller removes its `kubernetes`
 * finalizer this way once the namespace is empty; a finalized terminating namespace goes away.
 */
import { NamespaceStorage } from "../registry/core/namespace.js";
import { badRequest, methodNotAllowed } from "../status.js";
import { InvalidResourceVersion, versioner } from "../storage/versioner.js";
import { decodeBody } from "./content.js";
import { checkBody, fieldValidationOf } from "./prepare.js";
import { attributesOf, isDryRun, type RequestScope, type RestAnswer, type RestRequest } from "./scope.js";

export async function finalize(scope: RequestScope, req: RestRequest): Promise<RestAnswer> {
  if (req.method !== "PUT") throw methodNotAllowed();
  const { kind, name } = req.path;
  const storage = scope.storage(kind);
  if (!(storage instanceof NamespaceStorage)) throw methodNotAllowed();
  const { obj, warnings } = checkBody(
    kind,
    decodeBody(req.body, req.contentType),
    fieldValidationOf(req.query.fieldValidation),
  );
  if (obj.metadata.name !== undefined && obj.metadata.name !== name)
    throw badRequest(
      `the name of the object (${obj.metadata.name}) does not match the name on the URL (${name})`,
    );
  const old = await scope.store.get(kind, undefined, name as string);
  let expected = versioner.objectResourceVersion(old);
  const sent = obj.metadata.resourceVersion;
  if (sent !== undefined && sent !== "") {
    try {
      expected = versioner.parseResourceVersion(sent);
    } catch (e) {
      if (e instanceof InvalidResourceVersion) throw badRequest(`invalid resourceVersion "${sent}"`);
      throw e;
    }
  }
  const dryRun = isDryRun(req.query);
  const attrs = attributesOf("UPDATE", req, obj, old, dryRun);
  await scope.admission.admit(attrs);
  const body = await storage.finalize(obj, old, expected, {
    dryRun,
    validate: () => scope.admission.validate(attrs),
  });
  return { code: 200, body, warnings };
}
