/** kube's WithRequestInfo: resolves the verb, the resource, the namespace and the name once. */
import type { Registry } from "@skiff/api";
import { resolveRequestInfo } from "../request/requestinfo.js";
import type { Filter } from "./filter.js";

export function requestInfoFilter(registry: Registry): Filter {
  return {
    name: "request-info",
    filter(req) {
      req.info = resolveRequestInfo(registry, req.method, req.url, req.query);
    },
  };
}
