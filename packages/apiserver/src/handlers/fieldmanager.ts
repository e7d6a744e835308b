/**
 * metadata.managedFields on every write (kube: k8s.io/apiserver/pkg/endpoints/handlers/
 * fieldmanager and apimachinery's managedfields): the manager is `fieldManager` or the
 * User-Agent's first segment; an Update takes the fields it changed; an Apply merges its
 * configuration (handlers/apply.ts). `trackUpdate` and `trackApply` are the only entry points.
 */
import {
  ApplyTypeError,
  apiVersionOf,
  applyManagers,
  ConflictError,
  canonicalJson,
  capManagers,
  decodeManagers,
  encodeManagers,
  type FieldFilter,
  FieldSet,
  type JsonValue,
  type KindDef,
  type KubeObject,
  type ManagerEntry,
  type Managers,
  managerId,
  metav1Time,
  updateManagers,
  validateManagedFields,
} from "@skiff/api";
import { badRequest, invalidObject, StatusError } from "../status.js";
import { syncLastApplied } from "./last-applied.js";
import { fieldManagerOf, invalidOptions } from "./manager-options.js";
import type { RestRequest } from "./scope.js";

/** Fields no manager owns (kube's stripMetaManager). */
const systemFields = FieldSet.of(
  ["f:apiVersion"],
  ["f:kind"],
  ["f:metadata"],
  ...[
    "name",
    "namespace",
    "creationTimestamp",
    "selfLink",
    "uid",
    "generation",
    "managedFields",
    "resourceVersion",
  ].map((f) => ["f:metadata", `f:${f}`]),
);
const statusOnly = FieldSet.of(["f:status"]);

/** What a write may own: status only through /status, never through the main resource. */
function filterFor(kind: KindDef, subresource: string | undefined): FieldFilter {
  return (s) => {
    const r = s.difference(systemFields);
    if (!kind.hasStatus) return r;
    if (subresource !== "status") return r.recursiveDifference(statusOnly);
    const only = new FieldSet();
    const status = r.child("f:status");
    if (status !== undefined) only.children.set("f:status", status);
    return only;
  };
}

/** The object as the comparison sees it: no managedFields. */
function bare(obj: KubeObject): JsonValue {
  const { managedFields: _m, ...metadata } = obj.metadata;
  return { ...obj, metadata } as unknown as JsonValue;
}

/** The empty object of a kind, with its struct fields present (as a Go zero value). */
function emptyObject(kind: KindDef): JsonValue {
  const out: Record<string, JsonValue> = { apiVersion: apiVersionOf(kind), kind: kind.kind, metadata: {} };
  for (const [k, s] of Object.entries(kind.schema.properties))
    if (s.type === "object" && !(k in out)) out[k] = {};
  return out;
}

const decodeOr = (list: unknown): Managers => {
  try {
    return decodeManagers(list);
  } catch {
    return new Map();
  }
};

/** `[]` or `[{}]` sent by a client: reset (kube's isResetManagedFields). */
const isReset = (list: unknown) =>
  Array.isArray(list) &&
  (list.length === 0 ||
    (list.length === 1 &&
      typeof list[0] === "object" &&
      list[0] !== null &&
      Object.keys(list[0]).length === 0));

/** The managers a write starts from (kube's decodeLiveOrNew). */
function startingManagers(old: KubeObject | undefined, next: KubeObject, subresource: string | undefined) {
  const sent = next.metadata.managedFields;
  if (subresource !== undefined) return decodeOr(old?.metadata.managedFields);
  if (isReset(sent)) return new Map() as Managers;
  const fromNew = decodeOr(sent);
  return fromNew.size > 0 ? fromNew : decodeOr(old?.metadata.managedFields);
}

/** Sets next's managedFields; keeps the old list when only timestamps would change. */
function store(next: KubeObject, old: KubeObject | undefined, managers: Managers): void {
  const encoded = encodeManagers(capManagers(managers));
  if (encoded.length === 0) delete next.metadata.managedFields;
  else next.metadata.managedFields = encoded;
  if (old === undefined) return;
  const untimed = (l: unknown) =>
    canonicalJson(((l ?? []) as Record<string, JsonValue>[]).map(({ time: _t, ...e }) => e) as JsonValue);
  if (
    untimed(encoded) === untimed(old.metadata.managedFields) &&
    canonicalJson(bare(next)) === canonicalJson(bare(old))
  )
    next.metadata.managedFields = old.metadata.managedFields;
}

