/**
 * One step of the request path before the handler (kube: the http.Handler wrappers that
 * DefaultBuildHandlerChain stacks in k8s.io/apiserver/pkg/server/config.go). Filters run in order;
 * each either lets the request through, possibly recording what it learnt on it (the RequestInfo,
 * the user, as kube's request context does), or answers it by throwing a StatusError, and then no
 * later filter and no handler runs.
 */
import type { IncomingMessage } from "node:http";
import type { UserInfo } from "../auth.js";
import type { RequestInfo } from "../request/requestinfo.js";

export interface FilterRequest {
  readonly method: string;
  /** The path and query, as sent. */
  readonly url: string;
  readonly query: Readonly<Record<string, string | undefined>>;
  /** The Node request: the authenticator reads its headers and its TLS socket. */
  readonly raw: IncomingMessage;
  /** Set by the request-info filter (kube: request.WithRequestInfo). */
  info?: RequestInfo;
  /** Set by the authentication filter (kube: request.WithUser). */
  user?: UserInfo;
  /** Runs `f` once, when the response is finished or the connection is gone. */
  onDone(f: () => void): void;
}

export interface Filter {
  readonly name: string;
  /** Returns to let the request through; throws a StatusError to answer it here. */
  filter(req: FilterRequest): void;
}

/** The RequestInfo of a request; every filter after request-info may rely on it. */
export function requestInfoOf(req: FilterRequest): RequestInfo {
  if (req.info === undefined) throw new Error("the request-info filter must run first");
  return req.info;
}

/** Runs the filters in order; the first that throws answers the request. */
export function runFilters(filters: readonly Filter[], req: FilterRequest): void {
  for (const f of filters) f.filter(req);
}
