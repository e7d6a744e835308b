/**
 * POST of a new object (kube: handlers/create.go): decode, defaults and validation (prepare.ts),
 * mutating admission, then the storage, which runs validating admission right before it writes.
 */
import { ReviewStorage } from "../registry/review.js";
import { methodNotAllowed } from "../status.js";
import { decodeBody } from "./content.js";
import { trackUpdate } from "./fieldmanager.js";
import { checkBody, fieldValidationOf, prepareCreate } from "./prepare.js";
import { attributesOf, isDryRun, type RequestScope, type RestAnswer, type RestRequest } from "./scope.js";

export async function create(scope: RequestScope, req: RestRequest): Promise<RestAnswer> {
  const { kind, namespace } = req.path;
  if (kind.namespaced && namespace === undefined) throw methodNotAllowed();
  const { obj, warnings } = checkBody(
    kind,
    decodeBody(req.body, req.contentType),
    fieldValidationOf(req.query.fieldValidation),
  );
  const storage = scope.storage(kind);
  if (storage instanceof ReviewStorage) {
    const c = {
      user: req.user,
      authorizer: scope.authorizer,
      tokens: scope.serviceAccountTokens,
      otherTokens: scope.otherTokens,
    };
    return { code: 201, body: storage.review(obj, c), warnings };
  }
  const ready = prepareCreate(kind, obj, namespace, scope.now());
  const dryRun = isDryRun(req.query);
  const attrs = attributesOf("CREATE", req, ready, undefined, dryRun);
  // The creator owns what it sent (defaults included), not what mutating admission adds (kube's
  // create handler runs the field manager before admission).
  trackUpdate(kind, req, undefined, ready, scope.now());
  await scope.admission.admit(attrs);
  const stored = await scope
    .storage(kind)
    .create(ready, { dryRun, validate: () => scope.admission.validate(attrs) });
  return { code: 201, body: stored, warnings };
}
