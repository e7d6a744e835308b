/**
 * DELETE of an object and of a collection (kube: handlers/delete.go DeleteResource and
 * DeleteCollection). DeleteOptions come from the body (JSON, YAML or protobuf) and the query;
 * preconditions are checked against the stored object, then admission, then the storage decides
 * between removing it and marking it (finalizers, a grace period).
 */
import { apiVersionOf, type FieldError, invalid, type KubeObject, notSupported } from "@skiff/api";
import type { DeleteOptions } from "../registry/store.js";
import { badRequest, invalidObject, StatusError } from "../status.js";
import type { GuardedWrite } from "../storage/registry-store.js";
import { decodeBody } from "./content.js";
import { list } from "./list.js";
import { checkPreconditions, isStaleConflict, MAX_RETRIES } from "./preconditions.js";
import { attributesOf, type RequestScope, type RestAnswer, type RestRequest } from "./scope.js";

function deleteOptions(req: RestRequest): DeleteOptions {
  const decoded = req.body !== undefined && req.body.length > 0 ? decodeBody(req.body, req.contentType) : {};
  if (typeof decoded !== "object" || decoded === null || Array.isArray(decoded))
    throw badRequest("the body of a delete must be a DeleteOptions object");
  const opts = decoded as DeleteOptions;
  if (req.query.gracePeriodSeconds !== undefined) {
    const g = req.query.gracePeriodSeconds;
    if (!/^-?[0-9]{1,18}$/.test(g)) throw badRequest(`invalid gracePeriodSeconds "${g}": not an integer`);
    opts.gracePeriodSeconds = Number(g);
  }
  if (opts.gracePeriodSeconds !== undefined && opts.gracePeriodSeconds !== null) {
    if (typeof opts.gracePeriodSeconds !== "number" || !Number.isInteger(opts.gracePeriodSeconds))
      throw badRequest("gracePeriodSeconds must be an integer");
  } else delete opts.gracePeriodSeconds;
  if (req.query.propagationPolicy !== undefined) opts.propagationPolicy = req.query.propagationPolicy;
  if (req.query.orphanDependents !== undefined) opts.orphanDependents = req.query.orphanDependents === "true";
  if (req.query.dryRun === "All") opts.dryRun = ["All"];
  validateDeleteOptions(opts);
  return opts;
}

/** kube's ValidateDeleteOptions: a 422 for DeleteOptions.meta.k8s.io. */
function validateDeleteOptions(opts: DeleteOptions): void {
  const errs: FieldError[] = [];
  const policy = opts.propagationPolicy;
  if (policy !== undefined && policy !== null && !["Foreground", "Background", "Orphan"].includes(policy))
    errs.push(notSupported("propagationPolicy", policy, ["Foreground", "Background", "Orphan", "nil"]));
  if (
    opts.orphanDependents !== undefined &&
    opts.orphanDependents !== null &&
    policy !== undefined &&
    policy !== null
  )
    errs.push(
      invalid("propagationPolicy", policy, "orphanDependents and deletionPropagation cannot be both set"),
    );
  if (opts.dryRun !== undefined && opts.dryRun !== null) {
    if (!Array.isArray(opts.dryRun)) errs.push(notSupported("dryRun", opts.dryRun, ["All"]));
    else for (const d of opts.dryRun) if (d !== "All") errs.push(notSupported("dryRun", d, ["All"]));
  }
  if (errs.length > 0)
    throw invalidObject({ kind: "DeleteOptions.meta.k8s.io", group: "meta.k8s.io" }, "", errs);
}

/**
 * Deletes `old` (read by the caller) as a DELETE would: also the way an eviction removes a pod,
 * whose PodDisruptionBudget write (`extra`) goes in the same transaction. A write that loses a race
 * with another writer reads the object again and retries (kube's GuaranteedUpdate), unless the
 * client gave a resourceVersion precondition; the preconditions are checked on every attempt.
 */
export async function deleteObject(
  scope: RequestScope,
  req: RestRequest,
  old: KubeObject,
  opts: DeleteOptions,
  extra?: (current: KubeObject) => Promise<GuardedWrite[]>,
): Promise<KubeObject> {
  const kind = req.path.kind;
  let current = old;
  for (let attempt = 0; ; attempt++) {
    checkPreconditions(kind, opts.preconditions, current);
    const attrs = attributesOf("DELETE", req, undefined, current, opts.dryRun?.includes("All") === true);
    await scope.admission.admit(attrs);
    const target = current;
    try {
      return await scope.storage(kind).delete(target, opts, {
        validate: async () => [
          ...(await scope.admission.validate(attrs)),
          ...((await extra?.(target)) ?? []),
        ],
      });
    } catch (e) {
      if (!isStaleConflict(e) || opts.preconditions?.resourceVersion != null || attempt >= MAX_RETRIES)
        throw e;
      current = await scope.store.get(kind, target.metadata.namespace, target.metadata.name as string);
    }
  }
}

export async function remove(scope: RequestScope, req: RestRequest): Promise<RestAnswer> {
  const { kind, namespace, name } = req.path;
  const old = await scope.store.get(kind, namespace, name as string);
  return { code: 200, body: await deleteObject(scope, req, old, deleteOptions(req)) };
}

/**
 * Objects a DeleteCollection deletes at once (kube-apiserver's --delete-collection-workers,
 * 1 there): the store commits concurrent writes together, so a few at a time empty a large
 * collection several times faster.
 */
export const DELETE_COLLECTION_WORKERS = 8;

export async function deleteCollection(scope: RequestScope, req: RestRequest): Promise<RestAnswer> {
  const listed = await list(scope, {
    ...req,
    plainJson: false,
    query: { ...req.query, limit: undefined, continue: undefined },
  });
  const opts = deleteOptions(req);
  const items = listed.list?.items ?? [];
  // As kube's DeleteCollection: workers take the listed objects in turn (its
  // --delete-collection-workers), the first error other than NotFound ends the request, and the
  // answer lists the deleted objects as they were listed.
  const gone: boolean[] = items.map(() => false);
  let next = 0;
  let failed: unknown;
  const worker = async () => {
    while (failed === undefined && next < items.length) {
      const i = next++;
      try {
        await deleteObject(scope, req, items[i] as KubeObject, { ...opts });
        gone[i] = true;
      } catch (e) {
        if (!(e instanceof StatusError && e.reason === "NotFound")) failed ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(DELETE_COLLECTION_WORKERS, items.length) }, worker));
  if (failed !== undefined) throw failed;
  const deleted = items.filter((_, i) => gone[i]);
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
