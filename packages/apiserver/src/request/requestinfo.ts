/**
 * What a request is about, resolved once from its method and URL (kube's RequestInfo, made by
 * RequestInfoFactory in k8s.io/apiserver/pkg/endpoints/request/requestinfo.go). The filters
 * (authorization, max in-flight) and the handlers all read it, so no two of them can disagree on
 * the verb, the namespace or the name.
 *
 * Resource paths, as kube-apiserver routes them:
 *   /api/v1/<resource>[/<name>[/<subresource>]]                        cluster-scoped, or all namespaces
 *   /api/v1/namespaces/<ns>/<resource>[/<name>[/<subresource>]]       namespaced
 *   /apis/<group>/<version>/...                                       the same for named groups
 */
import type { KindDef, Registry } from "@skiff/api";
import { pathNotFound, StatusError } from "../status.js";
import { firstValue } from "./list-options.js";
import { queryBool } from "./params.js";

/** A resource the path names, as the handlers use it. */
export interface ResourcePath {
  kind: KindDef;
  /** Set for namespaced paths; undefined for cluster-scoped kinds and all-namespaces lists. */
  namespace: string | undefined;
  name: string | undefined;
  subresource: string | undefined;
}

export interface RequestInfo {
  /** false for /version, /healthz, /metrics, discovery and OpenAPI documents. */
  isResourceRequest: boolean;
  /** The URL path, without the query. */
  path: string;
  /**
   * kube's verbs for resource requests (get, list, watch, create, update, patch, delete,
   * deletecollection); the lowercased HTTP method for the others.
   */
  verb: string;
  apiGroup: string;
  apiVersion: string;
  /**
   * The resource the path names; undefined for non-resource requests and for resource paths that
   * name nothing served (the handler answers those 404).
   */
  target: ResourcePath | undefined;
}

/** `rest` is what follows /api/v1/ or /apis/<group>/<version>/. Throws a 404 Status. */
export function parseResourcePath(
  registry: Registry,
  group: string,
  version: string,
  rest: string,
): ResourcePath {
  const seg = rest
    .split("/")
    .filter((s) => s !== "")
    .map(decodeURIComponent);
  if (seg.length >= 3 && seg[0] === "namespaces") {
    const kind = registry.resource(group, version, seg[2] as string);
    if (kind?.namespaced) {
      // Only proxy takes a path after the subresource (pods/x/proxy/<path>).
      if (seg.length > 5 && seg[4] !== "proxy") throw pathNotFound();
      return { kind, namespace: seg[1], name: seg[3], subresource: seg[4] };
    }
  }
  const kind = registry.resource(group, version, seg[0] ?? "");
  if (kind === undefined || (seg.length > 3 && seg[2] !== "proxy")) throw pathNotFound();
  // A namespaced kind without a namespace: only lists and watches across all namespaces.
  if (kind.namespaced && seg.length > 1) throw pathNotFound();
  return { kind, namespace: undefined, name: seg[1], subresource: seg[2] };
}

/** kube decodes `watch` as every boolean parameter: `watch=True` from the Python client is a watch. */
const isWatch = (query: Readonly<Record<string, string | undefined>>) => queryBool(firstValue(query.watch));

/**
 * kube's verb for a resource request (RequestInfoFactory.NewRequestInfo): POST create, GET and
 * HEAD get, PUT update, PATCH patch, DELETE delete; GET on a collection is list, or watch when
 * the watch parameter is true as kube reads booleans (`watch=True`, `watch=1`, `?watch`); DELETE
 * on a collection is deletecollection. Another method has no verb (kube: "").
 */
function resourceVerb(method: string, named: boolean, query: Readonly<Record<string, string | undefined>>) {
  switch (method) {
    case "GET":
    case "HEAD":
      return named ? "get" : isWatch(query) ? "watch" : "list";
    case "POST":
      return "create";
    case "PUT":
      return "update";
    case "PATCH":
      return "patch";
    case "DELETE":
      return named ? "delete" : "deletecollection";
    default:
      return "";
  }
}

export function resolveRequestInfo(
  registry: Registry,
  method: string,
  url: string,
  query: Readonly<Record<string, string | undefined>>,
): RequestInfo {
  const path = url.split("?")[0] as string;
  const parts = path.split("/");
  // ["", "api", "v1", ...rest] or ["", "apis", group, version, ...rest]
  const prefixLength = parts[1] === "api" ? 3 : parts[1] === "apis" ? 4 : 0;
  const rest = parts.slice(prefixLength);
  const nonResource = {
    isResourceRequest: false,
    path,
    verb: method.toLowerCase(),
    apiGroup: "",
    apiVersion: "",
    target: undefined,
  };
  // /api/v1 and /apis/<group>/<version> themselves are discovery documents, not resources.
  if (prefixLength === 0 || parts.length <= prefixLength || (parts[1] === "api" && parts[2] !== "v1"))
    return nonResource;
  const apiGroup = parts[1] === "api" ? "" : (parts[2] as string);
  const apiVersion = parts[prefixLength - 1] as string;
  let target: ResourcePath | undefined;
  try {
    target = parseResourcePath(registry, apiGroup, apiVersion, rest.join("/"));
  } catch (e) {
    // A path naming nothing served, or not decodable: the handler answers 404.
    if (!(e instanceof StatusError || e instanceof URIError)) throw e;
  }
  return {
    isResourceRequest: true,
    path,
    verb: resourceVerb(method, target?.name !== undefined, query),
    apiGroup,
    apiVersion,
    target,
  };
}
