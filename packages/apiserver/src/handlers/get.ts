/** GET of one object (kube: handlers/get.go GetResource). Always a store read: the latest state. */
import type { RequestScope, RestAnswer, RestRequest } from "./scope.js";

export async function get(scope: RequestScope, req: RestRequest): Promise<RestAnswer> {
  const { kind, namespace, name } = req.path;
  return { code: 200, body: await scope.store.get(kind, namespace, name as string) };
}
