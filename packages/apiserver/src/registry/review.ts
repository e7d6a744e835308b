/**
 * The storage of the create-only review kinds (kube: the rest.Creater of tokenreviews,
 * selfsubjectreviews, subjectaccessreviews, selfsubjectaccessreviews, selfsubjectrulesreviews):
 * a POST is answered with the object and its status, 201, and nothing is stored. Every other
 * verb is a 405. Who is asking comes from the request; may they, from the authorizer.
 */
import type { KindDef, KubeObject } from "@skiff/api";
import { type FieldError, invalid } from "@skiff/api";
import {
  AUTHENTICATED_GROUP,
  type Authorizer,
  publicInfoViewer,
  type RequestAttributes,
  type TokenAuthenticator,
  type UserInfo,
} from "../auth.js";
import type { ServiceAccountTokens } from "../serviceaccount/tokens.js";
import { badRequest, invalidObject, methodNotAllowed } from "../status.js";
import type { ResourceStorage } from "./store.js";

type Json = Record<string, unknown>;

export interface ReviewContext {
  user: UserInfo | undefined;
  authorizer: Authorizer;
  tokens: ServiceAccountTokens;
  /** Audience-agnostic token authenticators (static tokens). */
  otherTokens?: TokenAuthenticator | undefined;
}

/**
 * kube's TokenReview: ServiceAccount tokens for the audiences asked for (default the API's);
 * audience-agnostic tokens (static ones) only when those audiences include an API audience
 * (kube: WrapAudienceAgnosticToken), which are then the audiences answered.
 */
function reviewToken(token: string, asked: string[] | undefined, c: ReviewContext): Json {
  const sa = c.tokens.authenticate(token, asked);
  if (sa !== undefined) return { authenticated: true, user: userInfoOf(sa.user), audiences: sa.audiences };
  const api = c.tokens.apiAudiences;
  const audiences = asked === undefined ? [...api] : asked.filter((a) => api.includes(a));
  const other = audiences.length > 0 ? c.otherTokens?.(token) : undefined;
  if (other === undefined)
    return { user: {}, error: "[invalid bearer token, service account token is not valid]" };
  const groups = other.groups.includes(AUTHENTICATED_GROUP)
    ? other.groups
    : [...other.groups, AUTHENTICATED_GROUP];
  return { authenticated: true, user: userInfoOf({ ...other, groups }), audiences };
}

const userInfoOf = (u: UserInfo): Json => ({
  username: u.name,
  ...(u.uid ? { uid: u.uid } : {}),
  groups: u.groups,
  ...(u.extra && Object.keys(u.extra).length > 0 ? { extra: u.extra } : {}),
});

/** kube's validation of a SubjectAccessReviewSpec (ValidateSubjectAccessReviewSpec). */
function checkAccessSpec(k: KindDef, spec: Json, needsSubject: boolean): void {
  const errs: FieldError[] = [];
  const hasRes = spec.resourceAttributes != null;
  const hasNonRes = spec.nonResourceAttributes != null;
  if (hasRes && hasNonRes)
    errs.push(
      invalid(
        "spec.nonResourceAttributes",
        spec.nonResourceAttributes,
        "cannot be specified in combination with resourceAttributes",
      ),
    );
  if (!hasRes && !hasNonRes)
    errs.push(
      invalid(
        "spec.resourceAttributes",
        null,
        "exactly one of nonResourceAttributes or resourceAttributes must be specified",
      ),
    );
  if (needsSubject && !spec.user && !(Array.isArray(spec.groups) && spec.groups.length > 0))
    errs.push(invalid("spec.user", spec.user ?? "", "at least one of user or group must be specified"));
  if (errs.length > 0) throw invalidObject({ kind: `${k.kind}.${k.group}`, group: k.group }, "", errs);
}

