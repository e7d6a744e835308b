/**
 * Every error the API server returns is a metav1.Status with Kubernetes' code and reason, so
 * kubectl and client-go recognise it (`kubectl get` prints `Error from server (NotFound): ...`).
 */
import { errorBody, type FieldError, type KindDef } from "@skiff/api";

export type StatusReason =
  | "NotFound"
  | "AlreadyExists"
  | "Conflict"
  | "Invalid"
  | "BadRequest"
  | "Expired"
  | "Gone"
  | "Forbidden"
  | "Unauthorized"
  | "TooManyRequests"
  | "RequestEntityTooLarge"
  | "MethodNotAllowed"
  | "NotAcceptable"
  | "UnsupportedMediaType"
  | "InternalError"
  | "ServiceUnavailable"
  | "Timeout";

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  causes?: { reason: string; message: string; field?: string }[];
  retryAfterSeconds?: number;
}

export class StatusError extends Error {
  constructor(
    readonly code: number,
    readonly reason: StatusReason,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
    this.name = "StatusError";
  }

  toStatus(): Record<string, unknown> {
    return {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: this.message,
      reason: this.reason,
      ...(this.details === undefined ? {} : { details: this.details }),
      code: this.code,
    };
  }
}

/** `pods "x" not found`: the resource is plural and qualified by group, as kube-apiserver writes it. */
const qualified = (k: Pick<KindDef, "resource" | "group">) =>
  k.group === "" ? k.resource : `${k.resource}.${k.group}`;

export const notFound = (k: Pick<KindDef, "resource" | "group">, name: string) =>
  new StatusError(404, "NotFound", `${qualified(k)} "${name}" not found`, {
    name,
    group: k.group,
    kind: k.resource,
  });

export const alreadyExists = (k: Pick<KindDef, "resource" | "group">, name: string) =>
  new StatusError(409, "AlreadyExists", `${qualified(k)} "${name}" already exists`, {
    name,
    group: k.group,
    kind: k.resource,
  });

export const conflict = (k: Pick<KindDef, "resource" | "group">, name: string, why: string) =>
  new StatusError(409, "Conflict", `Operation cannot be fulfilled on ${qualified(k)} "${name}": ${why}`, {
    name,
    group: k.group,
    kind: k.resource,
  });

export const staleUpdate = (k: Pick<KindDef, "resource" | "group">, name: string) =>
  conflict(
    k,
    name,
    "the object has been modified; please apply your changes to the latest version and try again",
  );

/** 422 Invalid: `The ConfigMap "x" is invalid: metadata.name: Invalid value: ...`. */
export function invalidObject(k: Pick<KindDef, "kind" | "group">, name: string, errs: readonly FieldError[]) {
  const causes = errs.map((e) => ({ reason: e.type, message: errorBody(e), field: e.field }));
  const text = errs.map((e) => `${e.field}: ${errorBody(e)}`);
  const message = `${k.kind} "${name}" is invalid: ${text.length === 1 ? text[0] : `[${text.join(", ")}]`}`;
  return new StatusError(422, "Invalid", message, { name, group: k.group, kind: k.kind, causes });
}

export const badRequest = (message: string) => new StatusError(400, "BadRequest", message);
export const expired = (message: string) => new StatusError(410, "Expired", message);
export const unauthorized = () => new StatusError(401, "Unauthorized", "Unauthorized");
export const forbidden = (message: string) => new StatusError(403, "Forbidden", message);
export const methodNotAllowed = (
  message = "the server does not allow this method on the requested resource",
) => new StatusError(405, "MethodNotAllowed", message);
export const tooLarge = () =>
  new StatusError(413, "RequestEntityTooLarge", "Request entity too large: limit is 3145728");
export const tooManyRequests = (retryAfterSeconds: number) =>
  new StatusError(429, "TooManyRequests", "Too many requests, please try again later.", {
    retryAfterSeconds,
  });
export const unsupportedMediaType = (type: string) =>
  new StatusError(
    415,
    "UnsupportedMediaType",
    `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf (got ${type})`,
  );
export const internalError = (message: string) =>
  new StatusError(500, "InternalError", `Internal error occurred: ${message}`);

/** The resource or path does not exist at all: kube-apiserver's plain 404 Status. */
export const pathNotFound = () =>
  new StatusError(404, "NotFound", "the server could not find the requested resource", {});

/**
 * kube's storage.NewTooLargeResourceVersionError: a read asked for a revision the server has not
 * reached (504 Timeout, retry after a second; client-go re-lists on the ResourceVersionTooLarge cause).
 */
export const tooLargeResourceVersion = (requested: number, current: number) =>
  new StatusError(504, "Timeout", `Timeout: Too large resource version: ${requested}, current: ${current}`, {
    causes: [{ reason: "ResourceVersionTooLarge", message: "Too large resource version" }],
    retryAfterSeconds: 1,
  });

/** kube's NewNotAcceptableError from content negotiation. */
export const notAcceptable = () =>
  new StatusError(
    406,
    "NotAcceptable",
    "only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf",
  );
