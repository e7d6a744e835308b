/**
 * DELETE of an object and of a collection (kube: handlers/delete.go DeleteResource and
 * DeleteCollection). DeleteOptions come from the body (JSON, YAML or protobuf) and the query;
 * preconditions are checked against the stored object, then admission, then the storage decides
 * between removing it and marking it (finalizers, a grace period).
 */
import { apiVersionOf, type KubeObject } from "@skiff/api";
import type { DeleteOptions } from "../registry/store.js";
import { badRequest, StatusError } from "../status.js";
import { decodeBody } from "./content.js";
import { list } from "./list.js";
import { checkPreconditions } from "./preconditions.js";
import { attributesOf, type RequestScope, type RestAnswer, type RestRequest } from "./scope.js";

function deleteOptions(req: RestRequest): DeleteOptions {
  const decoded = req.body !== undefined && req.body.length > 0 ? decodeBody(req.body, req.contentType) : {};
  if (typeof decoded !== "object" || decoded === null || Array.isArray(decoded))
    throw badRequest("the body of a delete must be a DeleteOptions object");
  const opts = decoded as DeleteOptions;
  if (req.query.gracePeriodSeconds !== undefined)
    opts.gracePeriodSeconds = Number(req.query.gracePeriodSeconds);
  if (req.query.propagationPolicy !== undefined) opts.propagationPolicy = req.query.propagationPolicy;
  if (req.query.dryRun === "All") opts.dryRun = ["All"];
  return opts;
}

/** Deletes `old` (read by the caller) as a DELETE would: also the way an eviction removes a pod. */
export async function deleteObject(
  scope: RequestScope,
  req: RestRequest,
  old: KubeObject,
  opts: DeleteOptions,
): Promise<KubeObject> {
  checkPreconditions(opts.preconditions, old);
  const attrs = attributesOf("DELETE", req, undefined, old, opts.dryRun?.includes("All") === true);
  await scope.admission.admit(attrs);
  return scope.storage(req.path.kind).delete(old, opts, { validate: () => scope.admission.validate(attrs) });
}

export async function remove(scope: RequestScope, req: RestRequest): Promise<RestAnswer> {
  const { kind, namespace, name } = req.path;
  const old = await scope.store.get(kind, namespace, name as string);
  return { code: 200, body: await deleteObject(scope, req, old, deleteOptions(req)) };
}

export async function deleteCollection(scope: RequestScope, req: RestRequest): Promise<RestAnswer> {
  const listed = await list(scope, {
    ...req,
    plainJson: false,
    query: { ...req.query, limit: undefined, continue: undefined },
  });
  const opts = deleteOptions(req);
  const deleted: KubeObject[] = [];
  for (const obj of listed.list?.items ?? []) {
    try {
      deleted.push(await deleteObject(scope, req, obj, opts));
    } catch (e) {
      if (!(e instanceof StatusError && e.reason === "NotFound")) throw e;
    }
  }
  const k = req.path.kind;
  return {
    code: 200,
    body: {
      kind: `${k.kind}List`,
      apiVersion: apiVersionOf(k),
      metadata: listed.list?.meta ?? {},
      items: deleted,
    },
  };
}