/**
 * managedFields of a create (old undefined), update or patch: the writer takes what it changed
 * (kube: FieldManager.UpdateNoErrors with managedFieldsUpdater's "current-operation").
 */
export function trackUpdate(
  kind: KindDef,
  req: RestRequest,
  old: KubeObject | undefined,
  next: KubeObject,
  now: Date,
) {
  const optionsKind =
    old === undefined ? "CreateOptions" : req.method === "PATCH" ? "PatchOptions" : "UpdateOptions";
  if (optionsKind === "PatchOptions" && req.query.force !== undefined)
    throw invalidOptions("PatchOptions", [
      { type: "FieldValueForbidden", field: "force", detail: "may not be specified for non-apply patch" },
    ]);
  const manager = fieldManagerOf(req, optionsKind);
  const sub = req.path.subresource;
  const errs = validateManagedFields(next.metadata.managedFields);
  if (errs.length > 0) throw invalidObject(kind, next.metadata.name ?? "", errs);
  const base = startingManagers(old, next, sub);
  const entry: Omit<ManagerEntry, "set"> = {
    manager,
    operation: "Update",
    apiVersion: apiVersionOf(kind),
    subresource: sub,
    time: metav1Time(now),
  };
  const current = "current-operation";
  const managers = updateManagers(
    kind.schema,
    bare(old ?? (emptyObject(kind) as unknown as KubeObject)),
    bare(next),
    base,
    current,
    entry,
    filterFor(kind, sub),
  );
  const took = managers.get(current);
  if (took !== undefined) {
    managers.delete(current);
    const id = managerId(entry);
    const prev = managers.get(id);
    managers.set(id, { ...entry, set: prev === undefined ? took.set : took.set.union(prev.set) });
  }
  store(next, old, managers);
}

/**
 * An apply of `config` to `live` (undefined: the object is created): the merged object with its
 * managedFields, or a 409 Conflict naming the other managers and fields.
 */
export function trackApply(
  kind: KindDef,
  req: RestRequest,
  live: KubeObject | undefined,
  config: KubeObject,
  manager: string,
  force: boolean,
  now: Date,
): KubeObject {
  if (config.metadata.managedFields !== undefined) throw badRequest("metadata.managedFields must be nil");
  const sub = req.path.subresource;
  const entry: Omit<ManagerEntry, "set"> = {
    manager,
    operation: "Apply",
    apiVersion: apiVersionOf(kind),
    subresource: sub,
    time: metav1Time(now),
  };
  const id = managerId(entry);
  const base = decodeOr(live?.metadata.managedFields);
  const from = bare(live ?? (emptyObject(kind) as unknown as KubeObject));
  let result: { object: JsonValue; managers: Managers };
  try {
    result = applyManagers(
      kind.schema,
      from,
      config as unknown as JsonValue,
      base,
      id,
      entry,
      force,
      filterFor(kind, sub),
    );
  } catch (e) {
    if (e instanceof ConflictError) throw new StatusError(409, "Conflict", e.message, { causes: e.causes() });
    if (e instanceof ApplyTypeError) {
      const where = `${config.metadata.namespace ?? req.path.namespace ?? ""}/${req.path.name ?? ""}`;
      throw badRequest(
        `failed to create typed patch object (${where}; ${apiVersionOf(kind)}, Kind=${kind.kind}): ${e.message}`,
      );
    }
    throw e;
  }
  const obj = result.object as unknown as KubeObject;
  syncLastApplied(obj, config, manager);
  // Nothing changed: kube leaves the applier's timestamp as it was.
  const prev = base.get(id);
  const mine = result.managers.get(id);
  if (live !== undefined && canonicalJson(bare(obj)) === canonicalJson(from) && mine !== undefined)
    mine.time = prev?.time ?? mine.time;
  store(obj, live, result.managers);
  return obj;
}
