/**
 * Kinds of the scheduler/kubelet set that kubectl's typed commands send as protobuf:
 * scheduling.k8s.io/v1 PriorityClass (`kubectl create priorityclass`) and certificates.k8s.io/v1
 * CertificateSigningRequest (`kubectl certificate approve|deny` PUTs it to /approval). Field
 * numbers from upstream scheduling/v1 and certificates/v1 generated.proto.
 */
import { ObjectMeta } from "./descriptors-meta.js";
import { list, msg } from "./dsl.js";

export const PriorityClass = msg("scheduling.v1.PriorityClass", {
  metadata: [1, ObjectMeta],
  value: [2, "int32", "ptr"],
  globalDefault: [3, "bool"],
  description: [4, "string"],
  preemptionPolicy: [5, "string", "ptr"],
});

const CertificateSigningRequestSpec = msg(
  "certificates.v1.CertificateSigningRequestSpec",
  {
    request: [1, "bytes"],
    username: [2, "string"],
    uid: [3, "string"],
    groups: [4, list("string")],
    usages: [5, list("string")],
    signerName: [7, "string"],
    expirationSeconds: [8, "int32", "ptr"],
  },
  // extra (6, a map of ExtraValue) is the server's to fill from the requesting user.
  { skipUnknown: true },
);

const CertificateSigningRequestCondition = msg("certificates.v1.CertificateSigningRequestCondition", {
  type: [1, "string"],
  reason: [2, "string"],
  message: [3, "string"],
  lastUpdateTime: [4, "time"],
  lastTransitionTime: [5, "time"],
  status: [6, "string"],
});

export const CertificateSigningRequest = msg("certificates.v1.CertificateSigningRequest", {
  metadata: [1, ObjectMeta],
  spec: [2, CertificateSigningRequestSpec],
  status: [
    3,
    msg("certificates.v1.CertificateSigningRequestStatus", {
      conditions: [1, list(CertificateSigningRequestCondition)],
      certificate: [2, "bytes"],
    }),
  ],
});