/** The authorizer's attributes for an access review's spec. */
function attributesOfSpec(spec: Json, user: UserInfo): RequestAttributes {
  const r = spec.resourceAttributes as Json | undefined;
  const n = (spec.nonResourceAttributes ?? {}) as Json;
  const s = (v: unknown) => (typeof v === "string" ? v : "");
  if (r != null)
    return {
      user,
      verb: s(r.verb),
      isResourceRequest: true,
      group: s(r.group),
      version: s(r.version),
      resource: s(r.resource),
      subresource: s(r.subresource) || undefined,
      namespace: s(r.namespace) || undefined,
      name: s(r.name) || undefined,
      path: "",
    };
  return {
    user,
    verb: s(n.verb),
    isResourceRequest: false,
    group: "",
    version: "",
    resource: "",
    subresource: undefined,
    namespace: undefined,
    name: undefined,
    path: s(n.path),
  };
}

function decide(a: RequestAttributes, authorizer: Authorizer): Json {
  if (publicInfoViewer(a)) return { allowed: true };
  const d = authorizer.authorize(a);
  return { allowed: d.allowed, ...(d.reason ? { reason: d.reason } : {}) };
}

export class ReviewStorage implements ResourceStorage {
  readonly collectionDeleter = false;

  constructor(readonly kind: KindDef) {}

  async create(): Promise<KubeObject> {
    throw methodNotAllowed();
  }
  async update(): Promise<KubeObject> {
    throw methodNotAllowed();
  }
  async delete(): Promise<KubeObject> {
    throw methodNotAllowed();
  }

  /** The object sent, answered. */
  review(obj: KubeObject, c: ReviewContext): KubeObject {
    if (c.user === undefined) throw new Error("a review needs an authenticated user");
    const spec = ((obj.spec ?? {}) as Json) ?? {};
    obj.metadata = { ...obj.metadata, creationTimestamp: null } as unknown as KubeObject["metadata"];
    switch (this.kind.kind) {
      case "SelfSubjectReview":
        obj.status = { userInfo: userInfoOf(c.user) };
        return obj;
      case "TokenReview": {
        if (typeof spec.token !== "string" || spec.token === "")
          throw badRequest("token is required for TokenReview in authentication.k8s.io/v1");
        const auds =
          Array.isArray(spec.audiences) && spec.audiences.length > 0
            ? (spec.audiences as string[])
            : undefined;
        obj.status = reviewToken(spec.token, auds, c);
        return obj;
      }
      case "SelfSubjectAccessReview":
        checkAccessSpec(this.kind, spec, false);
        obj.status = decide(attributesOfSpec(spec, c.user), c.authorizer);
        return obj;
      case "SubjectAccessReview": {
        checkAccessSpec(this.kind, spec, true);
        const subject: UserInfo = {
          name: typeof spec.user === "string" ? spec.user : "",
          groups: Array.isArray(spec.groups) ? (spec.groups as string[]) : [],
          ...(typeof spec.uid === "string" ? { uid: spec.uid } : {}),
          ...(spec.extra ? { extra: spec.extra as Record<string, string[]> } : {}),
        };
        obj.status = decide(attributesOfSpec(spec, subject), c.authorizer);
        return obj;
      }
      case "SelfSubjectRulesReview": {
        if (typeof spec.namespace !== "string" || spec.namespace === "")
          throw badRequest("no namespace on request");
        obj.status = rulesOf(c.user, spec.namespace, c.authorizer);
        return obj;
      }
    }
    throw methodNotAllowed();
  }
}

/** What the user may do in a namespace, as rules (kube: the authorizer's RulesFor). */
function rulesOf(user: UserInfo, namespace: string, authorizer: Authorizer): Json {
  const publicInfo = {
    verbs: ["get"],
    nonResourceURLs: ["/healthz", "/livez", "/readyz", "/version", "/version/"],
  };
  const given = authorizer.rulesFor?.(user, namespace) ?? {
    resourceRules: [],
    nonResourceRules: [],
    incomplete: true,
  };
  return {
    resourceRules: given.resourceRules,
    nonResourceRules: [...given.nonResourceRules, publicInfo],
    incomplete: given.incomplete,
  };
}
