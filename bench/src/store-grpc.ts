/**
 * etcd v3 gRPC channels for the store benchmark, built from Skiff's own protos (the same client
 * code for `skiff store` and real etcd). Each channel gets its own local subchannel pool: grpc-js
 * otherwise shares one TCP connection among every client of the same address, and the load is
 * meant to arrive over several connections per member, as from several real clients.
 */
import { type EtcdServiceName, grpcCredentials, etcdServices as loadEtcdServices } from "@skiff/etcd-client";

type ServiceCtor = ReturnType<typeof loadEtcdServices>[EtcdServiceName];
type ServiceClient = InstanceType<ServiceCtor>;

/** One connection to one member, with a client per etcd service sharing it. */
export type EtcdChannel = Record<EtcdServiceName, ServiceClient>;

let services: ReturnType<typeof loadEtcdServices> | undefined;

async function etcdServices(): Promise<ReturnType<typeof loadEtcdServices>> {
  if (services === undefined) services = loadEtcdServices();
  return services;
}

/** A new channel to `target` (host:port); nothing connects until the first call. */
export async function openChannel(target: string): Promise<EtcdChannel> {
  const ctors = await etcdServices();
  const creds = grpcCredentials.createInsecure();
  const kv = new ctors.KV(target, creds, { "grpc.use_local_subchannel_pool": 1 });
  const out: Partial<EtcdChannel> = { KV: kv };
  for (const name of ["Watch", "Lease", "Cluster", "Maintenance"] as const)
    out[name] = new ctors[name](target, creds, { channelOverride: kv.getChannel() });
  return out as EtcdChannel;
}

export function closeChannel(ch: EtcdChannel): void {
  ch.KV.close();
}

type UnaryMethod = (
  req: unknown,
  options: { deadline: Date },
  cb: (err: Error | null, res: unknown) => void,
) => unknown;

/** Calls a unary method by its rpc.proto name, with a deadline so no phase hangs. */
export function unary<Res>(
  client: ServiceClient,
  method: string,
  req: object,
  timeoutMs = 10_000,
): Promise<Res> {
  const fn = (client as unknown as Record<string, UnaryMethod | undefined>)[method];
  if (typeof fn !== "function") return Promise.reject(new Error(`no method ${method}`));
  return new Promise((resolve, reject) => {
    fn.call(client, req, { deadline: new Date(Date.now() + timeoutMs) }, (err, res) =>
      err ? reject(err) : resolve(res as Res),
    );
  });
}

/** The part of a grpc-js bidirectional stream the benchmark uses. */
export interface DuplexCall<Req, Res> {
  write(req: Req): boolean;
  end(): void;
  cancel(): void;
  on(event: "data", cb: (res: Res) => void): this;
  on(event: "error", cb: (err: Error) => void): this;
  on(event: "end" | "drain", cb: () => void): this;
  once(event: "drain", cb: () => void): this;
}

/** Opens a bidirectional stream (Watch.Watch, Lease.LeaseKeepAlive). */
export function duplex<Req, Res>(client: ServiceClient, method: string): DuplexCall<Req, Res> {
  const fn = (client as unknown as Record<string, (() => DuplexCall<Req, Res>) | undefined>)[method];
  if (typeof fn !== "function") throw new Error(`no method ${method}`);
  return fn.call(client);
}
