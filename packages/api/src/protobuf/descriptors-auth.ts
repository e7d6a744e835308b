/**
 * authentication.k8s.io/v1 and authorization.k8s.io/v1 request kinds kubectl sends as protobuf
 * (`create token`, `auth whoami`, `auth can-i`); field numbers from upstream generated.proto.
 * Statuses are skipped when unknown: clients send them empty.
 */

import { ObjectMeta } from "./descriptors-meta.js";
import { list, msg } from "./dsl.js";

const UserInfo = msg(
  "authentication.v1.UserInfo",
  { username: [1, "string"], uid: [2, "string"], groups: [3, list("string")] },
  { skipUnknown: true },
);

const BoundObjectReference = msg("authentication.v1.BoundObjectReference", {
  kind: [1, "string"],
  apiVersion: [2, "string"],
  name: [3, "string"],
  uid: [4, "string"],
});

export const TokenRequest = msg("authentication.v1.TokenRequest", {
  metadata: [1, ObjectMeta],
  spec: [
    2,
    msg("authentication.v1.TokenRequestSpec", {
      audiences: [1, list("string")],
      boundObjectRef: [3, BoundObjectReference],
      expirationSeconds: [4, "int64", "ptr"],
    }),
  ],
  status: [
    3,
    msg(
      "authentication.v1.TokenRequestStatus",
      { token: [1, "string"], expirationTimestamp: [2, "time"] },
      { skipUnknown: true },
    ),
  ],
});

export const TokenReview = msg("authentication.v1.TokenReview", {
  metadata: [1, ObjectMeta],
  spec: [
    2,
    msg("authentication.v1.TokenReviewSpec", { token: [1, "string"], audiences: [2, list("string")] }),
  ],
  status: [
    3,
    msg(
      "authentication.v1.TokenReviewStatus",
      {
        authenticated: [1, "bool"],
        user: [2, UserInfo],
        error: [3, "string"],
        audiences: [4, list("string")],
      },
      { skipUnknown: true },
    ),
  ],
});

export const SelfSubjectReview = msg("authentication.v1.SelfSubjectReview", {
  metadata: [1, ObjectMeta],
  status: [
    2,
    msg("authentication.v1.SelfSubjectReviewStatus", { userInfo: [1, UserInfo] }, { skipUnknown: true }),
  ],
});

const ResourceAttributes = msg(
  "authorization.v1.ResourceAttributes",
  {
    namespace: [1, "string"],
    verb: [2, "string"],
    group: [3, "string"],
    version: [4, "string"],
    resource: [5, "string"],
    subresource: [6, "string"],
    name: [7, "string"],
  },
  { skipUnknown: true },
);
const NonResourceAttributes = msg("authorization.v1.NonResourceAttributes", {
  path: [1, "string"],
  verb: [2, "string"],
});
const AccessStatus = msg(
  "authorization.v1.SubjectAccessReviewStatus",
  { allowed: [1, "bool"], reason: [2, "string"], evaluationError: [3, "string"], denied: [4, "bool"] },
  { skipUnknown: true },
);

export const SelfSubjectAccessReview = msg("authorization.v1.SelfSubjectAccessReview", {
  metadata: [1, ObjectMeta],
  spec: [
    2,
    msg("authorization.v1.SelfSubjectAccessReviewSpec", {
      resourceAttributes: [1, ResourceAttributes],
      nonResourceAttributes: [2, NonResourceAttributes],
    }),
  ],
  status: [3, AccessStatus],
});

export const SubjectAccessReview = msg("authorization.v1.SubjectAccessReview", {
  metadata: [1, ObjectMeta],
  spec: [
    2,
    msg(
      "authorization.v1.SubjectAccessReviewSpec",
      {
        resourceAttributes: [1, ResourceAttributes],
        nonResourceAttributes: [2, NonResourceAttributes],
        user: [3, "string"],
        groups: [4, list("string")],
        uid: [6, "string"],
      },
      { skipUnknown: true },
    ),
  ],
  status: [3, AccessStatus],
});

export const SelfSubjectRulesReview = msg("authorization.v1.SelfSubjectRulesReview", {
  metadata: [1, ObjectMeta],
  spec: [2, msg("authorization.v1.SelfSubjectRulesReviewSpec", { namespace: [1, "string"] })],
  status: [3, msg("authorization.v1.SubjectRulesReviewStatus", {}, { skipUnknown: true })],
});
