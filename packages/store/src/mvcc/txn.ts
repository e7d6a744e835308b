import { compareBytes, keyRange, toBin } from "./bytes.js";
import { MvccError } from "./errors.js";
import type { History } from "./history.js";
import { rangeAt } from "./range.js";
import type {
  Compare,
  DeleteRangeRequest,
  DeleteRangeResponse,
  KeyValue,
  PutRequest,
  PutResponse,
  RequestOp,
  ResponseOp,
  TxnRequest,
  TxnResponse,
} from "./types.js";
import type { WriteTxn } from "./write.js";

/** What a store offers the txn code: history, compact revision and the lease lookup. */
export interface TxnContext {
  readonly h: History;
  readonly compacted: number;
  leaseExists(id: bigint): boolean;
}

/** Which branch each txn takes: the outer one, then its nested txns in the chosen branch, in order. */
export interface TxnPath {
  succeeded: boolean;
  nested: TxnPath[];
}

/**
 * etcd's compareToPath: every compare, nested ones included, is evaluated against the state before
 * the txn writes anything, so a nested txn cannot observe its parent's writes in its compares.
 */
export function compareToPath(h: History, rev: number, t: TxnRequest): TxnPath {
  const succeeded = (t.compare ?? []).every((c) => applyCompare(h, rev, c));
  const nested: TxnPath[] = [];
  for (const op of (succeeded ? t.success : t.failure) ?? []) {
    if ("request_txn" in op) nested.push(compareToPath(h, rev, op.request_txn));
  }
  return { succeeded, nested };
}

/** etcd applyCompare: over a range every key must satisfy; a VALUE compare on no key fails. */
function applyCompare(h: History, rev: number, c: Compare): boolean {
  const found = h.rangeRecs(keyRange(c.key, c.range_end), rev);
  if (found.length === 0) {
    // gRPC cannot tell a missing value from an empty one, so etcd fails value compares on absent keys.
    if (c.target === "VALUE") return false;
    return compareKv(c, undefined);
  }
  // Only a VALUE compare reads values.
  return found.every((f) => compareKv(c, h.kv(f.k, f.rec, c.target === "VALUE")));
}

function compareKv(c: Compare, kv: KeyValue | undefined): boolean {
  let r: number;
  switch (c.target) {
    case "VALUE":
      r = compareBytes(kv?.value ?? new Uint8Array(0), c.value ?? new Uint8Array(0));
      break;
    case "CREATE":
      r = Math.sign((kv?.create_revision ?? 0) - (c.create_revision ?? 0));
      break;
    case "MOD":
      r = Math.sign((kv?.mod_revision ?? 0) - (c.mod_revision ?? 0));
      break;
    case "VERSION":
      r = Math.sign((kv?.version ?? 0) - (c.version ?? 0));
      break;
    case "LEASE": {
      const a = kv?.lease ?? 0n;
      const b = c.lease ?? 0n;
      r = a === b ? 0 : a < b ? -1 : 1;
      break;
    }
  }
  switch (c.result) {
    case "EQUAL":
      return r === 0;
    case "NOT_EQUAL":
      return r !== 0;
    case "GREATER":
      return r > 0;
    case "LESS":
      return r < 0;
  }
}

/**
 * etcd's checkRequests with checkRequestPut then checkRange: errors that depend on the state are
 * found before the txn writes, so a failing txn changes nothing.
 */
export function checkTxnAgainstState(ctx: TxnContext, rev: number, t: TxnRequest, path: TxnPath): void {
  walkOps(t, path, (op) => {
    if ("request_put" in op) checkPutState(ctx, rev, op.request_put);
  });
  walkOps(t, path, (op) => {
    if (!("request_range" in op)) return;
    const r = op.request_range.revision ?? 0;
    if (r === 0) return;
    if (r > rev) throw new MvccError("futureRev");
    if (r < ctx.compacted) throw new MvccError("compacted");
  });
}

export function checkPutState(ctx: TxnContext, rev: number, p: PutRequest): void {
  if ((p.ignore_value || p.ignore_lease) && !ctx.h.getRec(toBin(p.key), rev)) {
    throw new MvccError("keyNotFound");
  }
  if (p.lease !== undefined && p.lease !== 0n && !ctx.leaseExists(p.lease)) {
    throw new MvccError("leaseNotFound");
  }
}

function walkOps(t: TxnRequest, path: TxnPath, f: (op: RequestOp) => void): void {
  let n = 0;
  for (const op of (path.succeeded ? t.success : t.failure) ?? []) {
    if ("request_txn" in op) walkOps(op.request_txn, path.nested[n++] as TxnPath, f);
    else f(op);
  }
}

/** Runs the chosen branch; nested txn responses carry an empty header as in etcd (revision 0). */
export function applyTxn(ctx: TxnContext, tw: WriteTxn, t: TxnRequest, path: TxnPath): TxnResponse {
  const responses: ResponseOp[] = [];
  let n = 0;
  for (const op of (path.succeeded ? t.success : t.failure) ?? []) {
    if ("request_range" in op) {
      responses.push({ response_range: rangeAt(ctx.h, op.request_range, tw.rev, ctx.compacted) });
    } else if ("request_put" in op) {
      responses.push({ response_put: applyPut(ctx, tw, op.request_put) });
    } else if ("request_delete_range" in op) {
      responses.push({ response_delete_range: applyDeleteRange(ctx, tw, op.request_delete_range) });
    } else {
      const nested = applyTxn(ctx, tw, op.request_txn, path.nested[n++] as TxnPath);
      responses.push({ response_txn: { ...nested, header: { revision: 0 } } });
    }
  }
  return { header: { revision: tw.rev }, succeeded: path.succeeded, responses };
}

/** etcd applierV3backend.Put inside a write txn (state checks already done). */
export function applyPut(ctx: TxnContext, tw: WriteTxn, p: PutRequest): PutResponse {
  const k = toBin(p.key);
  const prev = ctx.h.getRec(k, tw.rev);
  if ((p.ignore_value || p.ignore_lease) && !prev) throw new MvccError("keyNotFound");
  const value = p.ignore_value && prev ? ctx.h.value(prev) : (p.value ?? new Uint8Array(0));
  const lease = p.ignore_lease && prev ? prev.lease : (p.lease ?? 0n);
  const prevKv = p.prev_kv && prev ? ctx.h.kv(k, prev) : undefined;
  const resp: PutResponse = { header: { revision: tw.put(k, value, lease) } };
  if (prevKv) resp.prev_kv = prevKv;
  return resp;
}

/** etcd applierV3backend.DeleteRange: the header is the txn's revision only if something changed. */
export function applyDeleteRange(ctx: TxnContext, tw: WriteTxn, d: DeleteRangeRequest): DeleteRangeResponse {
  const r = keyRange(d.key, d.range_end);
  const prev_kvs = d.prev_kv ? ctx.h.range(r, tw.rev) : [];
  const deleted = tw.deleteRange(r);
  return { header: { revision: tw.rev }, deleted, prev_kvs };
}
