/**
 * createEtcdServer: the etcd v3 gRPC surface (KV, Watch, Lease, Cluster, Maintenance under
 * package etcdserverpb) served by Skiff's HTTP/2 gRPC server (h2server.ts) on top of an EtcdBackend.
 */
import type { MethodDefinition } from "@grpc/grpc-js";
import { etcdServices } from "@skiff/etcd-client";
import type { EtcdBackend, ServerStreamCall } from "./backend.js";
import { toGrpcStatus } from "./errors.js";
import {
  GrpcH2Server,
  type H2Transport,
  type RegisteredMethod,
  type StreamHandler,
  type UnaryHandler,
} from "./h2server.js";

/**
 * etcd accepts requests up to --max-request-bytes (1.5 MiB by default) plus 512 KiB of gRPC
 * overhead, and sends responses of any size (v3rpc/grpc.go: MaxRecvMsgSize / MaxSendMsgSize).
 */
export const defaultMaxRequestBytes = 1.5 * 1024 * 1024;
const grpcOverheadBytes = 512 * 1024;

export interface EtcdServerOptions {
  maxRequestBytes?: number;
  /** The HTTP/2 implementation (h2server.ts): Skiff's own by default. */
  transport?: H2Transport;
}

type Handler = { unary: UnaryHandler } | { stream: StreamHandler };

// biome-ignore lint/suspicious/noExplicitAny: the backend's typed methods, called with decoded requests
const unary = (fn: (req: any) => Promise<unknown>): Handler => ({ unary: fn });
// biome-ignore lint/suspicious/noExplicitAny: the backend's typed stream handlers
const stream = (fn: (call: ServerStreamCall<any, any>) => void): Handler => ({ stream: fn });

/** The handler tables, keyed by the method names in rpc.proto (the gRPC path's last part). */
export function etcdHandlers(b: EtcdBackend): Record<string, Record<string, Handler>> {
  return {
    KV: {
      Range: unary(b.range.bind(b)),
      Put: unary(b.put.bind(b)),
      DeleteRange: unary(b.deleteRange.bind(b)),
      Txn: unary(b.txn.bind(b)),
      Compact: unary(b.compact.bind(b)),
    },
    Watch: {
      Watch: stream(b.watch.bind(b)),
    },
    Lease: {
      LeaseGrant: unary(b.leaseGrant.bind(b)),
      LeaseRevoke: unary(b.leaseRevoke.bind(b)),
      LeaseKeepAlive: stream(b.leaseKeepAlive.bind(b)),
      LeaseTimeToLive: unary(b.leaseTimeToLive.bind(b)),
      LeaseLeases: unary(b.leaseLeases.bind(b)),
    },
    Cluster: {
      MemberAdd: unary(b.memberAdd.bind(b)),
      MemberRemove: unary(b.memberRemove.bind(b)),
      MemberUpdate: unary(b.memberUpdate.bind(b)),
      MemberList: unary(b.memberList.bind(b)),
      MemberPromote: unary(b.memberPromote.bind(b)),
    },
    Maintenance: {
      Alarm: unary(b.alarm.bind(b)),
      Status: unary(b.status.bind(b)),
      Defragment: unary(b.defragment.bind(b)),
      Hash: unary(b.hash.bind(b)),
      HashKV: unary(b.hashKV.bind(b)),
      Snapshot: stream(b.snapshot.bind(b)),
      MoveLeader: unary(b.moveLeader.bind(b)),
    },
  };
}

/** A server with all five etcd services; the caller listens and shuts it down. */
export function createEtcdServer(backend: EtcdBackend, options: EtcdServerOptions = {}): GrpcH2Server {
  const maxRequestBytes = options.maxRequestBytes ?? defaultMaxRequestBytes;
  const handlers = etcdHandlers(backend);
  const methods = new Map<string, RegisteredMethod>();
  for (const [name, ctor] of Object.entries(etcdServices())) {
    const impl = handlers[name];
    if (!impl) throw new Error(`no handlers for etcdserverpb.${name}`);
    for (const [method, def] of Object.entries(
      ctor.service as Record<string, MethodDefinition<unknown, unknown>>,
    )) {
      const h = impl[method];
      if (h === undefined) throw new Error(`no handler for etcdserverpb.${name}/${method}`);
      methods.set(def.path, { codec: def, ...h });
    }
  }
  return new GrpcH2Server(methods, maxRequestBytes + grpcOverheadBytes, toGrpcStatus, options.transport);
}
