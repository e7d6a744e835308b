/**
 * One catalog of the errors the etcd v3 API returns, with etcd's exact gRPC codes and messages
 * (etcd v3.4 etcdserver/api/v3rpc/rpctypes/error.go). The messages matter byte for byte:
 * clientv3 turns a status back into a typed error by looking its message up in a table
 * (rpctypes.errStringToError), so etcdctl and Kubernetes' storage layer only recognise e.g. a
 * compaction if the text is identical. The catalog keys are Skiff's stable error codes.
 */
import { status as GrpcStatus, type ServiceError } from "@grpc/grpc-js";

interface CatalogEntry {
  readonly grpcCode: GrpcStatus;
  readonly message: string;
}

function entry(grpcCode: GrpcStatus, message: string): CatalogEntry {
  return { grpcCode, message };
}

const S = GrpcStatus;

/** Keyed by etcd's Go names without the ErrGRPC prefix (ErrGRPCCompacted -> Compacted). */
export const etcdErrorCatalog = {
  EmptyKey: entry(S.INVALID_ARGUMENT, "etcdserver: key is not provided"),
  KeyNotFound: entry(S.INVALID_ARGUMENT, "etcdserver: key not found"),
  ValueProvided: entry(S.INVALID_ARGUMENT, "etcdserver: value is provided"),
  LeaseProvided: entry(S.INVALID_ARGUMENT, "etcdserver: lease is provided"),
  TooManyOps: entry(S.INVALID_ARGUMENT, "etcdserver: too many operations in txn request"),
  DuplicateKey: entry(S.INVALID_ARGUMENT, "etcdserver: duplicate key given in txn request"),
  Compacted: entry(S.OUT_OF_RANGE, "etcdserver: mvcc: required revision has been compacted"),
  FutureRev: entry(S.OUT_OF_RANGE, "etcdserver: mvcc: required revision is a future revision"),
  NoSpace: entry(S.RESOURCE_EXHAUSTED, "etcdserver: mvcc: database space exceeded"),

  LeaseNotFound: entry(S.NOT_FOUND, "etcdserver: requested lease not found"),
  LeaseExist: entry(S.FAILED_PRECONDITION, "etcdserver: lease already exists"),
  LeaseTTLTooLarge: entry(S.OUT_OF_RANGE, "etcdserver: too large lease TTL"),

  WatchCanceled: entry(S.CANCELLED, "etcdserver: watch canceled"),

  MemberExist: entry(S.FAILED_PRECONDITION, "etcdserver: member ID already exist"),
  PeerURLExist: entry(S.FAILED_PRECONDITION, "etcdserver: Peer URLs already exists"),
  MemberNotEnoughStarted: entry(
    S.FAILED_PRECONDITION,
    "etcdserver: re-configuration failed due to not enough started members",
  ),
  MemberBadURLs: entry(S.INVALID_ARGUMENT, "etcdserver: given member URLs are invalid"),
  MemberNotFound: entry(S.NOT_FOUND, "etcdserver: member not found"),
  MemberNotLearner: entry(S.FAILED_PRECONDITION, "etcdserver: can only promote a learner member"),
  LearnerNotReady: entry(
    S.FAILED_PRECONDITION,
    "etcdserver: can only promote a learner member which is in sync with leader",
  ),
  TooManyLearners: entry(S.FAILED_PRECONDITION, "etcdserver: too many learner members in cluster"),

  RequestTooLarge: entry(S.INVALID_ARGUMENT, "etcdserver: request is too large"),
  RequestTooManyRequests: entry(S.RESOURCE_EXHAUSTED, "etcdserver: too many requests"),

  RootUserNotExist: entry(S.FAILED_PRECONDITION, "etcdserver: root user does not exist"),
  RootRoleNotExist: entry(S.FAILED_PRECONDITION, "etcdserver: root user does not have root role"),
  UserAlreadyExist: entry(S.FAILED_PRECONDITION, "etcdserver: user name already exists"),
  UserEmpty: entry(S.INVALID_ARGUMENT, "etcdserver: user name is empty"),
  UserNotFound: entry(S.FAILED_PRECONDITION, "etcdserver: user name not found"),
  RoleAlreadyExist: entry(S.FAILED_PRECONDITION, "etcdserver: role name already exists"),
  RoleNotFound: entry(S.FAILED_PRECONDITION, "etcdserver: role name not found"),
  RoleEmpty: entry(S.INVALID_ARGUMENT, "etcdserver: role name is empty"),
  AuthFailed: entry(S.INVALID_ARGUMENT, "etcdserver: authentication failed, invalid user ID or password"),
  PermissionDenied: entry(S.PERMISSION_DENIED, "etcdserver: permission denied"),
  RoleNotGranted: entry(S.FAILED_PRECONDITION, "etcdserver: role is not granted to the user"),
  PermissionNotGranted: entry(S.FAILED_PRECONDITION, "etcdserver: permission is not granted to the role"),
  AuthNotEnabled: entry(S.FAILED_PRECONDITION, "etcdserver: authentication is not enabled"),
  InvalidAuthToken: entry(S.UNAUTHENTICATED, "etcdserver: invalid auth token"),
  InvalidAuthMgmt: entry(S.INVALID_ARGUMENT, "etcdserver: invalid auth management"),
  AuthOldRevision: entry(S.INVALID_ARGUMENT, "etcdserver: revision of auth store is old"),

  NoLeader: entry(S.UNAVAILABLE, "etcdserver: no leader"),
  NotLeader: entry(S.FAILED_PRECONDITION, "etcdserver: not leader"),
  LeaderChanged: entry(S.UNAVAILABLE, "etcdserver: leader changed"),
  NotCapable: entry(S.UNAVAILABLE, "etcdserver: not capable"),
  Stopped: entry(S.UNAVAILABLE, "etcdserver: server stopped"),
  Timeout: entry(S.UNAVAILABLE, "etcdserver: request timed out"),
  TimeoutDueToLeaderFail: entry(
    S.UNAVAILABLE,
    "etcdserver: request timed out, possibly due to previous leader failure",
  ),
  TimeoutDueToConnectionLost: entry(
    S.UNAVAILABLE,
    "etcdserver: request timed out, possibly due to connection lost",
  ),
  TimeoutWaitAppliedIndex: entry(
    S.UNAVAILABLE,
    "etcdserver: request timed out, waiting for the applied index took too long",
  ),
  Unhealthy: entry(S.UNAVAILABLE, "etcdserver: unhealthy cluster"),
  Corrupt: entry(S.DATA_LOSS, "etcdserver: corrupt cluster"),
  NotSupportedForLearner: entry(S.UNAVAILABLE, "etcdserver: rpc not supported for learner"),
  BadLeaderTransferee: entry(S.FAILED_PRECONDITION, "etcdserver: bad leader transferee"),
} as const satisfies Record<string, CatalogEntry>;

