/**
 * ObjectMeta and the list/status envelopes shared by every kind: schema, and the metadata
 * validation kube-apiserver applies to every object (ValidateObjectMeta).
 */
import {
  any,
  int64,
  list,
  mergeList,
  type ObjectSchema,
  obj,
  type Schema,
  str,
  stringMap,
  time,
} from "./schema.js";
import { type FieldError, forbidden, invalid, labelValue, qualifiedName, required } from "./validation.js";

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  managedFields?: unknown[];
}

/** Any Kubernetes object as JSON. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

export const ownerReferenceSchema = obj(
  {
    apiVersion: str("API version of the referent."),
    kind: str("Kind of the referent."),
    name: str("Name of the referent."),
    uid: str("UID of the referent."),
    controller: {
      type: "boolean",
      description: "If true, this reference points to the managing controller.",
    },
    blockOwnerDeletion: {
      type: "boolean",
      description: "If true, the owner cannot be deleted from storage before this reference is removed.",
    },
  },
  "OwnerReference contains enough information to let you identify an owning object.",
  ["apiVersion", "kind", "name", "uid"],
);

/** core/v1 ObjectReference: events' involvedObject, endpoints' targetRef, a CronJob's active jobs. */
export const objectReferenceSchema = obj(
  {
    kind: str(),
    namespace: str(),
    name: str(),
    uid: str(),
    apiVersion: str(),
    resourceVersion: str(),
    fieldPath: str(),
  },
  "ObjectReference contains enough information to let you inspect or modify the referred object.",
);

export const objectMetaSchema: ObjectSchema = obj(
  {
    name: str("Name must be unique within a namespace. Cannot be updated."),
    generateName: str("Optional prefix used by the server to generate a unique name."),
    namespace: str("Namespace defines the space within which each name must be unique."),
    selfLink: str("Deprecated: not set by the server."),
    uid: str("UID is the unique in time and space value for this object. Populated by the system."),
    resourceVersion: str("An opaque value that represents the internal version of this object."),
    generation: int64("A sequence number representing a specific generation of the desired state."),
    creationTimestamp: time("The time this object was created. Populated by the system."),
    deletionTimestamp: time("The time after which this resource will be deleted. Set by the server."),
    deletionGracePeriodSeconds: int64("Seconds allowed for this object to terminate gracefully."),
    labels: stringMap("Map of string keys and values that can be used to organize and categorize objects."),
    annotations: stringMap("Unstructured key value map stored with a resource."),
    ownerReferences: mergeList(ownerReferenceSchema, "uid", "List of objects depended by this object."),
    finalizers: list(str(), "Must be empty before the object is deleted from the registry.", {
      strategy: "merge",
    }),
    managedFields: list(
      any(),
      "ManagedFields maps workflow-id and version to the set of fields that are managed by that workflow.",
    ),
  },
  "ObjectMeta is metadata that all persisted resources must have.",
);

export const listMetaSchema = obj(
  {
    resourceVersion: str("The revision of the store this list was read at."),
    continue: str("Set when more results are available: pass it as `continue` to get the next page."),
    remainingItemCount: int64("The number of items after this page."),
  },
  "ListMeta describes metadata that synthetic resources must have.",
);

/** The apiVersion/kind/metadata part of a kind's schema. */
export function objectSchema(
  description: string,
  fields: Record<string, Schema>,
  requiredFields: readonly string[] = [],
): ObjectSchema {
  return obj(
    {
      apiVersion: str("APIVersion defines the versioned schema of this representation of an object."),
      kind: str("Kind is a string value representing the REST resource this object represents."),
      metadata: objectMetaSchema,
      ...fields,
    },
    description,
    requiredFields,
  );
}

export type NameRule = (name: string) => string[];

/** ValidateObjectMeta: name (or generateName), namespace presence, labels, annotations, owners. */
export function validateObjectMeta(
  meta: ObjectMeta | undefined,
  opts: { namespaced: boolean; nameRule: NameRule },
): FieldError[] {
  const errs: FieldError[] = [];
  if (meta === undefined) return [required("metadata")];
  if (meta.name === undefined || meta.name === "") {
    if (meta.generateName === undefined || meta.generateName === "")
      errs.push(required("metadata.name", "name or generateName is required"));
  } else {
    for (const m of opts.nameRule(meta.name)) errs.push(invalid("metadata.name", meta.name, m));
  }
  if (opts.namespaced) {
    if (meta.namespace === undefined || meta.namespace === "") errs.push(required("metadata.namespace"));
  } else if (meta.namespace !== undefined && meta.namespace !== "") {
    errs.push(forbidden("metadata.namespace", "not allowed on this type"));
  }
  for (const [k, v] of Object.entries(meta.labels ?? {})) {
    for (const m of qualifiedName(k)) errs.push(invalid("metadata.labels", k, m));
    for (const m of labelValue(v)) errs.push(invalid("metadata.labels", v, m));
  }
  let annotationBytes = 0;
  for (const [k, v] of Object.entries(meta.annotations ?? {})) {
    for (const m of qualifiedName(k.toLowerCase())) errs.push(invalid("metadata.annotations", k, m));
    annotationBytes += k.length + v.length;
  }
  if (annotationBytes > 256 * 1024)
    errs.push({
      type: "FieldValueTooLong",
      field: "metadata.annotations",
      detail: "must have at most 262144 bytes",
    });
  (meta.ownerReferences ?? []).forEach((o, i) => {
    for (const f of ["apiVersion", "kind", "name", "uid"] as const)
      if (!o[f]) errs.push(required(`metadata.ownerReferences[${i}].${f}`));
  });
  return errs;
}

/** A time as metav1.Time serializes it: RFC 3339 in UTC at whole seconds. */
export function metav1Time(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}
