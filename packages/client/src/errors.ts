/** The error every non-2xx answer becomes, carrying the server's metav1.Status. */

/** client-go's reason for an answer without a Status body (StatusReasonForCode). */
function reasonForCode(status: number): string {
  switch (status) {
    case 400:
      return "BadRequest";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "NotFound";
    case 405:
      return "MethodNotAllowed";
    case 406:
      return "NotAcceptable";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 413:
      return "RequestEntityTooLarge";
    case 415:
      return "UnsupportedMediaType";
    case 422:
      return "Invalid";
    case 429:
      return "TooManyRequests";
    case 500:
      return "InternalError";
    case 503:
      return "ServiceUnavailable";
    case 504:
      return "Timeout";
    default:
      return "Unknown";
  }
}

export interface StatusObject {
  kind?: string;
  apiVersion?: string;
  status?: string;
  message?: string;
  reason?: string;
  details?: unknown;
  code?: number;
  [field: string]: unknown;
}

const isStatus = (b: unknown): b is StatusObject =>
  typeof b === "object" && b !== null && (b as StatusObject).kind === "Status";

export class ApiError extends Error {
  /** The HTTP status code (for a watch ERROR event: the Status's code). */
  readonly status: number;
  /** The Status's reason (NotFound, Conflict, ...), or one derived from the code. */
  readonly reason: string;
  readonly details?: unknown;
  /** The server's Status, or one made up from a non-Status body. */
  readonly statusObject: StatusObject;

  constructor(status: number, body: unknown, what?: string) {
    const st: StatusObject = isStatus(body)
      ? body
      : {
          kind: "Status",
          apiVersion: "v1",
          status: "Failure",
          message:
            typeof body === "string" && body !== ""
              ? body
              : `the server answered ${status}${body === undefined ? "" : `: ${JSON.stringify(body)}`}`,
          reason: reasonForCode(status),
          code: status,
        };
    super(`${st.message ?? `the server answered ${status}`}${what === undefined ? "" : ` (${what})`}`);
    this.name = "ApiError";
    this.status = status;
    this.reason = typeof st.reason === "string" && st.reason !== "" ? st.reason : reasonForCode(this.status);
    if (st.details !== undefined) this.details = st.details;
    this.statusObject = st;
  }
}

export const isNotFound = (e: unknown): boolean => e instanceof ApiError && e.status === 404;
export const isConflict = (e: unknown): boolean => e instanceof ApiError && e.status === 409;
export const isAlreadyExists = (e: unknown): boolean => e instanceof ApiError && e.reason === "AlreadyExists";
