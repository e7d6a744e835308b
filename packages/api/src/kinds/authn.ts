/**
 * Create-only kinds that ask the API server a question and are never stored (kube: the
 * authentication.k8s.io and authorization.k8s.io groups): TokenReview and SelfSubjectReview (who
 * is this), SubjectAccessReview, SelfSubjectAccessReview and SelfSubjectRulesReview (may they).
 * The answer is the object sent, with its status filled in.
 */
import type { KindDef } from "../kind.js";
import { objectSchema } from "../meta.js";
import { any, bool, mapOf, obj, str, strings } from "../schema.js";
import { dns1123Subdomain } from "../validation.js";

const reviewBase = {
  version: "v1",
  namespaced: false,
  shortNames: [] as string[],
  categories: [] as string[],
  subresources: [] as KindDef["subresources"],
  nameRule: dns1123Subdomain,
  hasStatus: false,
  verbs: ["create"],
  table: { columns: [], cells: () => [] },
};

const userInfo = obj({ username: str(), uid: str(), groups: strings(), extra: mapOf(strings()) });

export const tokenReviewKind: KindDef = {
  ...reviewBase,
  group: "authentication.k8s.io",
  kind: "TokenReview",
  resource: "tokenreviews",
  singular: "tokenreview",
  description: "TokenReview attempts to authenticate a token to a known user.",
  schema: objectSchema("TokenReview attempts to authenticate a token to a known user.", {
    spec: obj({ token: str(), audiences: strings() }),
    status: obj({ authenticated: bool(), user: userInfo, audiences: strings(), error: str() }),
  }),
};

export const selfSubjectReviewKind: KindDef = {
  ...reviewBase,
  group: "authentication.k8s.io",
  kind: "SelfSubjectReview",
  resource: "selfsubjectreviews",
  singular: "selfsubjectreview",
  description:
    "SelfSubjectReview contains the user information that the kube-apiserver has about the user making this request.",
  schema: objectSchema("SelfSubjectReview: the user information the API server has about the requester.", {
    status: obj({ userInfo }),
  }),
};

const resourceAttributes = obj({
  namespace: str(),
  verb: str(),
  group: str(),
  version: str(),
  resource: str(),
  subresource: str(),
  name: str(),
  fieldSelector: any(),
  labelSelector: any(),
});
const nonResourceAttributes = obj({ path: str(), verb: str() });
const accessStatus = obj({ allowed: bool(), denied: bool(), reason: str(), evaluationError: str() });

export const subjectAccessReviewKind: KindDef = {
  ...reviewBase,
  group: "authorization.k8s.io",
  kind: "SubjectAccessReview",
  resource: "subjectaccessreviews",
  singular: "subjectaccessreview",
  description: "SubjectAccessReview checks whether or not a user or group can perform an action.",
  schema: objectSchema("SubjectAccessReview checks whether or not a user or group can perform an action.", {
    spec: obj({
      resourceAttributes,
      nonResourceAttributes,
      user: str(),
      groups: strings(),
      extra: mapOf(strings()),
      uid: str(),
    }),
    status: accessStatus,
  }),
};

export const selfSubjectAccessReviewKind: KindDef = {
  ...reviewBase,
  group: "authorization.k8s.io",
  kind: "SelfSubjectAccessReview",
  resource: "selfsubjectaccessreviews",
  singular: "selfsubjectaccessreview",
  description: "SelfSubjectAccessReview checks whether or the current user can perform an action.",
  schema: objectSchema("SelfSubjectAccessReview checks whether or the current user can perform an action.", {
    spec: obj({ resourceAttributes, nonResourceAttributes }),
    status: accessStatus,
  }),
};

export const selfSubjectRulesReviewKind: KindDef = {
  ...reviewBase,
  group: "authorization.k8s.io",
  kind: "SelfSubjectRulesReview",
  resource: "selfsubjectrulesreviews",
  singular: "selfsubjectrulesreview",
  description:
    "SelfSubjectRulesReview enumerates the set of actions the current user can perform within a namespace.",
  schema: objectSchema("SelfSubjectRulesReview enumerates what the current user can do in a namespace.", {
    spec: obj({ namespace: str() }),
    status: obj({
      resourceRules: any(),
      nonResourceRules: any(),
      incomplete: bool(),
      evaluationError: str(),
    }),
  }),
};

/** In discovery order: authentication.k8s.io, then authorization.k8s.io. */
export const reviewKinds: readonly KindDef[] = [
  tokenReviewKind,
  selfSubjectReviewKind,
  selfSubjectAccessReviewKind,
  selfSubjectRulesReviewKind,
  subjectAccessReviewKind,
];
