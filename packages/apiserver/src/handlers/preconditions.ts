/**
 * Preconditions of writes. DELETE: DeleteOptions.preconditions (uid, resourceVersion) checked as
 * kube's rest.BeforeDelete does, with its messages. PUT and PATCH: a metadata.uid in the body is a
 * uid precondition (kube: rest.DefaultUpdatedObjectInfo.Preconditions, checked by the storage's
 * GuaranteedUpdate). A failed precondition is a 409 Conflict.
 */
import type { KindDef, KubeObject } from "@skiff/api";
import type { DeleteOptions } from "../registry/store.js";
import { invalidObject, StatusError } from "../status.js";
import { objectKey } from "../storage/registry-store.js";

/** kube's NewConflict(GroupResource{Group, Resource: Kind}, ...), as BeforeDelete builds it. */
function kindConflict(k: KindDef, name: string, why: string): StatusError {
  const gk = k.group === "" ? k.kind : `${k.kind}.${k.group}`;
  return new StatusError(409, "Conflict", `Operation cannot be fulfilled on ${gk} "${name}": ${why}`, {
    name,
    group: k.group,
    kind: k.kind,
  });
}

export function checkPreconditions(k: KindDef, pre: DeleteOptions["preconditions"], obj: KubeObject): void {
  const name = obj.metadata.name ?? "";
  if (pre?.uid !== undefined && pre.uid !== null && pre.uid !== obj.metadata.uid)
    throw kindConflict(
      k,
      name,
      `the UID in the precondition (${pre.uid}) does not match the UID in record (${obj.metadata.uid}). The object might have been deleted and then recreated`,
    );
  if (
    pre?.resourceVersion !== undefined &&
    pre.resourceVersion !== null &&
    pre.resourceVersion !== obj.metadata.resourceVersion
  )
    throw kindConflict(
      k,
      name,
      `the ResourceVersion in the precondition (${pre.resourceVersion}) does not match the ResourceVersion in record (${obj.metadata.resourceVersion}). The object might have been modified`,
    );
}

/** A uid in an update's body must be the stored object's (kube's storage.Preconditions.Check). */
export function checkUidPrecondition(k: KindDef, sent: unknown, old: KubeObject): void {
  if (sent === undefined || sent === null || sent === "" || sent === old.metadata.uid) return;
  const name = old.metadata.name ?? "";
  const qualified = k.group === "" ? k.resource : `${k.resource}.${k.group}`;
  const key = objectKey(k, old.metadata.namespace, name);
  throw new StatusError(
    409,
    "Conflict",
    `Operation cannot be fulfilled on ${qualified} "${name}": StorageError: invalid object, Code: 4, Key: ${key}, ResourceVersion: 0, AdditionalErrorMsg: Precondition failed: UID in precondition: ${String(sent)}, UID in object meta: ${old.metadata.uid}`,
    { name, group: k.group, kind: k.resource },
  );
}

/** A patch may not change metadata.uid (kube: ValidateObjectMetaUpdate, 422). */
export function checkUidUnchanged(k: KindDef, patched: unknown, old: KubeObject): void {
  if (patched === undefined || patched === null || patched === "" || patched === old.metadata.uid) return;
  throw invalidObject(k, old.metadata.name ?? "", [
    { type: "FieldValueInvalid", field: "metadata.uid", value: patched, detail: "field is immutable" },
  ]);
}

/**
 * A write lost a race with another writer (the store's compare failed): without a client
 * precondition, kube's GuaranteedUpdate reads again and retries instead of answering 409.
 */
export function isStaleConflict(e: unknown): boolean {
  return (
    e instanceof StatusError && e.reason === "Conflict" && /the object has been modified/.test(e.message)
  );
}

/** How often a write without preconditions is retried after lost races before it gives up. */
export const MAX_RETRIES = 20;
