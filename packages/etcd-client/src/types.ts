/**
 * Plain-object shapes of the etcd v3 messages as @grpc/proto-loader hands them over with the
 * options in proto.ts: field names exactly as in rpc.proto (keepCase), int64/uint64 as decimal
 * strings (longs: String keeps all 64 bits; member and lease ids use the full range), bytes as
 * Buffer, enums as their numbers (the wire values etcd's Go code compares against).
 *
 * Requests arrive fully defaulted (defaults: true), so request fields are not optional.
 * Responses are encoded with protobufjs fromObject, which accepts numbers or strings for int64
 * and treats a missing field as its zero value, so most response fields are optional.
 */

/** A decoded int64/uint64: a decimal string. */
export type Int64 = string;
/** What a backend may return for an int64/uint64: a decimal string, or a number below 2^53. */
export type Int64Like = string | number;

export interface ResponseHeader {
  cluster_id?: Int64Like;
  member_id?: Int64Like;
  revision?: Int64Like;
  raft_term?: Int64Like;
}

export interface KeyValue {
  key: Buffer;
  create_revision?: Int64Like;
  mod_revision?: Int64Like;
  version?: Int64Like;
  value?: Buffer;
  lease?: Int64Like;
}

/** mvccpb.Event.EventType */
export const EventType = { PUT: 0, DELETE: 1 } as const;

export interface Event {
  type: number;
  kv?: KeyValue;
  prev_kv?: KeyValue;
}

/** RangeRequest.SortOrder and SortTarget */
export const SortOrder = { NONE: 0, ASCEND: 1, DESCEND: 2 } as const;
export const SortTarget = { KEY: 0, VERSION: 1, CREATE: 2, MOD: 3, VALUE: 4 } as const;

export interface RangeRequest {
  key: Buffer;
  range_end: Buffer;
  limit: Int64;
  revision: Int64;
  sort_order: number;
  sort_target: number;
  serializable: boolean;
  keys_only: boolean;
  count_only: boolean;
  min_mod_revision: Int64;
  max_mod_revision: Int64;
  min_create_revision: Int64;
  max_create_revision: Int64;
}
export interface RangeResponse {
  header: ResponseHeader;
  kvs?: KeyValue[];
  more?: boolean;
  count?: Int64Like;
}

export interface PutRequest {
  key: Buffer;
  value: Buffer;
  lease: Int64;
  prev_kv: boolean;
  ignore_value: boolean;
  ignore_lease: boolean;
}
export interface PutResponse {
  header: ResponseHeader;
  prev_kv?: KeyValue | null;
}

export interface DeleteRangeRequest {
  key: Buffer;
  range_end: Buffer;
  prev_kv: boolean;
}
export interface DeleteRangeResponse {
  header: ResponseHeader;
  deleted?: Int64Like;
  prev_kvs?: KeyValue[];
}

/** One operation of a Txn; `request` names the oneof member that is set (oneofs: true). */
export interface RequestOp {
  request?: "request_range" | "request_put" | "request_delete_range" | "request_txn";
  request_range?: RangeRequest;
  request_put?: PutRequest;
  request_delete_range?: DeleteRangeRequest;
  request_txn?: TxnRequest;
}
export interface ResponseOp {
  response_range?: RangeResponse;
  response_put?: PutResponse;
  response_delete_range?: DeleteRangeResponse;
  response_txn?: TxnResponse;
}

/** Compare.CompareResult and CompareTarget */
export const CompareResult = { EQUAL: 0, GREATER: 1, LESS: 2, NOT_EQUAL: 3 } as const;
export const CompareTarget = { VERSION: 0, CREATE: 1, MOD: 2, VALUE: 3, LEASE: 4 } as const;

export interface Compare {
  result: number;
  target: number;
  key: Buffer;
  target_union?: "version" | "create_revision" | "mod_revision" | "value" | "lease";
  version?: Int64;
  create_revision?: Int64;
  mod_revision?: Int64;
  value?: Buffer;
  lease?: Int64;
  range_end: Buffer;
}
export interface TxnRequest {
  compare: Compare[];
  success: RequestOp[];
  failure: RequestOp[];
}
export interface TxnResponse {
  header: ResponseHeader;
  succeeded?: boolean;
  responses?: ResponseOp[];
}

