/**
 * The request and response shapes of etcd's api/etcdserverpb/rpc.proto and mvccpb.KeyValue, with
 * proto field names (snake_case) so the gRPC layer (proto-loader, keepCase) maps them 1:1.
 * Revisions are numbers (2^53 revisions is far beyond any store's life); lease ids are bigint
 * because etcd lease ids are arbitrary int64. Enums are proto enum names (proto-loader enums: String).
 */

export interface KeyValue {
  key: Uint8Array;
  create_revision: number;
  mod_revision: number;
  /** Number of puts since creation; 0 only in a DELETE event's kv. */
  version: number;
  value: Uint8Array;
  /** 0n: no lease. */
  lease: bigint;
}

export interface ResponseHeader {
  /** The store revision the response reflects (the cluster/member ids are the server's). */
  revision: number;
}

export type SortOrder = "NONE" | "ASCEND" | "DESCEND";
export type SortTarget = "KEY" | "VERSION" | "CREATE" | "MOD" | "VALUE";

export interface RangeRequest {
  key: Uint8Array;
  range_end?: Uint8Array;
  limit?: number;
  revision?: number;
  sort_order?: SortOrder;
  sort_target?: SortTarget;
  serializable?: boolean;
  keys_only?: boolean;
  count_only?: boolean;
  min_mod_revision?: number;
  max_mod_revision?: number;
  min_create_revision?: number;
  max_create_revision?: number;
}

export interface RangeResponse {
  header: ResponseHeader;
  kvs: KeyValue[];
  more: boolean;
  count: number;
}

export interface PutRequest {
  key: Uint8Array;
  value?: Uint8Array;
  lease?: bigint;
  prev_kv?: boolean;
  ignore_value?: boolean;
  ignore_lease?: boolean;
}

export interface PutResponse {
  header: ResponseHeader;
  prev_kv?: KeyValue;
}

export interface DeleteRangeRequest {
  key: Uint8Array;
  range_end?: Uint8Array;
  prev_kv?: boolean;
}

export interface DeleteRangeResponse {
  header: ResponseHeader;
  deleted: number;
  prev_kvs: KeyValue[];
}

export type CompareResult = "EQUAL" | "GREATER" | "LESS" | "NOT_EQUAL";
export type CompareTarget = "VERSION" | "CREATE" | "MOD" | "VALUE" | "LEASE";

export interface Compare {
  result: CompareResult;
  target: CompareTarget;
  key: Uint8Array;
  range_end?: Uint8Array;
  // The proto's target_union: the field matching `target` is read, a missing one is zero.
  version?: number;
  create_revision?: number;
  mod_revision?: number;
  value?: Uint8Array;
  lease?: bigint;
}

export type RequestOp =
  | { request_range: RangeRequest }
  | { request_put: PutRequest }
  | { request_delete_range: DeleteRangeRequest }
  | { request_txn: TxnRequest };

export type ResponseOp =
  | { response_range: RangeResponse }
  | { response_put: PutResponse }
  | { response_delete_range: DeleteRangeResponse }
  | { response_txn: TxnResponse };

export interface TxnRequest {
  compare?: Compare[];
  success?: RequestOp[];
  failure?: RequestOp[];
}

export interface TxnResponse {
  header: ResponseHeader;
  succeeded: boolean;
  responses: ResponseOp[];
}

export interface CompactionResponse {
  header: ResponseHeader;
}

export type EventType = "PUT" | "DELETE";

/** mvccpb.Event. A DELETE's kv is {key, mod_revision} with the other fields zero, as etcd sends it. */
export interface Event {
  type: EventType;
  kv: KeyValue;
  prev_kv?: KeyValue;
}
