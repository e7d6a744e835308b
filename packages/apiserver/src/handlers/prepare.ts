/**
 * Turning a decoded request body into an object ready to store: kind checks, strict field
 * validation (fieldValidation Strict/Warn/Ignore), defaults, system metadata on create, the
 * metadata rules on update (uid, creationTimestamp kept; generation bumped on spec changes only;
 * status ignored on the main resource), and validation with Kubernetes' messages.
 */
import { randomBytes, randomUUID } from "node:crypto";
import {
  apiVersionOf,
  checkFields,
  type KindDef,
  type KubeObject,
  metav1Time,
  validateObjectMeta,
} from "@skiff/api";
import { badRequest, invalidObject } from "../status.js";

export type FieldValidation = "Strict" | "Warn" | "Ignore";

export function fieldValidationOf(v: unknown): FieldValidation {
  if (v === undefined || v === "") return "Warn";
  if (v === "Strict" || v === "Warn" || v === "Ignore") return v;
  throw badRequest(`fieldValidation must be one of Ignore, Warn or Strict, got "${String(v)}"`);
}

/** Checks the body's kind and fields; returns warnings (Warn mode). Throws 400 on errors. */
export function checkBody(
  k: KindDef,
  body: unknown,
  mode: FieldValidation,
): { obj: KubeObject; warnings: string[] } {
  if (typeof body !== "object" || body === null || Array.isArray(body))
    throw badRequest("the body of the request must be a JSON object");
  const obj = body as KubeObject;
  const want = apiVersionOf(k);
  if (obj.kind !== undefined && obj.kind !== k.kind)
    throw badRequest(
      `the API version in the data (${obj.apiVersion}) does not match the expected API version (${want})`,
    );
  if (obj.apiVersion !== undefined && obj.apiVersion !== want)
    throw badRequest(
      `the API version in the data (${obj.apiVersion}) does not match the expected API version (${want})`,
    );
  obj.apiVersion = want;
  obj.kind = k.kind;
  if (typeof obj.metadata !== "object" || obj.metadata === null) obj.metadata = {};
  const problems = checkFields(obj, k.schema, mode !== "Strict");
  if (problems.typeErrors.length > 0)
    throw badRequest(
      `${k.kind} in version "${k.version}" cannot be handled as a ${k.kind}: ${problems.typeErrors[0]}`,
    );
  const unknown = problems.unknown.map((f) => `unknown field "${f}"`);
  if (mode === "Strict" && unknown.length > 0)
    throw badRequest(
      `${k.kind} in version "${k.version}" cannot be handled as a ${k.kind}: strict decoding error: ${unknown.join(", ")}`,
    );
  return { obj, warnings: mode === "Warn" ? unknown : [] };
}

const alnum = "bcdfghjklmnpqrstvwxz2456789";

/** generateName: the prefix plus 5 random characters, as kube-apiserver's SimpleNameGenerator. */
export function generateName(prefix: string): string {
  const bytes = randomBytes(5);
  let suffix = "";
  for (const b of bytes) suffix += alnum[b % alnum.length];
  return `${prefix.slice(0, 63 - 5)}${suffix}`;
}

const hasSpec = (k: KindDef) => "spec" in k.schema.properties;

/** Fields other than metadata and status: a change there bumps metadata.generation. */
function specOf(obj: KubeObject): string {
  const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = obj;
  return JSON.stringify(rest);
}

const labelsOf = (obj: KubeObject) => JSON.stringify(Object.entries(obj.metadata.labels ?? {}).sort());

export function validate(k: KindDef, obj: KubeObject, old?: KubeObject): void {
  const errs = [
    ...validateObjectMeta(obj.metadata, { namespaced: k.namespaced, nameRule: k.nameRule }),
    ...(k.validate?.(obj, old) ?? []),
  ];
  if (old !== undefined && old.metadata.name !== obj.metadata.name)
    errs.push({
      type: "FieldValueInvalid",
      field: "metadata.name",
      value: obj.metadata.name,
      detail: "field is immutable",
    });
  // kube's ValidateNoNewFinalizers: nothing new may hold back an object already being deleted.
  if (old?.metadata.deletionTimestamp !== undefined) {
    const had = new Set(old.metadata.finalizers ?? []);
    const extra = [...new Set(obj.metadata.finalizers ?? [])].filter((f) => !had.has(f)).sort();
    if (extra.length > 0)
      errs.push({
        type: "FieldValueForbidden",
        field: "metadata.finalizers",
        detail: `no new finalizers can be added if the object is being deleted, found new finalizers []string{${extra.map((f) => JSON.stringify(f)).join(", ")}}`,
      });
  }
  if (errs.length > 0) throw invalidObject(k, obj.metadata.name ?? obj.metadata.generateName ?? "", errs);
}

/** A new object: namespace from the path, generated name, uid, timestamps, generation 1. */
export function prepareCreate(
  k: KindDef,
  obj: KubeObject,
  namespace: string | undefined,
  now: Date,
): KubeObject {
  const meta = obj.metadata;
  if (k.namespaced) {
    if (meta.namespace !== undefined && meta.namespace !== "" && meta.namespace !== namespace)
      throw badRequest(
        "the namespace of the provided object does not match the namespace sent on the request",
      );
    meta.namespace = namespace;
  } else delete meta.namespace;
  if ((meta.name === undefined || meta.name === "") && meta.generateName)
    meta.name = generateName(meta.generateName);
  meta.uid = randomUUID();
  meta.creationTimestamp = metav1Time(now);
  delete meta.resourceVersion;
  delete meta.deletionTimestamp;
  delete meta.deletionGracePeriodSeconds;
  // kube-apiserver keeps metadata.generation for kinds with a spec (and EndpointSlices) only.
  if (hasSpec(k) || k.contentGeneration === true) meta.generation = 1;
  else delete meta.generation;
  k.defaults?.(obj);
  // A kind with a status subresource always has a status, empty until a controller fills it.
  if (k.hasStatus) obj.status ??= {};
  validate(k, obj);
  return obj;
}

/**
 * An update of `old` to `obj` through the main resource (status ignored when the kind has a
 * status subresource) or through /status (only status taken).
 */
export function prepareUpdate(
  k: KindDef,
  obj: KubeObject,
  old: KubeObject,
  subresource: "status" | undefined,
): KubeObject {
  let next: KubeObject;
  if (subresource === "status") next = { ...old, status: obj.status, metadata: { ...old.metadata } };
  else {
    next = { ...obj, metadata: { ...obj.metadata } };
    if (k.hasStatus) {
      if (old.status === undefined) delete next.status;
      else next.status = old.status;
    }
  }
  const meta = next.metadata;
  meta.uid = old.metadata.uid;
  meta.creationTimestamp = old.metadata.creationTimestamp;
  meta.namespace = old.metadata.namespace;
  if (old.metadata.deletionTimestamp !== undefined) {
    meta.deletionTimestamp = old.metadata.deletionTimestamp;
    meta.deletionGracePeriodSeconds = old.metadata.deletionGracePeriodSeconds;
  } else {
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
  }
  k.defaults?.(next);
  if (hasSpec(k)) meta.generation = (old.metadata.generation ?? 1) + (specOf(next) !== specOf(old) ? 1 : 0);
  else if (k.contentGeneration === true) {
    const changed = specOf(next) !== specOf(old) || labelsOf(next) !== labelsOf(old);
    meta.generation = (old.metadata.generation ?? 1) + (changed ? 1 : 0);
  } else delete meta.generation;
  validate(k, next, old);
  return next;
}
