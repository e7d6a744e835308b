/**
 * kube's WithMaxInFlightLimit (--max-requests-inflight, --max-mutating-requests-inflight): two
 * counters of requests being served; above its limit a request gets 429 with Retry-After.
 * Long-running requests (watches) are exempt: they last minutes and would starve the others.
 * The counts are kube's gauge apiserver_current_inflight_requests{request_kind}.
 */
import { Gauge, type Registry as MetricsRegistry } from "prom-client";
import type { RequestInfo } from "../request/requestinfo.js";
import { tooManyRequests } from "../status.js";
import { type Filter, requestInfoOf } from "./filter.js";

/** Subresources that stream for as long as the client wants (kube's BasicLongRunningRequestCheck). */
const longRunningSubresources = new Set(["attach", "exec", "proxy", "log", "portforward"]);

/** kube's BasicLongRunningRequestCheck: watches, and the streaming subresources. */
export const isLongRunning = (info: RequestInfo) =>
  info.isResourceRequest &&
  (info.verb === "watch" || longRunningSubresources.has(info.target?.subresource ?? ""));

/** Verbs that only read (kube: nonMutatingRequestVerbs; HEAD and OPTIONS read too). */
const readOnlyVerbs = new Set(["get", "list", "watch", "head", "options"]);

export function maxInFlightFilter(
  limits: { all: number; mutating: number },
  metrics: MetricsRegistry,
): Filter {
  const inflight = { all: 0, mutating: 0 };
  const gauge = new Gauge({
    name: "apiserver_current_inflight_requests",
    help: "Maximal number of currently used inflight request limit of this apiserver per request kind in last second.",
    labelNames: ["request_kind"],
    registers: [metrics],
    collect() {
      this.set({ request_kind: "readOnly" }, inflight.all);
      this.set({ request_kind: "mutating" }, inflight.mutating);
    },
  });
  void gauge;
  return {
    name: "max-inflight",
    filter(req) {
      const info = requestInfoOf(req);
      if (isLongRunning(info)) return;
      const mutating = !readOnlyVerbs.has(info.verb);
      if (mutating ? inflight.mutating >= limits.mutating : inflight.all >= limits.all)
        throw tooManyRequests(1);
      if (mutating) inflight.mutating++;
      else inflight.all++;
      req.onDone(() => {
        if (mutating) inflight.mutating--;
        else inflight.all--;
      });
    },
  };
}
