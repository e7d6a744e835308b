/**
 * kube's WithAuthorization: may this user do this verb on this resource (or path)? Runs after
 * authentication and the in-flight limit, just before the handler. kube's bootstrap role
 * system:public-info-viewer (get on /healthz, /livez, /readyz, /version for everyone) is applied
 * first; everything else is the authorizer's to decide. A denial is kube's 403 Forbidden Status.
 */
import { type Authorizer, publicInfoViewer, type RequestAttributes } from "../auth.js";
import type { RequestInfo } from "../request/requestinfo.js";
import { StatusError } from "../status.js";
import { type Filter, requestInfoOf } from "./filter.js";

/**
 * The name a list or watch is about when its field selector names one object (kube:
 * RequestInfoFactory reads `metadata.name=` from the field selector, so a watch of one object
 * can be authorized as that object).
 */
function nameOfSelector(fieldSelector: string | undefined): string | undefined {
  for (const term of (fieldSelector ?? "").split(",")) {
    const m = /^metadata\.name(?:==|=)(.+)$/.exec(term.trim());
    if (m !== null && /^[^/%]+$/.test(m[1] as string) && m[1] !== "." && m[1] !== "..") return m[1];
  }
  return undefined;
}

export function attributesOf(
  info: RequestInfo,
  user: RequestAttributes["user"],
  query: Readonly<Record<string, string | undefined>> = {},
): RequestAttributes {
  const t = info.target;
  const collection = info.verb === "list" || info.verb === "watch";
  return {
    user,
    verb: info.verb,
    isResourceRequest: info.isResourceRequest,
    group: info.apiGroup,
    version: info.apiVersion,
    resource: t?.kind.resource ?? "",
    subresource: t?.subresource,
    namespace: t?.namespace,
    name: t?.name ?? (collection ? nameOfSelector(query.fieldSelector) : undefined),
    path: info.path,
  };
}

/** kube's forbiddenMessage and apierrors.NewForbidden: the message and details of a denial. */
export function forbiddenStatus(a: RequestAttributes, reason: string | undefined): StatusError {
  const who = JSON.stringify(a.user.name);
  let why: string;
  if (!a.isResourceRequest) why = `User ${who} cannot ${a.verb} path ${JSON.stringify(a.path)}`;
  else {
    const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
    const scope =
      a.namespace !== undefined && a.namespace !== ""
        ? `in the namespace ${JSON.stringify(a.namespace)}`
        : "at the cluster scope";
    why = `User ${who} cannot ${a.verb} resource ${JSON.stringify(resource)} in API group ${JSON.stringify(a.group)} ${scope}`;
  }
  if (reason) why += `: ${reason}`;
  const qualified = a.group === "" ? a.resource : `${a.resource}.${a.group}`;
  const message =
    qualified === ""
      ? `forbidden: ${why}`
      : a.name
        ? `${qualified} ${JSON.stringify(a.name)} is forbidden: ${why}`
        : `${qualified} is forbidden: ${why}`;
  const details: Record<string, unknown> = {};
  if (a.name) details.name = a.name;
  if (a.isResourceRequest && a.group !== "") details.group = a.group;
  if (a.isResourceRequest && a.resource !== "") details.kind = a.resource;
  return new StatusError(403, "Forbidden", message, Object.keys(details).length > 0 ? details : undefined);
}

export function authorizationFilter(authorizer: Authorizer): Filter {
  return {
    name: "authorization",
    filter(req) {
      const info = requestInfoOf(req);
      // A resource path that names nothing served gets its 404 from the handler, whoever asks.
      if (info.isResourceRequest && info.target === undefined) return;
      if (req.user === undefined) throw new Error("authorization needs an authenticated user");
      const a = attributesOf(info, req.user, req.query);
      if (publicInfoViewer(a)) return;
      const decision = authorizer.authorize(a);
      if (decision.allowed) return;
      throw forbiddenStatus(a, decision.reason);
    },
  };
}
