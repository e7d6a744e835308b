/**
 * kube's WithRetryAfter: once the server stops accepting requests, every new one gets a 503 with
 * Retry-After, so clients go to another server (or come back) instead of seeing a reset.
 */
import { StatusError } from "../status.js";
import type { Filter } from "./filter.js";

export function retryAfterFilter(notAcceptingNewRequests: AbortSignal): Filter {
  return {
    name: "retry-after",
    filter() {
      if (notAcceptingNewRequests.aborted)
        throw new StatusError(503, "ServiceUnavailable", "the API server is shutting down", {
          retryAfterSeconds: 1,
        });
    },
  };
}
