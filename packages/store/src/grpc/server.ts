import type { MethodDefinition, ServiceDefinition } from "@grpc/grpc-js";
/**
 * createEtcdServer: the etcd v3 gRPC surface (KV, Watch, Lease, Cluster, Maintenance under
 * package etcdserverpb) served by grpc-js on top of an EtcdBackend.
 */
import {
  type handleBidiStreamingCall,
  type handleServerStreamingCall,
  type handleUnaryCall,
  Server,
  type ServerDuplexStream,
  type ServerWritableStream,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import type { EtcdBackend } from "./backend.js";
import { failStream, toGrpcStatus } from "./errors.js";
import { etcdServices } from "./proto.js";

/**
 * etcd accepts requests up to --max-request-bytes (1.5 MiB by default) plus 512 KiB of gRPC
 * overhead, and sends responses of any size (v3rpc/grpc.go: MaxRecvMsgSize / MaxSendMsgSize).
 */
export const defaultMaxRequestBytes = 1.5 * 1024 * 1024;
const grpcOverheadBytes = 512 * 1024;

export interface EtcdServerOptions {
  maxRequestBytes?: number;
}

/** Adapts an async backend method to a grpc-js unary handler; thrown errors become statuses. */
function unary<Req, Res>(fn: (req: Req) => Promise<Res>): handleUnaryCall<Req, Res> {
  return (call, callback) => {
    let pending: Promise<Res>;
    try {
      pending = fn(call.request);
    } catch (err) {
      pending = Promise.reject(err);
    }
    pending.then(
      (res) => callback(null, res),
      (err: unknown) => callback(toGrpcStatus(err)),
    );
  };
}

/** Adapts a bidirectional stream handler; a synchronous throw ends the stream with its status. */
function bidi<Req, Res>(fn: (call: ServerDuplexStream<Req, Res>) => void): handleBidiStreamingCall<Req, Res> {
  return (call) => {
    try {
      fn(call);
    } catch (err) {
      failStream(call, err);
    }
  };
}

/** Adapts a server-streaming handler (Snapshot) the same way. */
function serverStream<Req, Res>(
  fn: (call: ServerWritableStream<Req, Res>) => void,
): handleServerStreamingCall<Req, Res> {
  return (call) => {
    try {
      fn(call);
    } catch (err) {
      failStream(call, err);
    }
  };
}

/** The handler tables, keyed by the method names in rpc.proto (the gRPC path's last part). */
export function etcdHandlers(b: EtcdBackend): Record<string, UntypedServiceImplementation> {
  return {
    KV: {
      Range: unary(b.range.bind(b)),
      Put: unary(b.put.bind(b)),
      DeleteRange: unary(b.deleteRange.bind(b)),
      Txn: unary(b.txn.bind(b)),
      Compact: unary(b.compact.bind(b)),
    },
    Watch: {
      Watch: bidi(b.watch.bind(b)),
    },
    Lease: {
      LeaseGrant: unary(b.leaseGrant.bind(b)),
      LeaseRevoke: unary(b.leaseRevoke.bind(b)),
      LeaseKeepAlive: bidi(b.leaseKeepAlive.bind(b)),
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
      Snapshot: serverStream(b.snapshot.bind(b)),
      MoveLeader: unary(b.moveLeader.bind(b)),
    },
  };
}

/** A grpc.Server with all five etcd services registered; the caller binds and starts it. */
export function createEtcdServer(backend: EtcdBackend, options: EtcdServerOptions = {}): Server {
  const maxRequestBytes = options.maxRequestBytes ?? defaultMaxRequestBytes;
  const server = new Server({
    "grpc.max_receive_message_length": maxRequestBytes + grpcOverheadBytes,
    "grpc.max_send_message_length": 2 ** 31 - 1,
    // channelz bookkeeping on every call cost ~3% of a busy member's CPU (profile of 256 put clients).
    "grpc.enable_channelz": 0,
  });
  const services = etcdServices();
  const handlers = etcdHandlers(backend);
  for (const [name, ctor] of Object.entries(services)) {
    const impl = handlers[name];
    if (!impl) throw new Error(`no handlers for etcdserverpb.${name}`);
    server.addService(name === "Watch" ? preEncodedResponses(ctor.service) : ctor.service, impl);
  }
  return server;
}

/**
 * Lets a stream write an already-encoded response (a Buffer) as it is: the watch hub encodes a
 * revision's events once and shares the bytes among all its watchers.
 */
function preEncodedResponses(service: ServiceDefinition): ServiceDefinition {
  const out: Record<string, MethodDefinition<unknown, unknown>> = {};
  for (const [method, def] of Object.entries(service as Record<string, MethodDefinition<unknown, unknown>>)) {
    const encode = def.responseSerialize;
    out[method] = { ...def, responseSerialize: (v: unknown) => (Buffer.isBuffer(v) ? v : encode(v)) };
  }
  return out as ServiceDefinition;
}
