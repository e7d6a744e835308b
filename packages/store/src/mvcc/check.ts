import { toBin } from "./bytes.js";
import { MvccError } from "./errors.js";
import type { DeleteRangeRequest, PutRequest, RangeRequest, RequestOp, TxnRequest } from "./types.js";

/** etcd's default --max-txn-ops. */
export const DEFAULT_MAX_TXN_OPS = 128;

/*
 * Request validation that etcd does in its gRPC layer (server/etcdserver/api/v3rpc/key.go) before a
 * request reaches Raft. It lives here so that every path into the store (gRPC, embedded, tests)
 * rejects the same requests with the same messages.
 */

export function checkRangeRequest(r: RangeRequest): void {
  if (r.key.length === 0) throw new MvccError("emptyKey");
}

export function checkPutRequest(r: PutRequest): void {
  if (r.key.length === 0) throw new MvccError("emptyKey");
  if (r.ignore_value && r.value !== undefined && r.value.length !== 0) throw new MvccError("valueProvided");
  if (r.ignore_lease && r.lease !== undefined && r.lease !== 0n) throw new MvccError("leaseProvided");
}

export function checkDeleteRequest(r: DeleteRangeRequest): void {
  if (r.key.length === 0) throw new MvccError("emptyKey");
}

export function checkTxnRequest(r: TxnRequest, maxTxnOps = DEFAULT_MAX_TXN_OPS): void {
  checkTxnOps(r, maxTxnOps);
  checkIntervals(r.success ?? []);
  checkIntervals(r.failure ?? []);
}

function checkTxnOps(r: TxnRequest, maxTxnOps: number): void {
  const opc = Math.max(r.compare?.length ?? 0, r.success?.length ?? 0, r.failure?.length ?? 0);
  if (opc > maxTxnOps) throw new MvccError("tooManyOps");
  for (const c of r.compare ?? []) if (c.key.length === 0) throw new MvccError("emptyKey");
  for (const u of r.success ?? []) checkRequestOp(u, maxTxnOps - opc);
  for (const u of r.failure ?? []) checkRequestOp(u, maxTxnOps - opc);
}

function checkRequestOp(u: RequestOp, maxTxnOps: number): void {
  if ("request_range" in u) checkRangeRequest(u.request_range);
  else if ("request_put" in u) checkPutRequest(u.request_put);
  else if ("request_delete_range" in u) checkDeleteRequest(u.request_delete_range);
  else if ("request_txn" in u) checkTxnOps(u.request_txn, maxTxnOps);
  // etcd answers an empty RequestOp with ErrGRPCKeyNotFound.
  else throw new MvccError("keyNotFound");
}

/**
 * A half-open interval of binary-string keys as etcd's adt.StringAffineInterval: "" as an end is
 * +infinity, and a point k is [k, k+"\0"). Note a delete's range_end of "\0" is taken literally
 * here, as etcd does, so a from-key delete never conflicts with a put (etcd's quirk, kept).
 */
interface Interval {
  begin: string;
  end: string;
}

function lessAffine(a: string, b: string): boolean {
  if (a === b) return false;
  if (a === "") return false;
  if (b === "") return true;
  return a < b;
}

function intersectsPoint(ivs: Interval[], k: string): boolean {
  const p: Interval = { begin: k, end: `${k}\0` };
  return ivs.some((iv) => lessAffine(iv.begin, p.end) && lessAffine(p.begin, iv.end));
}

/**
 * etcd's checkIntervals: within one txn branch (nested txns included) no key may be put twice or be
 * both put and deleted, since one revision cannot hold two changes of a key. A key put in both
 * branches of a nested txn is fine: only one branch runs.
 */
function checkIntervals(reqs: RequestOp[]): { puts: Set<string>; dels: Interval[] } {
  const dels: Interval[] = [];
  for (const req of reqs) {
    if (!("request_delete_range" in req)) continue;
    const d = req.request_delete_range;
    const begin = toBin(d.key);
    const end = d.range_end && d.range_end.length > 0 ? toBin(d.range_end) : `${begin}\0`;
    dels.push({ begin, end });
  }
  const puts = new Set<string>();
  for (const req of reqs) {
    if (!("request_txn" in req)) continue;
    const then = checkIntervals(req.request_txn.success ?? []);
    const els = checkIntervals(req.request_txn.failure ?? []);
    for (const k of then.puts) {
      if (puts.has(k) || intersectsPoint(dels, k)) throw new MvccError("duplicateKey");
      puts.add(k);
    }
    for (const k of els.puts) {
      if (puts.has(k) && !then.puts.has(k)) throw new MvccError("duplicateKey");
      if (intersectsPoint(dels, k)) throw new MvccError("duplicateKey");
      puts.add(k);
    }
    dels.push(...then.dels, ...els.dels);
  }
  for (const req of reqs) {
    if (!("request_put" in req)) continue;
    const k = toBin(req.request_put.key);
    if (puts.has(k) || intersectsPoint(dels, k)) throw new MvccError("duplicateKey");
    puts.add(k);
  }
  return { puts, dels };
}
