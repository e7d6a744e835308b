/**
 * kube's WithAuthentication: who is asking. A request no authenticator recognises is a 401, before
 * any later filter (in-flight accounting, authorization) sees it. The health paths are open, as
 * kube-apiserver serves them to anonymous probes.
 */
import type { Authenticator } from "../auth.js";
import { unauthorized } from "../status.js";
import { type Filter, requestInfoOf } from "./filter.js";

export function authenticationFilter(
  authenticate: Authenticator,
  alwaysAllow: (path: string) => boolean,
): Filter {
  return {
    name: "authentication",
    filter(req) {
      if (alwaysAllow(requestInfoOf(req).path)) return;
      const user = authenticate(req.raw);
      if (user === undefined) throw unauthorized();
      req.user = user;
    },
  };
}
