/**
 * The managers of an object's fields (fieldpath.ManagedFields), decoded from and encoded to
 * `metadata.managedFields` (metav1.ManagedFieldsEntry), with kube's validation of the entries.
 * One entry per (manager, operation, subresource, and apiVersion for Update); an Apply entry's
 * identity has no apiVersion, as kube's BuildManagerIdentifier.
 */
import type { JsonObject } from "../patch/json.js";
import { type FieldError, invalid } from "../validation.js";
import { FieldSet } from "./set.js";

const tooLong = (field: string, value: unknown, max: number): FieldError => ({
  type: "FieldValueTooLong",
  field,
  value,
  detail: `may not be more than ${max} bytes`,
});

export type Operation = "Apply" | "Update";

export interface ManagerEntry {
  manager: string;
  operation: Operation;
  apiVersion: string;
  subresource?: string;
  time?: string;
  set: FieldSet;
}

/** Entries by identity, in the order they were listed. */
export type Managers = Map<string, ManagerEntry>;

/** The identity of an entry (kube: BuildManagerIdentifier), a JSON ManagedFieldsEntry. */
export function managerId(
  e: Pick<ManagerEntry, "manager" | "operation" | "apiVersion" | "subresource">,
): string {
  return JSON.stringify({
    manager: e.manager || undefined,
    operation: e.operation,
    apiVersion: e.operation === "Update" ? e.apiVersion : undefined,
    subresource: e.subresource || undefined,
  });
}

/** How kube names a manager in conflict messages (printManager). */
export function printManager(
  e: Pick<ManagerEntry, "manager" | "operation" | "apiVersion" | "subresource">,
): string {
  let s = JSON.stringify(e.manager);
  if (e.subresource) s += ` with subresource ${JSON.stringify(e.subresource)}`;
  return e.operation === "Update" ? `${s} using ${e.apiVersion}` : s;
}

export const FieldManagerMaxLength = 128;

/** ValidateFieldManager: at most 128 characters, all printable. */
export function validateFieldManager(manager: string, field: string): FieldError[] {
  const errs: FieldError[] = [];
  if (manager === "") return errs;
  if ([...manager].length > FieldManagerMaxLength) errs.push(tooLong(field, manager, FieldManagerMaxLength));
  let i = 0;
  for (const ch of manager) {
    if (!/^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u.test(ch)) {
      errs.push(invalid(field, manager, `invalid characters at ${i}`));
      break;
    }
    i += ch.length;
  }
  return errs;
}

/** ValidateManagedFields for `metadata.managedFields` sent by a client. */
export function validateManagedFields(list: unknown, field = "metadata.managedFields"): FieldError[] {
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) return [invalid(field, list, "must be a list")];
  const errs: FieldError[] = [];
  list.forEach((raw, i) => {
    const f = `${field}[${i}]`;
    const e = (typeof raw === "object" && raw !== null ? raw : {}) as Record<string, unknown>;
    if (e.operation !== "Apply" && e.operation !== "Update")
      errs.push(invalid(`${f}.operation`, e.operation ?? "", "must be `Apply` or `Update`"));
    if (e.fieldsType !== undefined && e.fieldsType !== "" && e.fieldsType !== "FieldsV1")
      errs.push(invalid(`${f}.fieldsType`, e.fieldsType, "must be `FieldsV1`"));
    errs.push(...validateFieldManager(typeof e.manager === "string" ? e.manager : "", `${f}.manager`));
    if (typeof e.subresource === "string" && e.subresource.length > 256)
      errs.push(tooLong(`${f}.subresource`, e.subresource, 256));
  });
  return errs;
}

/**
 * Decodes `metadata.managedFields`; throws an Error on an entry kube could not decode (then the
 * caller resets them, as kube's fieldmanager does with a broken list).
 */
export function decodeManagers(list: unknown): Managers {
  const out: Managers = new Map();
  if (list === undefined || list === null) return out;
  if (!Array.isArray(list)) throw new Error("managedFields must be a list");
  for (const raw of list) {
    if (typeof raw !== "object" || raw === null) throw new Error("a managedFields entry must be an object");
    const e = raw as Record<string, unknown>;
    const entry: ManagerEntry = {
      manager: typeof e.manager === "string" ? e.manager : "",
      operation: e.operation === "Apply" ? "Apply" : "Update",
      apiVersion: typeof e.apiVersion === "string" ? e.apiVersion : "",
      subresource: typeof e.subresource === "string" && e.subresource !== "" ? e.subresource : undefined,
      time: typeof e.time === "string" ? e.time : undefined,
      set: FieldSet.fromFieldsV1(e.fieldsV1 ?? {}),
    };
    const id = managerId(entry);
    if (out.has(id)) throw new Error(`duplicate entry for manager ${id}`);
    out.set(id, entry);
  }
  return out;
}

/** `metadata.managedFields` of the managers; Apply entries first, as kube sorts them, then by time. */
export function encodeManagers(managers: Managers): JsonObject[] {
  const entries = [...managers.values()].filter((e) => !e.set.empty());
  entries.sort((a, b) => {
    if (a.operation !== b.operation) return a.operation === "Apply" ? -1 : 1;
    const ta = a.time ?? "";
    const tb = b.time ?? "";
    if (ta !== tb) return ta < tb ? -1 : 1;
    return a.manager < b.manager ? -1 : a.manager > b.manager ? 1 : 0;
  });
  return entries.map((e) => {
    const out: JsonObject = { manager: e.manager, operation: e.operation, apiVersion: e.apiVersion };
    if (e.time !== undefined) out.time = e.time;
    out.fieldsType = "FieldsV1";
    out.fieldsV1 = e.set.toFieldsV1();
    if (e.subresource !== undefined) out.subresource = e.subresource;
    return out;
  });
}
