/**
 * Authentication (who is asking) and authorization (may they): client certificates signed by the
 * cluster CA (CN = user, O = groups, as kube-apiserver), static bearer tokens and ServiceAccount
 * tokens (serviceaccount/). A request without credentials is `system:anonymous` only on the
 * public-info paths, else 401. The authorizer is an interface so RBAC can replace the allow-all
 * default later; kube's bootstrap role system:public-info-viewer is applied before it.
 */
import type { IncomingMessage } from "node:http";
import type { TLSSocket } from "node:tls";

export interface UserInfo {
  name: string;
  groups: string[];
  uid?: string;
  /** kube's user.Info extra (a ServiceAccount token's credential id, pod name and uid). */
  extra?: Record<string, string[]>;
}

export const ANONYMOUS_USER = "system:anonymous";
export const UNAUTHENTICATED_GROUP = "system:unauthenticated";
export const AUTHENTICATED_GROUP = "system:authenticated";

/** kube's anonymous authenticator: the user a request without credentials is. */
export const anonymousUser = (): UserInfo => ({ name: ANONYMOUS_USER, groups: [UNAUTHENTICATED_GROUP] });

/**
 * The paths kube's bootstrap ClusterRole system:public-info-viewer grants `get` on to every user,
 * anonymous ones included (its binding names system:authenticated and system:unauthenticated).
 */
const PUBLIC_INFO_PATHS = new Set(["/healthz", "/livez", "/readyz", "/version", "/version/"]);

export function isPublicInfoPath(path: string): boolean {
  return PUBLIC_INFO_PATHS.has(path);
}

/** system:public-info-viewer, as RBAC would evaluate it. */
export function publicInfoViewer(a: RequestAttributes): boolean {
  return !a.isResourceRequest && a.verb === "get" && isPublicInfoPath(a.path);
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

export interface ResourceRule {
  verbs: string[];
  apiGroups: string[];
  resources: string[];
  resourceNames?: string[];
}
export interface NonResourceRule {
  verbs: string[];
  nonResourceURLs: string[];
}

export interface Authorizer {
  authorize(a: RequestAttributes): { allowed: boolean; reason?: string };
  /** What a user may do in a namespace (kube: authorizer.RuleResolver), for SelfSubjectRulesReview. */
  rulesFor?(
    user: UserInfo,
    namespace: string,
  ): { resourceRules: ResourceRule[]; nonResourceRules: NonResourceRule[]; incomplete: boolean };
}

/**
 * Every authenticated user may do everything (until RBAC arrives); anonymous users get only what
 * system:public-info-viewer gives them.
 */
export const allowAll: Authorizer = {
  authorize: (a) => ({ allowed: a.user.groups.includes(AUTHENTICATED_GROUP) }),
  rulesFor: (user) =>
    user.groups.includes(AUTHENTICATED_GROUP)
      ? {
          resourceRules: [{ verbs: ["*"], apiGroups: ["*"], resources: ["*"] }],
          nonResourceRules: [{ verbs: ["*"], nonResourceURLs: ["*"] }],
          incomplete: false,
        }
      : { resourceRules: [], nonResourceRules: [], incomplete: false },
};

/** The user a request's credentials name; undefined when it has none or they are not valid. */
export type Authenticator = (req: IncomingMessage) => UserInfo | undefined;

/** A bearer token's user, or undefined (kube: authenticator.Token). */
export type TokenAuthenticator = (token: string) => UserInfo | undefined;

/** kube's union authenticator for tokens: the first that knows the token answers. */
export function unionTokens(...all: TokenAuthenticator[]): TokenAuthenticator {
  return (token) => {
    for (const a of all) {
      const u = a(token);
      if (u !== undefined) return u;
    }
    return undefined;
  };
}

/**
 * Whether the request carries credentials at all: a bearer token or a client certificate (one the
 * CA did not sign is a failed authentication, never anonymous, as kube's x509 authenticator).
 */
export function hasCredentials(req: IncomingMessage): boolean {
  if (req.headers.authorization !== undefined) return true;
  const socket = req.socket as Partial<TLSSocket>;
  if (socket.authorized === true) return true;
  if (typeof socket.getPeerCertificate !== "function") return false;
  return Object.keys(socket.getPeerCertificate() ?? {}).length > 0;
}

/** Static tokens (kube-apiserver's --token-auth-file). */
export const staticTokens =
  (tokens: ReadonlyMap<string, UserInfo>): TokenAuthenticator =>
  (token) =>
    tokens.get(token);

/** Client certificates and bearer tokens (a map of static tokens, or any token authenticator). */
export function authenticator(tokens: ReadonlyMap<string, UserInfo> | TokenAuthenticator): Authenticator {
  const byToken = typeof tokens === "function" ? tokens : staticTokens(tokens);
  const byConnection = new WeakMap<object, UserInfo>();
  return (req) => {
    const h = req.headers.authorization;
    if (h !== undefined) {
      const m = /^Bearer\s+(\S+)$/i.exec(h);
      // A wrong token is a 401 even if a certificate is also present, as kube-apiserver.
      return m === null ? undefined : byToken(m[1] as string);
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
          groups: [...(Array.isArray(o) ? o : o === undefined ? [] : [o]), AUTHENTICATED_GROUP],
        };
        byConnection.set(req.socket, user);
        return user;
      }
    }
    return undefined;
  };
}
