/**
 * kube's WithAuthentication: who is asking. Credentials that do not authenticate are a 401 on
 * any path (kube's union.NewFailOnError: a bad token is never anonymous). A request without
 * credentials is `system:anonymous` on the paths anonymous requests may reach (kube 1.32's
 * anonymous authenticator limited to the public-info paths, as AuthenticationConfiguration's
 * `anonymous.conditions` does), and a 401 elsewhere, before any later filter (in-flight
 * accounting, authorization) sees it.
 */
import { AUTHENTICATED_GROUP, type Authenticator, anonymousUser, hasCredentials } from "../auth.js";
import { unauthorized } from "../status.js";
import { type Filter, requestInfoOf } from "./filter.js";

export function authenticationFilter(
  authenticate: Authenticator,
  anonymousAllowed: (path: string) => boolean,
): Filter {
  return {
    name: "authentication",
    filter(req) {
      const user = authenticate(req.raw);
      if (user !== undefined) {
        // kube's AuthenticatedGroupAdder: every authenticated user is in system:authenticated.
        req.user = user.groups.includes(AUTHENTICATED_GROUP)
          ? user
          : { ...user, groups: [...user.groups, AUTHENTICATED_GROUP] };
        return;
      }
      if (!hasCredentials(req.raw) && anonymousAllowed(requestInfoOf(req).path)) {
        req.user = anonymousUser();
        return;
      }
      throw unauthorized();
    },
  };
}
