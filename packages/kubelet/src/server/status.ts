/**
 * The kubelet's errors as metav1.Status JSON (kube's kubelet server writes them with
 * responsewriters.ErrorNegotiated), so the API server can hand them to kubectl unchanged.
 */
import type { ServerResponse } from "node:http";

export type StatusReason =
  | "BadRequest"
  | "NotFound"
  | "Unauthorized"
  | "Forbidden"
  | "MethodNotAllowed"
  | "InternalError"
  | "NonZeroExitCode";

export interface Status {
  kind?: "Status";
  apiVersion?: "v1";
  metadata: Record<string, never>;
  status: "Success" | "Failure";
  message?: string;
  reason?: StatusReason;
  details?: { name?: string; kind?: string; causes?: { reason: string; message: string }[] };
  code?: number;
}

export class KubeletError extends Error {
  constructor(
    readonly code: number,
    readonly reason: StatusReason,
    message: string,
  ) {
    super(message);
    this.name = "KubeletError";
  }

  toStatus(): Status {
    return {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: this.message,
      reason: this.reason,
      code: this.code,
    };
  }
}

export const badRequest = (message: string) => new KubeletError(400, "BadRequest", message);
export const notFound = (message: string) => new KubeletError(404, "NotFound", message);

/** Writes `e` (a KubeletError, or anything else as a 500) as a Status answer. */
export function writeError(res: ServerResponse, e: unknown): void {
  const err =
    e instanceof KubeletError
      ? e
      : new KubeletError(500, "InternalError", e instanceof Error ? e.message : String(e));
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify(err.toStatus());
  res.writeHead(err.code, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
  res.end(body);
}

/**
 * The Status an exec's error channel carries when the process ends (kube's
 * remotecommand server writeStatus / utilexec.CodeExitError): Success for 0, else NonZeroExitCode
 * with the code as the ExitCode cause, which kubectl turns into its own exit code.
 */
export function exitStatus(cmd: readonly string[], exitCode: number): Status {
  if (exitCode === 0) return { metadata: {}, status: "Success" };
  return {
    metadata: {},
    status: "Failure",
    message: `command terminated with non-zero exit code: error executing command [${cmd.join(" ")}], exit code ${exitCode}`,
    reason: "NonZeroExitCode",
    details: { causes: [{ reason: "ExitCode", message: String(exitCode) }] },
  };
}

/** An error on the error channel that is not an exit code (kube: apierrors.NewInternalError). */
export function failureStatus(message: string): Status {
  return { metadata: {}, status: "Failure", message, reason: "InternalError", code: 500 };
}
