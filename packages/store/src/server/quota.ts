/**
 * The backend quota (--quota-backend-bytes) as etcd 3.4 applies it (etcdserver/quota.go,
 * api/v3rpc/quota.go, apply.go), at two places:
 * - before proposing (etcd's quotaKVServer): a Put, Txn or LeaseGrant whose cost does not fit
 *   fails with NOSPACE and raises the NOSPACE alarm;
 * - at apply, on every member (StoreStateMachine.admit): under the NOSPACE alarm puts, lease grants
 *   and txns that put anything are refused (applierV3Capped); without it, a request that no longer
 *   fits is applied but answers NOSPACE (quotaApplierV3), and the proposer raises the alarm.
 * A Txn whose only writes are deletes costs nothing, so it goes through under the alarm: that is
 * how a full cluster is cleaned up (kube-apiserver deletes with such a Txn).
 */
import { AlarmType } from "@skiff/etcd-client";
import type * as m from "../mvcc/types.js";
import { StoreError, type StoreRequest, type StoreStateMachine } from "./statemachine.js";

/** etcd's DefaultQuotaBytes (2 GiB). */
export const defaultQuotaBytes = 2 * 1024 * 1024 * 1024;
/** etcd's estimate of a lease's stored bytes (quota.go leaseOverhead). */
const leaseOverhead = 64;
/** etcd's estimate of a key's stored metadata (quota.go kvOverhead). */
const kvOverhead = 256;

const noSpaceMessage = "etcdserver: mvcc: database space exceeded";

function costPut(r: m.PutRequest): number {
  return kvOverhead + r.key.length + (r.value?.length ?? 0);
}

/** The puts of one branch, nested txns not counted (as etcd's costTxnReq). */
function costOps(ops: readonly m.RequestOp[] | undefined): number {
  let n = 0;
  for (const op of ops ?? []) if ("request_put" in op) n += costPut(op.request_put);
  return n;
}

/** etcd's costTxn: the dearer branch. */
export function costTxn(r: m.TxnRequest): number {
  return Math.max(costOps(r.success), costOps(r.failure));
}

/** Bytes a request may add, or undefined for a request the quota does not govern. */
export function quotaCost(r: StoreRequest): number | undefined {
  switch (r.op) {
    case "put":
      return costPut(r.req);
    case "txn":
      return costTxn(r.req);
    case "leaseGrant":
      return leaseOverhead;
    default:
      return undefined;
  }
}

export function hasNoSpaceAlarm(sm: StoreStateMachine): boolean {
  for (const a of sm.alarms.values()) if (a.alarm === AlarmType.NOSPACE) return true;
  return false;
}

/** etcd's backendQuota.Available: the store's size plus the request's cost stays below the quota. */
export function quotaAvailable(sm: StoreStateMachine, quotaBytes: number, cost: number): boolean {
  return sm.mvcc.sizeBytes + cost < quotaBytes;
}

/** The apply-time admission to install as StoreStateMachine.admit. */
export function quotaAdmission(
  sm: StoreStateMachine,
  quotaBytes: number,
): (r: StoreRequest, execute: () => unknown) => unknown {
  return (r, execute) => {
    const cost = quotaCost(r);
    if (cost === undefined) return execute();
    if (hasNoSpaceAlarm(sm)) {
      // applierV3Capped: nothing that adds data, a txn without puts still runs.
      if (r.op !== "txn" || cost > 0) throw new StoreError("NoSpace", noSpaceMessage);
      return execute();
    }
    const fits = quotaAvailable(sm, quotaBytes, cost);
    const result = execute();
    if (!fits) throw new StoreError("NoSpace", noSpaceMessage);
    return result;
  };
}
