/**
 * The embedded store without a network hop: the etcd v3 API handlers of a `skiff store` member
 * running in this process, called directly. Requests and responses go through the same protobuf
 * codecs gRPC would use (so both sides see exactly gRPC's shapes: defaults filled in, int64 as
 * strings), but no HTTP/2, no socket, no TLS.
 */
import { EventEmitter } from "node:events";
import { etcdServices } from "@skiff/etcd-client";
import { EtcdV3, type WatchStream } from "./etcd.js";

/**
 * The etcd v3 handlers of a store member that InProcessEtcd calls (a Skiff store's EtcdBackend has
 * them): unary ones take and give the decoded messages; watch takes a server-side stream.
 */
export interface EtcdHandlers {
  range(req: never): Promise<unknown>;
  put(req: never): Promise<unknown>;
  deleteRange(req: never): Promise<unknown>;
  txn(req: never): Promise<unknown>;
  compact(req: never): Promise<unknown>;
  leaseGrant(req: never): Promise<unknown>;
  leaseRevoke(req: never): Promise<unknown>;
  leaseTimeToLive(req: never): Promise<unknown>;
  watch(call: never): void;
}

interface Codec {
  requestSerialize(v: unknown): Buffer;
  requestDeserialize(b: Buffer): unknown;
  responseSerialize(v: unknown): Buffer;
  responseDeserialize(b: Buffer): unknown;
}

type Service = "KV" | "Lease" | "Watch";

/** etcdserverpb method name -> handler name. */
const handlers: Record<string, Exclude<keyof EtcdHandlers, "watch">> = {
  Range: "range",
  Put: "put",
  DeleteRange: "deleteRange",
  Txn: "txn",
  Compact: "compact",
  LeaseGrant: "leaseGrant",
  LeaseRevoke: "leaseRevoke",
  LeaseTimeToLive: "leaseTimeToLive",
};

function codec(service: Service, method: string): Codec {
  const def = (etcdServices()[service] as unknown as { service: Record<string, Codec> }).service[method];
  if (def === undefined) throw new Error(`no method ${service}.${method}`);
  return def;
}

/** A gRPC status-like error, as the gRPC transport would raise (code 14 = UNAVAILABLE, ...). */
function asGrpcError(e: unknown): Error {
  const status = e as { code?: number; details?: string; message?: string };
  const err = new Error(`${status.code ?? 2} ${status.details ?? status.message ?? String(e)}`) as Error & {
    code?: number;
    details?: string;
  };
  err.code = status.code;
  err.details = status.details ?? status.message;
  return err;
}

export class InProcessEtcd extends EtcdV3 {
  constructor(private readonly backend: EtcdHandlers) {
    super();
  }

  protected async call<R>(service: Service, method: string, req: object): Promise<R> {
    const name = handlers[method];
    if (name === undefined) throw new Error(`${method} is not served in process`);
    const c = codec(service, method);
    const fn = this.backend[name] as unknown as (r: unknown) => Promise<unknown>;
    let res: unknown;
    try {
      res = await fn.call(this.backend, c.requestDeserialize(c.requestSerialize(req)));
    } catch (e) {
      throw asGrpcError(e);
    }
    return c.responseDeserialize(c.responseSerialize(res)) as R;
  }

  /**
   * A Watch stream: our side writes requests, the store's WatchHub gets them as `data` on its
   * side and writes responses (objects, or already-encoded Buffers) that come back here decoded.
   */
  protected openWatchStream(): WatchStream {
    const c = codec("Watch", "Watch");
    const client = new EventEmitter();
    const server = new EventEmitter() as EventEmitter & {
      write(resp: unknown, cb?: () => void): boolean;
      end(): void;
    };
    let ended = false;
    server.write = (resp, cb) => {
      if (ended) return false;
      const bytes = Buffer.isBuffer(resp) ? resp : c.responseSerialize(resp);
      const decoded = c.responseDeserialize(bytes);
      // Delivered on a later turn, like a socket: the hub's write callbacks pace it.
      setImmediate(() => {
        if (!ended) client.emit("data", decoded);
        cb?.();
      });
      return true;
    };
    server.end = () => {
      if (ended) return;
      ended = true;
      setImmediate(() => client.emit("end"));
    };
    server.on("error", (e: unknown) => {
      if (ended) return;
      ended = true;
      setImmediate(() => client.emit("error", asGrpcError(e)));
    });
    this.backend.watch(server as never);
    return {
      write: (req) => {
        if (ended) return false;
        const decoded = c.requestDeserialize(c.requestSerialize(req));
        setImmediate(() => server.emit("data", decoded));
        return true;
      },
      cancel: () => {
        if (ended) return;
        ended = true;
        server.emit("cancelled");
      },
      on: (ev, f) => {
        client.on(ev, f as (...a: unknown[]) => void);
      },
      removeAllListeners: () => {
        client.removeAllListeners();
      },
    };
  }

  close(): void {
    // Nothing to close: the store's owner stops it.
  }
}
