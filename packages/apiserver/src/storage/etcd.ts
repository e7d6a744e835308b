/**
 * The store as the API server sees it: a few etcd v3 calls (Range, Txn, Watch, lease grant) on
 * plain objects. Two implementations: GrpcEtcd (here) for any etcd v3 endpoint (`--etcd-servers`:
 * a skiff store cluster or real etcd), with failover between endpoints, and InProcessEtcd
 * (storage/inprocess.ts) for the embedded store, whose etcd v3 handlers it calls directly.
 */
import { closeEtcdClients, type EtcdClients, type EtcdTls, etcdClients, unaryCall } from "@skiff/etcd-client";

export interface Kv {
  key: Buffer;
  value: Buffer;
  mod_revision: string;
  create_revision: string;
  lease?: string;
}

export interface RangeResult {
  revision: number;
  kvs: Kv[];
  more: boolean;
  count: number;
}

export type Compare =
  | { key: string; target: "mod"; modRevision: number }
  | { key: string; target: "create"; createRevision: number };

export type Op =
  | { put: { key: string; value: Buffer; lease?: string; ignoreLease?: boolean } }
  | { delete: { key: string } }
  | { get: { key: string } };

export interface TxnResult {
  succeeded: boolean;
  revision: number;
  /** For `get` ops, in order (success or failure branch). */
  gets: (Kv | undefined)[];
}

export interface WatchEvent {
  type: "put" | "delete";
  kv: Kv;
  prevKv: Kv | undefined;
}

export interface WatchHandle {
  cancel(): void;
  /**
   * Asks the store for a progress notification (etcd's WatchProgressRequest): `progress` is then
   * called with a revision up to which every event of this watch has been delivered.
   */
  requestProgress?(): void;
}

export interface WatchCallbacks {
  /** Events of one or more whole revisions, in order. */
  events(events: WatchEvent[]): void;
  /** The watch cannot continue: `compacted` with the compact revision, or an error. */
  failed(reason: { compacted?: number; error?: string }): void;
  /** A progress notification: every event up to `revision` has been delivered. */
  progress?(revision: number): void;
}

export interface EtcdKV {
  range(
    key: string,
    opts?: { end?: string; limit?: number; revision?: number; countOnly?: boolean },
  ): Promise<RangeResult>;
  txn(compares: Compare[], success: Op[], failure?: Op[]): Promise<TxnResult>;
  watch(prefix: string, fromRevision: number, cb: WatchCallbacks): WatchHandle;
  leaseGrant(ttlSeconds: number): Promise<string>;
  close(): void;
}

/** The key range `[prefix, prefixEnd)` of every key under `prefix`. */
export function prefixEnd(prefix: string): string {
  const b = Buffer.from(prefix);
  for (let i = b.length - 1; i >= 0; i--) {
    if ((b[i] as number) < 0xff) {
      b[i] = (b[i] as number) + 1;
      return b.subarray(0, i + 1).toString("latin1");
    }
  }
  return "\u0000";
}

const bytes = (s: string) => Buffer.from(s, "latin1");

interface GrpcTxnResponse {
  header: { revision: string };
  succeeded: boolean;
  responses: { response_range?: { kvs: Kv[] } }[];
}

/** The duplex Watch stream as the mapping below uses it (grpc-js's, or an in-process one). */
export interface WatchStream {
  write(req: object): boolean;
  cancel(): void;
  on(ev: string, f: (x: never) => void): void;
  removeAllListeners(): void;
}

/**
 * The etcd v3 API mapped to EtcdKV, over a transport: unary calls by service and method name
 * (requests and responses in grpc-js's shape: bytes as Buffers, int64 as strings) and Watch
 * streams. GrpcEtcd and InProcessEtcd are the two transports.
 */
export abstract class EtcdV3 implements EtcdKV {
  protected abstract call<R>(service: "KV" | "Lease" | "Watch", method: string, req: object): Promise<R>;
  protected abstract openWatchStream(): WatchStream;
  abstract close(): void;

  async range(
    key: string,
    opts: { end?: string; limit?: number; revision?: number; countOnly?: boolean } = {},
  ): Promise<RangeResult> {
    const r = await this.call<{ header: { revision: string }; kvs: Kv[]; more: boolean; count: string }>(
      "KV",
      "Range",
      {
        key: bytes(key),
        range_end: opts.end === undefined ? undefined : bytes(opts.end),
        limit: opts.limit ?? 0,
        revision: opts.revision ?? 0,
        count_only: opts.countOnly ?? false,
      },
    );
    return { revision: Number(r.header.revision), kvs: r.kvs, more: r.more, count: Number(r.count) };
  }

