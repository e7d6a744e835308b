/**
 * The field manager a write names (CreateOptions, UpdateOptions, PatchOptions `fieldManager`, as
 * kube validates it) or, when it names none, the User-Agent's first segment (kube:
 * managerOrUserAgent), and the 422 kube answers for invalid options.
 */
import { errorBody, type FieldError, validateFieldManager } from "@skiff/api";
import { StatusError } from "../status.js";
import type { RestRequest } from "./scope.js";

export type OptionsKind = "CreateOptions" | "UpdateOptions" | "PatchOptions";

/** `PatchOptions.meta.k8s.io "" is invalid: ...` (a 422, as kube's errors.NewInvalid). */
export function invalidOptions(kind: OptionsKind, errs: readonly FieldError[]): StatusError {
  const text = errs.map((e) => `${e.field}: ${errorBody(e)}`);
  const causes = errs.map((e) => ({ reason: e.type, message: errorBody(e), field: e.field }));
  return new StatusError(
    422,
    "Invalid",
    `${kind}.meta.k8s.io "" is invalid: ${text.length === 1 ? text[0] : `[${text.join(", ")}]`}`,
    { name: "", group: "meta.k8s.io", kind, causes },
  );
}

/** The manager of a write: `fieldManager`, else the User-Agent up to its first "/". */
export function fieldManagerOf(req: RestRequest, kind: OptionsKind): string {
  const sent = req.query.fieldManager;
  if (sent !== undefined && sent !== "") {
    const errs = validateFieldManager(sent, "fieldManager");
    if (errs.length > 0) throw invalidOptions(kind, errs);
    return sent;
  }
  return [...((req.userAgent ?? "").split("/")[0] ?? "")].slice(0, 128).join("");
}
