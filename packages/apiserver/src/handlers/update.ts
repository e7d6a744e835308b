/**
 * PUT of an object (kube: handlers/update.go): the body replaces the object. Its
 * metadata.resourceVersion must be the stored one (else Conflict); an empty one means
 * "whatever is stored" (an unconditional update, retried when it loses a race). A metadata.uid
 * in the body must be the stored one (a uid precondition, else Conflict).
 */
import type { KubeObject } from "@skiff/api";
import { badRequest } from "../status.js";
import { InvalidResourceVersion, versioner } from "../storage/versioner.js";
import { decodeBody } from "./content.js";
import { trackUpdate } from "./fieldmanager.js";
import { checkUidPrecondition, isStaleConflict, MAX_RETRIES } from "./preconditions.js";
import { checkBody, fieldValidationOf, prepareUpdate } from "./prepare.js";
import { attributesOf, isDryRun, type RequestScope, type RestAnswer, type RestRequest } from "./scope.js";

/** The revision an update expects to replace: the client's resourceVersion, or the stored one. */
function expectedRevision(sent: string | undefined, old: KubeObject): number {
  if (sent === undefined || sent === "") return versioner.objectResourceVersion(old);
  try {
    return versioner.parseResourceVersion(sent);
  } catch (e) {
    if (e instanceof InvalidResourceVersion) throw badRequest(`invalid resourceVersion "${sent}"`);
    throw e;
  }
}

export async function update(scope: RequestScope, req: RestRequest): Promise<RestAnswer> {
  const { kind, namespace, name, subresource } = req.path;
  const { obj, warnings } = checkBody(
    kind,
    decodeBody(req.body, req.contentType),
    fieldValidationOf(req.query.fieldValidation),
  );
  if (obj.metadata.name !== undefined && obj.metadata.name !== name)
    throw badRequest(
      `the name of the object (${obj.metadata.name}) does not match the name on the URL (${name})`,
    );
  obj.metadata.name = name;
  const sent = obj.metadata.resourceVersion;
  // Without a resourceVersion the update is unconditional: a lost race reads again and retries
  // (kube's GuaranteedUpdate); with one, a stale object is a 409.
  for (let attempt = 0; ; attempt++) {
    const old = await scope.store.get(kind, namespace, name as string);
    checkUidPrecondition(kind, obj.metadata.uid, old);
    const expected = expectedRevision(sent, old);
    const body = structuredClone(obj);
    const next = prepareUpdate(kind, body, old, subresource === "status" ? "status" : undefined);
    trackUpdate(kind, req, old, next, scope.now());
    try {
      return { code: 200, body: await updateObject(scope, req, next, old, expected), warnings };
    } catch (e) {
      if ((sent !== undefined && sent !== "") || !isStaleConflict(e) || attempt >= MAX_RETRIES) throw e;
    }
  }
}

/** The tail every update shares (PUT, PATCH, scale): admission, then the storage. */
export async function updateObject(
  scope: RequestScope,
  req: RestRequest,
  next: KubeObject,
  old: KubeObject,
  expected: number,
): Promise<KubeObject> {
  const dryRun = isDryRun(req.query);
  const attrs = attributesOf("UPDATE", req, next, old, dryRun);
  await scope.admission.admit(attrs);
  return scope
    .storage(req.path.kind)
    .update(next, old, expected, { dryRun, validate: () => scope.admission.validate(attrs) });
}
