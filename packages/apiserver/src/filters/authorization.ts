/**
 * kube's WithAuthorization: may this user do this verb on this resource (or path)? Runs after
 * authentication and the in-flight limit, just before the handler. The health paths are open.
 */
import type { Authorizer, RequestAttributes } from "../auth.js";
import type { RequestInfo } from "../request/requestinfo.js";
import { forbidden } from "../status.js";
import { type Filter, requestInfoOf } from "./filter.js";

function attributesOf(info: RequestInfo, user: RequestAttributes["user"]): RequestAttributes {
  const t = info.target;
  return {
    user,
    verb: info.verb,
    isResourceRequest: info.isResourceRequest,
    group: info.apiGroup,
    version: info.apiVersion,
    resource: t?.kind.resource ?? "",
    subresource: t?.subresource,
    namespace: t?.namespace,
    name: t?.name,
    path: info.path,
  };
}

export function authorizationFilter(authorizer: Authorizer, alwaysAllow: (path: string) => boolean): Filter {
  return {
    name: "authorization",
    filter(req) {
      const info = requestInfoOf(req);
      if (alwaysAllow(info.path)) return;
      // A resource path that names nothing served gets its 404 from the handler, whoever asks.
      if (info.isResourceRequest && info.target === undefined) return;
      if (req.user === undefined) throw new Error("authorization needs an authenticated user");
      const a = attributesOf(info, req.user);
      const decision = authorizer.authorize(a);
      if (decision.allowed) return;
      const why = decision.reason ? `: ${decision.reason}` : "";
      throw forbidden(
        a.isResourceRequest
          ? `${a.resource} is forbidden: User "${a.user.name}" cannot ${a.verb} resource "${a.resource}"${why}`
          : `forbidden: User "${a.user.name}" cannot ${a.verb} path "${a.path}"${why}`,
      );
    },
  };
}
