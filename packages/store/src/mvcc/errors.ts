/**
 * Errors of the MVCC core. `message` is etcd's exact text (server/mvcc/kvstore.go,
 * etcdserver/errors.go, api/v3rpc/rpctypes/error.go), because clients such as client-go match on it;
 * `code` is a stable name for the gRPC layer to map to a status code.
 */
export const MVCC_ERRORS = {
  compacted: "mvcc: required revision has been compacted",
  futureRev: "mvcc: required revision is a future revision",
  keyNotFound: "etcdserver: key not found",
  emptyKey: "etcdserver: key is not provided",
  valueProvided: "etcdserver: value is provided",
  leaseProvided: "etcdserver: lease is provided",
  tooManyOps: "etcdserver: too many operations in txn request",
  duplicateKey: "etcdserver: duplicate key given in txn request",
  leaseNotFound: "etcdserver: requested lease not found",
} as const;

export type MvccErrorCode = keyof typeof MVCC_ERRORS;

export class MvccError extends Error {
  readonly code: MvccErrorCode;
  constructor(code: MvccErrorCode) {
    super(MVCC_ERRORS[code]);
    this.name = "MvccError";
    this.code = code;
  }
}