export type EtcdErrorCode = keyof typeof etcdErrorCatalog;

/**
 * The error a backend throws to answer with one of etcd's errors. Anything else thrown becomes
 * UNKNOWN with the error's message, as etcd's togRPCError does for errors it does not know.
 */
export class EtcdError extends Error {
  readonly code: EtcdErrorCode;
  constructor(code: EtcdErrorCode) {
    super(etcdErrorCatalog[code].message);
    this.name = "EtcdError";
    this.code = code;
  }
}

/** A gRPC status for a method the backend does not serve (etcd answers UNIMPLEMENTED too). */
export class UnimplementedError extends Error {
  constructor(method: string) {
    super(`skiff: ${method} is not implemented`);
    this.name = "UnimplementedError";
  }
}

/** Maps a thrown value to the status object grpc-js sends (code + grpc-message). */
export function toGrpcStatus(err: unknown): Partial<ServiceError> & { code: GrpcStatus; details: string } {
  if (err instanceof EtcdError) {
    const e = etcdErrorCatalog[err.code];
    return { code: e.grpcCode, details: e.message, message: e.message };
  }
  if (err instanceof UnimplementedError) {
    return { code: S.UNIMPLEMENTED, details: err.message, message: err.message };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { code: S.UNKNOWN, details: message, message };
}

/** The catalog entry whose message equals a received status message (rpctypes.Error's lookup). */
export function etcdErrorCodeOf(message: string): EtcdErrorCode | undefined {
  for (const [code, e] of Object.entries(etcdErrorCatalog)) {
    if (e.message === message) return code as EtcdErrorCode;
  }
  return undefined;
}

/**
 * Ends a server stream (Watch, LeaseKeepAlive, Snapshot) with an etcd status. grpc-js turns an
 * emitted 'error' into the trailing status, but only reads a numeric `code`, so convert first.
 */
export function failStream(call: { emit(event: "error", err: unknown): boolean }, err: unknown): void {
  call.emit("error", toGrpcStatus(err));
}
