/**
 * Which handler serves a resource request, by its kube verb (kube: the routes
 * endpoints/installer.go registers for each verb a resource's storage supports). Watches never
 * come here: they are long-running streams (routes/resources.ts).
 */
import { ReviewStorage } from "../registry/review.js";
import { methodNotAllowed } from "../status.js";
import { create } from "./create.js";
import { deleteCollection, remove } from "./delete.js";
import { get } from "./get.js";
import { list } from "./list.js";
import { patch } from "./patch.js";
import type { RequestScope, RestAnswer, RestRequest } from "./scope.js";
import { subresource } from "./subresources.js";
import { update } from "./update.js";

export async function dispatch(scope: RequestScope, req: RestRequest): Promise<RestAnswer> {
  const { path, verb } = req;
  const sub = path.subresource;
  // Create-only kinds (the reviews): kube registers no other verb for them.
  if (scope.storage(path.kind) instanceof ReviewStorage) {
    if (verb === "create" && path.name === undefined && sub === undefined) return create(scope, req);
    throw methodNotAllowed();
  }
  // status is served by the object's own verbs (prepare.ts takes only status through it).
  if (sub !== undefined && sub !== "status") {
    const served = subresource(scope, req);
    if (served === undefined) throw methodNotAllowed(`subresource ${sub} is not served yet`);
    return served;
  }
  switch (verb) {
    case "get":
      return get(scope, req);
    case "list":
      return list(scope, req);
    case "create":
      if (path.name === undefined) return create(scope, req);
      break;
    case "update":
      if (path.name !== undefined) return update(scope, req);
      break;
    case "patch":
      if (path.name !== undefined) return patch(scope, req);
      break;
    case "delete":
      if (sub === undefined) return remove(scope, req);
      break;
    case "deletecollection":
      if (scope.storage(path.kind).collectionDeleter) return deleteCollection(scope, req);
      break;
  }
  throw methodNotAllowed();
}
