/**
 * Between the gRPC layer's plain objects (proto-loader: bytes as Buffer, int64 as decimal strings,
 * enums as numbers) and the MVCC store's (Uint8Array, numbers, bigint lease ids, enum names).
 */
import type * as g from "@skiff/etcd-client";
import type * as m from "../mvcc/types.js";

const sortOrders = ["NONE", "ASCEND", "DESCEND"] as const;
const sortTargets = ["KEY", "VERSION", "CREATE", "MOD", "VALUE"] as const;
const compareResults = ["EQUAL", "GREATER", "LESS", "NOT_EQUAL"] as const;
const compareTargets = ["VERSION", "CREATE", "MOD", "VALUE", "LEASE"] as const;

const num = (s: g.Int64 | undefined): number => (s === undefined || s === "" ? 0 : Number(s));
const big = (s: g.Int64 | undefined): bigint => (s === undefined || s === "" ? 0n : BigInt(s));
const bytes = (b: Buffer | undefined): Uint8Array | undefined =>
  b === undefined || b.length === 0 ? undefined : b;

/** An int64 for a response: a number below 2^53, else its decimal string. */
export function int64(v: number | bigint): g.Int64Like {
  return typeof v === "bigint" ? v.toString() : v;
}

export function rangeIn(r: g.RangeRequest): m.RangeRequest {
  return {
    key: r.key,
    range_end: bytes(r.range_end),
    limit: num(r.limit),
    revision: num(r.revision),
    sort_order: sortOrders[r.sort_order] ?? "NONE",
    sort_target: sortTargets[r.sort_target] ?? "KEY",
    serializable: r.serializable,
    keys_only: r.keys_only,
    count_only: r.count_only,
    min_mod_revision: num(r.min_mod_revision),
    max_mod_revision: num(r.max_mod_revision),
    min_create_revision: num(r.min_create_revision),
    max_create_revision: num(r.max_create_revision),
  };
}

export function putIn(r: g.PutRequest): m.PutRequest {
  return {
    key: r.key,
    value: r.value,
    lease: big(r.lease),
    prev_kv: r.prev_kv,
    ignore_value: r.ignore_value,
    ignore_lease: r.ignore_lease,
  };
}

export function deleteIn(r: g.DeleteRangeRequest): m.DeleteRangeRequest {
  return { key: r.key, range_end: bytes(r.range_end), prev_kv: r.prev_kv };
}

function compareIn(c: g.Compare): m.Compare {
  return {
    result: compareResults[c.result] ?? "EQUAL",
    target: compareTargets[c.target] ?? "VERSION",
    key: c.key,
    range_end: bytes(c.range_end),
    version: num(c.version),
    create_revision: num(c.create_revision),
    mod_revision: num(c.mod_revision),
    value: c.value ?? new Uint8Array(0),
    lease: big(c.lease),
  };
}

function opIn(op: g.RequestOp): m.RequestOp {
  if (op.request_range !== undefined && (op.request === undefined || op.request === "request_range"))
    return { request_range: rangeIn(op.request_range) };
  if (op.request_put !== undefined && (op.request === undefined || op.request === "request_put"))
    return { request_put: putIn(op.request_put) };
  if (
    op.request_delete_range !== undefined &&
    (op.request === undefined || op.request === "request_delete_range")
  )
    return { request_delete_range: deleteIn(op.request_delete_range) };
  if (op.request_txn !== undefined) return { request_txn: txnIn(op.request_txn) };
  // An empty RequestOp: etcd treats it as a no-op range of nothing; keep it as an empty range.
  return { request_range: { key: new Uint8Array(0) } };
}

export function txnIn(t: g.TxnRequest): m.TxnRequest {
  return {
    compare: (t.compare ?? []).map(compareIn),
    success: (t.success ?? []).map(opIn),
    failure: (t.failure ?? []).map(opIn),
  };
}

/** The response header: the member's ids and term with the store revision. */
export interface HeaderFields {
  cluster_id: g.Int64Like;
  member_id: g.Int64Like;
  raft_term: g.Int64Like;
}

export function header(h: HeaderFields, revision: number): g.ResponseHeader {
  return { ...h, revision };
}

/** A Buffer view of the same bytes (no copy: responses are built for every watcher). */
function view(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

export function kvOut(kv: m.KeyValue): g.KeyValue {
  return {
    key: view(kv.key),
    create_revision: kv.create_revision,
    mod_revision: kv.mod_revision,
    version: kv.version,
    value: view(kv.value),
    lease: int64(kv.lease),
  };
}

export function rangeOut(h: HeaderFields, r: m.RangeResponse): g.RangeResponse {
  return { header: header(h, r.header.revision), kvs: r.kvs.map(kvOut), more: r.more, count: r.count };
}

export function putOut(h: HeaderFields, r: m.PutResponse): g.PutResponse {
  return r.prev_kv === undefined
    ? { header: header(h, r.header.revision) }
    : { header: header(h, r.header.revision), prev_kv: kvOut(r.prev_kv) };
}

export function deleteOut(h: HeaderFields, r: m.DeleteRangeResponse): g.DeleteRangeResponse {
  return { header: header(h, r.header.revision), deleted: r.deleted, prev_kvs: r.prev_kvs.map(kvOut) };
}

/**
 * A response nested in a Txn: etcd fills only the top-level header with the member's ids and term
 * (v3rpc's header.fill); nested ones carry their revision alone.
 */
const nested: HeaderFields = { cluster_id: 0, member_id: 0, raft_term: 0 };

function opOut(op: m.ResponseOp): g.ResponseOp {
  if ("response_range" in op) return { response_range: rangeOut(nested, op.response_range) };
  if ("response_put" in op) return { response_put: putOut(nested, op.response_put) };
  if ("response_delete_range" in op)
    return { response_delete_range: deleteOut(nested, op.response_delete_range) };
  return { response_txn: txnOut(nested, op.response_txn) };
}

export function txnOut(h: HeaderFields, r: m.TxnResponse): g.TxnResponse {
  return {
    header: header(h, r.header.revision),
    succeeded: r.succeeded,
    responses: r.responses.map(opOut),
  };
}
