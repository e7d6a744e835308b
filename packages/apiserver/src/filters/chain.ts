/**
 * The filters in the order kube's DefaultBuildHandlerChain (k8s.io/apiserver/pkg/server/config.go)
 * applies them to a request: request info, the shutdown 503 (WithRetryAfter), authentication, max
 * in-flight, authorization; then the handler. Go wraps handlers inside out, so the list there
 * reads bottom up; here it reads in request order.
 */
import type { Registry } from "@skiff/api";
import type { FastifyInstance } from "fastify";
import type { Registry as MetricsRegistry } from "prom-client";
import type { Authenticator, Authorizer, UserInfo } from "../auth.js";
import type { RequestInfo } from "../request/requestinfo.js";
import { authenticationFilter } from "./authentication.js";
import { authorizationFilter } from "./authorization.js";
import { type Filter, type FilterRequest, runFilters } from "./filter.js";
import { maxInFlightFilter } from "./max-inflight.js";
import { requestInfoFilter } from "./request-info.js";
import { retryAfterFilter } from "./retry-after.js";

declare module "fastify" {
  interface FastifyRequest {
    /** Set by the filters before any handler runs. */
    requestInfo?: RequestInfo;
    user?: UserInfo;
  }
}

export interface ChainConfig {
  registry: Registry;
  authenticate: Authenticator;
  authorizer: Authorizer;
  /**
   * Paths a request without credentials may reach, as system:anonymous (kube's public-info
   * paths: /healthz, /livez, /readyz, /version); the authorizer still decides what it may do.
   */
  alwaysAllow: (path: string) => boolean;
  maxRequestsInflight: number;
  maxMutatingRequestsInflight: number;
  /** Aborted when the server stops accepting requests. */
  notAcceptingNewRequests: AbortSignal;
  /** Where the filters' gauges (apiserver_current_inflight_requests) are registered. */
  metrics: MetricsRegistry;
}

export function defaultHandlerChain(c: ChainConfig): Filter[] {
  return [
    requestInfoFilter(c.registry),
    retryAfterFilter(c.notAcceptingNewRequests),
    authenticationFilter(c.authenticate, c.alwaysAllow),
    maxInFlightFilter({ all: c.maxRequestsInflight, mutating: c.maxMutatingRequestsInflight }, c.metrics),
    authorizationFilter(c.authorizer),
  ];
}

/** Runs `filters` on every request (found or not) before its handler. */
export function installFilters(app: FastifyInstance, filters: readonly Filter[]): void {
  app.addHook("onRequest", async (req, reply) => {
    const r: FilterRequest = {
      method: req.method,
      url: req.url,
      query: req.query as Record<string, string | undefined>,
      raw: req.raw,
      onDone: (f) => reply.raw.once("close", f),
    };
    runFilters(filters, r);
    req.requestInfo = r.info;
    req.user = r.user;
  });
}
