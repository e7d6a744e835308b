/**
 * The query of a list or watch as kube-apiserver decodes it into metainternalversion.ListOptions
 * (the parameter codec: booleans as queryBool, integers as strconv.ParseInt) and validates it
 * (apimachinery's ValidateListOptions, with the WatchList feature on as in 1.32). A parameter that
 * does not convert is a 400; options that do not go together are a 422 Invalid ListOptions.
 */
import type { FieldError } from "@skiff/api";
import { errorBody } from "@skiff/api";
import { badRequest, StatusError } from "../status.js";
import { queryBool } from "./params.js";

export type Query = Readonly<Record<string, string | undefined>>;

export interface ListOptions {
  watch: boolean;
  allowWatchBookmarks: boolean;
  /** undefined when the parameter is absent (kube's *bool). */
  sendInitialEvents: boolean | undefined;
  resourceVersion: string;
  resourceVersionMatch: string;
  continue: string;
  limit: number;
  /** 0: none. */
  timeoutSeconds: number;
}

const NOT_OLDER_THAN = "NotOlderThan";
const EXACT = "Exact";

/** Go's strconv.ParseInt(s, 10, 64), as the parameter codec converts integer parameters. */
function parseInt64(s: string | undefined): number {
  if (s === undefined) return 0;
  if (!/^[+-]?[0-9]+$/.test(s))
    throw badRequest(`strconv.ParseInt: parsing ${JSON.stringify(s)}: invalid syntax`);
  const n = Number(s);
  if (!Number.isSafeInteger(n))
    throw badRequest(`strconv.ParseInt: parsing ${JSON.stringify(s)}: value out of range`);
  return n;
}

const forbidden = (field: string, detail: string): FieldError => ({
  type: "FieldValueForbidden",
  field,
  detail,
});
const notSupported = (field: string, value: string, allowed: string[]): FieldError => ({
  type: "FieldValueNotSupported",
  field,
  value,
  detail: `supported values: ${allowed.map((a) => JSON.stringify(a)).join(", ")}`,
});

/** kube's errors.NewInvalid for GroupKind meta.k8s.io/ListOptions. */
export function invalidListOptions(errs: readonly FieldError[]): StatusError {
  const text = errs.map((e) => `${e.field}: ${errorBody(e)}`);
  const joined = text.length === 1 ? text[0] : `[${text.join(", ")}]`;
  return new StatusError(422, "Invalid", `ListOptions.meta.k8s.io "" is invalid: ${joined}`, {
    group: "meta.k8s.io",
    kind: "ListOptions",
    causes: errs.map((e) => ({ reason: e.type, message: errorBody(e), field: e.field })),
  });
}

function validate(o: ListOptions): FieldError[] {
  const errs: FieldError[] = [];
  const match = o.resourceVersionMatch;
  const path = "resourceVersionMatch";
  if (o.watch) {
    if (o.sendInitialEvents !== undefined && match !== NOT_OLDER_THAN)
      errs.push(
        forbidden(path, `sendInitialEvents requires setting resourceVersionMatch to ${NOT_OLDER_THAN}`),
      );
    if (match !== "") {
      if (o.sendInitialEvents === undefined)
        errs.push(
          forbidden(path, "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided"),
        );
      if (match !== NOT_OLDER_THAN) errs.push(notSupported(path, match, [NOT_OLDER_THAN]));
      if (o.continue !== "")
        errs.push(forbidden(path, "resourceVersionMatch is forbidden when continue is provided"));
    }
    return errs;
  }
  if (match !== "") {
    if (o.resourceVersion === "")
      errs.push(forbidden(path, "resourceVersionMatch is forbidden unless resourceVersion is provided"));
    if (o.continue !== "")
      errs.push(forbidden(path, "resourceVersionMatch is forbidden when continue is provided"));
    if (match !== EXACT && match !== NOT_OLDER_THAN)
      errs.push(notSupported(path, match, [EXACT, NOT_OLDER_THAN, ""]));
    if (match === EXACT && o.resourceVersion === "0")
      errs.push(forbidden(path, 'resourceVersionMatch "exact" is forbidden for resourceVersion "0"'));
  }
  if (o.sendInitialEvents !== undefined)
    errs.push(forbidden("sendInitialEvents", "sendInitialEvents is forbidden for list"));
  return errs;
}

/** A repeated parameter arrives as an array: kube's conversions take the first value. */
export const firstValue = (v: string | readonly string[] | undefined): string | undefined =>
  Array.isArray(v) ? v[0] : (v as string | undefined);

/** Decodes and validates the options of a list (watch false) or a watch (watch true). */
export function listOptions(query: Query, watch: boolean): ListOptions {
  const q = new Proxy(query, { get: (o, k) => firstValue(o[k as string]) });
  const o: ListOptions = {
    watch,
    allowWatchBookmarks: queryBool(q.allowWatchBookmarks),
    sendInitialEvents: q.sendInitialEvents === undefined ? undefined : queryBool(q.sendInitialEvents),
    resourceVersion: q.resourceVersion ?? "",
    resourceVersionMatch: q.resourceVersionMatch ?? "",
    continue: q.continue ?? "",
    limit: parseInt64(q.limit),
    timeoutSeconds: parseInt64(q.timeoutSeconds),
  };
  const errs = validate(o);
  if (errs.length > 0) throw invalidListOptions(errs);
  return o;
}

/** kube's isListWatchRequest: initial events, ended by a bookmark, are asked for. */
export const isListWatch = (o: ListOptions) => o.sendInitialEvents === true && o.allowWatchBookmarks;
