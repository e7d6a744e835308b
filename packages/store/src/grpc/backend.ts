/**
 * The contract between the etcd v3 gRPC front end and whatever answers it (Skiff's replicated
 * MVCC store, or a fake in tests): one async method per unary RPC, plain objects shaped like the
 * proto messages in and out, and the three streaming RPCs handed over as ServerStreamCalls.
 * A method throws EtcdError for etcd's own errors (see errors.ts).
 */

import type {
  AlarmRequest,
  AlarmResponse,
  CompactionRequest,
  DeleteRangeRequest,
  DeleteRangeResponse,
  Empty,
  HashKVResponse,
  HashResponse,
  HeaderOnlyResponse,
  Int64,
  LeaseGrantRequest,
  LeaseGrantResponse,
  LeaseIdRequest,
  LeaseKeepAliveResponse,
  LeaseLeasesResponse,
  LeaseTimeToLiveRequest,
  LeaseTimeToLiveResponse,
  MemberAddRequest,
  MemberAddResponse,
  MemberIdRequest,
  MembersResponse,
  MemberUpdateRequest,
  PutRequest,
  PutResponse,
  RangeRequest,
  RangeResponse,
  SnapshotResponse,
  StatusResponse,
  TxnRequest,
  TxnResponse,
  WatchRequest,
  WatchResponse,
} from "@skiff/etcd-client";
import { failStream, UnimplementedError } from "./errors.js";

/**
 * A streaming call as the handlers use it: requests arrive as 'data' ('end' when the client
 * half-closes, 'cancelled' when it goes away); write() sends a response (an already-encoded
 * Buffer as it is) and calls back once it is flushed, end() ends with OK, and
 * emit("error", status) ends with that status (see failStream).
 */
export interface ServerStreamCall<Req, Res> {
  on(event: "data", listener: (req: Req) => void): unknown;
  on(event: "end" | "cancelled", listener: () => void): unknown;
  on(event: "error", listener: (err: unknown) => void): unknown;
  write(res: Res | Buffer, cb?: () => void): boolean;
  /**
   * Already-framed gRPC messages (each a 0 byte, a 4-byte big-endian length and the encoded
   * response) in one write, where the call offers it.
   */
  writeFramed?(framed: Buffer, cb?: () => void): boolean;
  /**
   * The client connection the call came on (the same object for every call on it), where the
   * transport knows it: what a connection's calls hold for it together can then be bounded.
   */
  readonly connection?: object;
  end(): void;
  emit(event: "error", err: unknown): boolean;
}

export interface EtcdBackend {
  // KV
  range(req: RangeRequest): Promise<RangeResponse>;
  put(req: PutRequest): Promise<PutResponse>;
  deleteRange(req: DeleteRangeRequest): Promise<DeleteRangeResponse>;
  txn(req: TxnRequest): Promise<TxnResponse>;
  compact(req: CompactionRequest): Promise<HeaderOnlyResponse>;
  // Watch: one stream carries many watchers; the handler owns the call until it ends it.
  watch(call: ServerStreamCall<WatchRequest, WatchResponse>): void;
  // Lease
  leaseGrant(req: LeaseGrantRequest): Promise<LeaseGrantResponse>;
  leaseRevoke(req: LeaseIdRequest): Promise<HeaderOnlyResponse>;
  leaseKeepAlive(call: ServerStreamCall<LeaseIdRequest, LeaseKeepAliveResponse>): void;
  leaseTimeToLive(req: LeaseTimeToLiveRequest): Promise<LeaseTimeToLiveResponse>;
  leaseLeases(req: Empty): Promise<LeaseLeasesResponse>;
  // Cluster
  memberAdd(req: MemberAddRequest): Promise<MemberAddResponse>;
  memberRemove(req: MemberIdRequest): Promise<MembersResponse>;
  memberUpdate(req: MemberUpdateRequest): Promise<MembersResponse>;
  memberList(req: Empty): Promise<MembersResponse>;
  memberPromote(req: MemberIdRequest): Promise<MembersResponse>;
  // Maintenance
  alarm(req: AlarmRequest): Promise<AlarmResponse>;
  status(req: Empty): Promise<StatusResponse>;
  defragment(req: Empty): Promise<HeaderOnlyResponse>;
  hash(req: Empty): Promise<HashResponse>;
  hashKV(req: { revision: Int64 }): Promise<HashKVResponse>;
  snapshot(call: ServerStreamCall<Empty, SnapshotResponse>): void;
  moveLeader(req: { targetID: Int64 }): Promise<HeaderOnlyResponse>;
}

/**
 * A backend that answers UNIMPLEMENTED everywhere: spread it under a partial backend
 * ({ ...notImplementedBackend(), range, put }) to serve only what is ready.
 */
export function notImplementedBackend(): EtcdBackend {
  const reject = (method: string) => () => Promise.reject(new UnimplementedError(method));
  const endStream = (method: string) => (call: { emit(event: "error", err: unknown): boolean }) => {
    failStream(call, new UnimplementedError(method));
  };
  return {
    range: reject("KV.Range"),
    put: reject("KV.Put"),
    deleteRange: reject("KV.DeleteRange"),
    txn: reject("KV.Txn"),
    compact: reject("KV.Compact"),
    watch: endStream("Watch.Watch"),
    leaseGrant: reject("Lease.LeaseGrant"),
    leaseRevoke: reject("Lease.LeaseRevoke"),
    leaseKeepAlive: endStream("Lease.LeaseKeepAlive"),
    leaseTimeToLive: reject("Lease.LeaseTimeToLive"),
    leaseLeases: reject("Lease.LeaseLeases"),
    memberAdd: reject("Cluster.MemberAdd"),
    memberRemove: reject("Cluster.MemberRemove"),
    memberUpdate: reject("Cluster.MemberUpdate"),
    memberList: reject("Cluster.MemberList"),
    memberPromote: reject("Cluster.MemberPromote"),
    alarm: reject("Maintenance.Alarm"),
    status: reject("Maintenance.Status"),
    defragment: reject("Maintenance.Defragment"),
    hash: reject("Maintenance.Hash"),
    hashKV: reject("Maintenance.HashKV"),
    snapshot: endStream("Maintenance.Snapshot"),
    moveLeader: reject("Maintenance.MoveLeader"),
  };
}