  async txn(compares: Compare[], success: Op[], failure: Op[] = []): Promise<TxnResult> {
    const compare = compares.map((c) =>
      c.target === "mod"
        ? { key: bytes(c.key), target: 2, result: 0, mod_revision: String(c.modRevision) }
        : { key: bytes(c.key), target: 1, result: 0, create_revision: String(c.createRevision) },
    );
    const op = (o: Op) =>
      "put" in o
        ? {
            request_put: {
              key: bytes(o.put.key),
              value: o.put.value,
              lease: o.put.lease ?? "0",
              ignore_lease: o.put.ignoreLease ?? false,
            },
          }
        : "delete" in o
          ? { request_delete_range: { key: bytes(o.delete.key) } }
          : { request_range: { key: bytes(o.get.key) } };
    const r = await this.call<GrpcTxnResponse>("KV", "Txn", {
      compare,
      success: success.map(op),
      failure: failure.map(op),
    });
    const branch = r.succeeded ? success : failure;
    const gets = branch
      .map((o, i) => ("get" in o ? r.responses[i]?.response_range?.kvs[0] : null))
      .filter((x) => x !== null) as (Kv | undefined)[];
    return { succeeded: r.succeeded, revision: Number(r.header.revision), gets };
  }

  async leaseGrant(ttlSeconds: number): Promise<string> {
    const r = await this.call<{ ID: string }>("Lease", "LeaseGrant", { TTL: String(ttlSeconds), ID: "0" });
    return r.ID;
  }

  watch(prefix: string, fromRevision: number, cb: WatchCallbacks): WatchHandle {
    const stream = this.openWatchStream();
    let done = false;
    const finish = (reason: { compacted?: number; error?: string }) => {
      if (done) return;
      done = true;
      stream.removeAllListeners();
      stream.on("error", () => undefined);
      stream.cancel();
      cb.failed(reason);
    };
    stream.on(
      "data",
      (res: {
        header?: { revision?: string };
        created?: boolean;
        canceled: boolean;
        compact_revision: string;
        cancel_reason: string;
        events: { type: number; kv: Kv; prev_kv: Kv | null }[];
      }) => {
        if (done) return;
        if (res.canceled) {
          const compacted = Number(res.compact_revision);
          finish(compacted > 0 ? { compacted } : { error: res.cancel_reason || "watch canceled" });
          return;
        }
        if (res.events.length === 0) {
          // Neither the creation answer nor a cancel: a progress notification.
          if (res.created !== true && res.header?.revision !== undefined)
            cb.progress?.(Number(res.header.revision));
          return;
        }
        cb.events(
          res.events.map((e) => ({
            type: e.type === 0 ? "put" : "delete",
            kv: e.kv,
            prevKv: e.prev_kv ?? undefined,
          })),
        );
      },
    );
    stream.on("error", (e: Error) => finish({ error: e.message }));
    stream.on("end", () => finish({ error: "watch stream ended" }));
    stream.write({
      create_request: {
        key: bytes(prefix),
        range_end: bytes(prefixEnd(prefix)),
        start_revision: String(fromRevision),
        prev_kv: true,
      },
    });
    return {
      requestProgress: () => {
        if (!done) stream.write({ progress_request: {} });
      },
      cancel: () => {
        if (done) return;
        done = true;
        stream.removeAllListeners();
        stream.on("error", () => undefined);
        stream.cancel();
      },
    };
  }
}

/** etcd v3 over gRPC, trying the endpoints in turn when one fails (as etcd's clientv3 balancer). */
export class GrpcEtcd extends EtcdV3 {
  private readonly clients: EtcdClients[];
  private current = 0;

  /**
   * `endpoints`: host:port or http(s)://host:port. An https endpoint, or any `tls` option, makes
   * the connection TLS (kube-apiserver's --etcd-cafile, --etcd-certfile, --etcd-keyfile).
   */
  constructor(
    endpoints: readonly string[],
    private readonly timeoutMs = 10_000,
    tls?: EtcdTls,
  ) {
    super();
    if (endpoints.length === 0) throw new Error("no etcd endpoints");
    this.clients = endpoints.map((e) => {
      const secure = e.startsWith("https://") || tls !== undefined;
      return etcdClients(e.replace(/^https?:\/\//, "").replace(/\/$/, ""), secure ? (tls ?? {}) : undefined);
    });
  }

  protected async call<R>(service: "KV" | "Lease" | "Watch", method: string, req: object): Promise<R> {
    let last: unknown;
    for (let i = 0; i < this.clients.length; i++) {
      const c = this.clients[(this.current + i) % this.clients.length] as EtcdClients;
      try {
        const r = await unaryCall<R>(c[service], method, req, this.timeoutMs);
        this.current = (this.current + i) % this.clients.length;
        return r;
      } catch (e) {
        last = e;
        const code = (e as { code?: number }).code;
        // Only connection-level failures move to the next endpoint; answers are answers.
        if (code !== 14 && code !== 4) throw e;
      }
    }
    throw last;
  }

  protected openWatchStream(): WatchStream {
    const c = this.clients[this.current] as EtcdClients;
    return (c.Watch as unknown as { Watch(): WatchStream }).Watch();
  }

  close(): void {
    for (const c of this.clients) closeEtcdClients(c);
  }
}
