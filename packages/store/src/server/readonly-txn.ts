/**
 * Which Txns are reads (etcd 3.4 v3_server.go isTxnReadonly, isTxnSerializable): those are served
 * from the member's state after a ReadIndex, or without one when serializable, never through the
 * Raft log. Unlike etcd, a nested txn that writes nothing is a read too: its answer is the same
 * either way, and it saves a log entry and an fsync.
 */
import type * as m from "../mvcc/types.js";

function ops(r: m.TxnRequest): m.RequestOp[] {
  return (r.success ?? []).concat(r.failure ?? []);
}

/** No put and no delete in either branch, at any depth. */
export function isTxnReadOnly(r: m.TxnRequest): boolean {
  return ops(r).every((op) =>
    "request_range" in op ? true : "request_txn" in op ? isTxnReadOnly(op.request_txn) : false,
  );
}

/**
 * Every op of both branches is a serializable range (nested txns are not). A txn with no ops at
 * all stays linearizable: etcd answers it locally, but its compares would then read stale state.
 */
export function isTxnSerializable(r: m.TxnRequest): boolean {
  const all = ops(r);
  return all.length > 0 && all.every((op) => "request_range" in op && op.request_range.serializable === true);
}