export interface CompactionRequest {
  revision: Int64;
  physical: boolean;
}
export interface HeaderOnlyResponse {
  header: ResponseHeader;
}

/** WatchCreateRequest.FilterType */
export const WatchFilterType = { NOPUT: 0, NODELETE: 1 } as const;

export interface WatchCreateRequest {
  key: Buffer;
  range_end: Buffer;
  start_revision: Int64;
  progress_notify: boolean;
  filters: number[];
  prev_kv: boolean;
  watch_id: Int64;
  fragment: boolean;
}
export interface WatchRequest {
  request_union?: "create_request" | "cancel_request" | "progress_request";
  create_request?: WatchCreateRequest;
  cancel_request?: { watch_id: Int64 };
  progress_request?: Record<string, never>;
}
export interface WatchResponse {
  header: ResponseHeader;
  watch_id?: Int64Like;
  created?: boolean;
  canceled?: boolean;
  compact_revision?: Int64Like;
  cancel_reason?: string;
  fragment?: boolean;
  events?: Event[];
}

export interface LeaseGrantRequest {
  TTL: Int64;
  ID: Int64;
}
export interface LeaseGrantResponse {
  header: ResponseHeader;
  ID?: Int64Like;
  TTL?: Int64Like;
  error?: string;
}
export interface LeaseIdRequest {
  ID: Int64;
}
export interface LeaseKeepAliveResponse {
  header: ResponseHeader;
  ID?: Int64Like;
  TTL?: Int64Like;
}
export interface LeaseTimeToLiveRequest {
  ID: Int64;
  keys: boolean;
}
export interface LeaseTimeToLiveResponse {
  header: ResponseHeader;
  ID?: Int64Like;
  TTL?: Int64Like;
  grantedTTL?: Int64Like;
  keys?: Buffer[];
}
export interface LeaseLeasesResponse {
  header: ResponseHeader;
  leases?: { ID: Int64Like }[];
}

export interface Member {
  ID: Int64Like;
  name?: string;
  peerURLs?: string[];
  clientURLs?: string[];
  isLearner?: boolean;
}
export interface MemberAddRequest {
  peerURLs: string[];
  isLearner: boolean;
}
export interface MemberAddResponse {
  header: ResponseHeader;
  member?: Member;
  members?: Member[];
}
export interface MemberIdRequest {
  ID: Int64;
}
export interface MemberUpdateRequest {
  ID: Int64;
  peerURLs: string[];
}
export interface MembersResponse {
  header: ResponseHeader;
  members?: Member[];
}

/** AlarmType and AlarmRequest.AlarmAction */
export const AlarmType = { NONE: 0, NOSPACE: 1, CORRUPT: 2 } as const;
export const AlarmAction = { GET: 0, ACTIVATE: 1, DEACTIVATE: 2 } as const;

export interface AlarmRequest {
  action: number;
  memberID: Int64;
  alarm: number;
}
export interface AlarmResponse {
  header: ResponseHeader;
  alarms?: { memberID: Int64Like; alarm: number }[];
}
export interface StatusResponse {
  header: ResponseHeader;
  version?: string;
  dbSize?: Int64Like;
  leader?: Int64Like;
  raftIndex?: Int64Like;
  raftTerm?: Int64Like;
  raftAppliedIndex?: Int64Like;
  errors?: string[];
  dbSizeInUse?: Int64Like;
  isLearner?: boolean;
}
export interface HashResponse {
  header: ResponseHeader;
  hash?: number;
}
export interface HashKVResponse {
  header: ResponseHeader;
  hash?: number;
  compact_revision?: Int64Like;
}
export interface SnapshotResponse {
  header: ResponseHeader;
  remaining_bytes?: Int64Like;
  blob?: Buffer;
}

/** The empty request messages (StatusRequest, MemberListRequest, ...). */
export type Empty = Record<string, never>;
