/**
 * Authentication (who is asking) and authorization (may they): client certificates signed by the
 * cluster CA (CN = user, O = groups, as kube-apiserver) and bearer tokens; anonymous requests are
 * refused. The authorizer is an interface so RBAC can replace the allow-all default later.
 */
import type { IncomingMessage } from "node:http";
import type { TLSSocket } from "node:tls";

export interface UserInfo {
  name: string;
  groups: string[];
}

/** What is asked (kube: authorizer.Attributes, made from the RequestInfo and the user). */
export interface RequestAttributes {
  user: UserInfo;
  /** kube's verbs (get, list, watch, create, update, patch, delete, deletecollection), or the HTTP method's. */
  verb: string;
  /** false for non-resource paths such as /version: then only `path` and `verb` mean anything. */
  isResourceRequest: boolean;
  group: string;
  version: string;
  resource: string;
  subresource: string | undefined;
  namespace: string | undefined;
  name: string | undefined;
  path: string;
}

export interface Authorizer {
  authorize(a: RequestAttributes): { allowed: boolean; reason?: string };
}

/** Every authenticated user may do everything (until RBAC arrives). */
export const allowAll: Authorizer = { authorize: () => ({ allowed: true }) };

export type Authenticator = (req: IncomingMessage) => UserInfo | undefined;

export function authenticator(tokens: ReadonlyMap<string, UserInfo>): Authenticator {
  const byConnection = new WeakMap<object, UserInfo>();
  return (req) => {
    const h = req.headers.authorization;
    if (h !== undefined) {
      const m = /^Bearer\s+(\S+)$/i.exec(h);
      // A wrong token is a 401 even if a certificate is also present, as kube-apiserver.
      return m === null ? undefined : tokens.get(m[1] as string);
    }
    const socket = req.socket as Partial<TLSSocket>;
    // A connection's certificate does not change: read it once per connection.
    const known = byConnection.get(req.socket);
    if (known !== undefined) return known;
    if (socket.authorized === true && typeof socket.getPeerCertificate === "function") {
      const cert = socket.getPeerCertificate();
      const cn = cert.subject?.CN;
      if (typeof cn === "string" && cn !== "") {
        const o = cert.subject?.O;
        const user = {
          name: cn,
          groups: [...(Array.isArray(o) ? o : o === undefined ? [] : [o]), "system:authenticated"],
        };
        byConnection.set(req.socket, user);
        return user;
      }
    }
    return undefined;
  };
}
