/**
 * What the controllers read from an API error beyond its reason (k8s.io/apimachinery's
 * apierrors.HasStatusCause): the causes in the Status's details. A StatusCause's Go field Type
 * is spelled `reason` on the wire, so that is the field compared.
 */
import { ApiError } from "@skiff/client";

/** v1.NamespaceTerminatingCause: a create refused because its namespace is being deleted. */
export const NAMESPACE_TERMINATING_CAUSE = "NamespaceTerminating";

/** apierrors.HasStatusCause: an API error whose Status details carry a cause of this type. */
export function hasStatusCause(e: unknown, cause: string): boolean {
  if (!(e instanceof ApiError)) return false;
  const causes = (e.details as { causes?: { reason?: string }[] } | undefined)?.causes ?? [];
  return causes.some((c) => c.reason === cause);
}

/** HasStatusCause(err, NamespaceTerminatingCause): every create in that namespace will fail. */
export function isNamespaceTerminating(e: unknown): boolean {
  return hasStatusCause(e, NAMESPACE_TERMINATING_CAUSE);
}
