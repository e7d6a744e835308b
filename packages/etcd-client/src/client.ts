/**
 * Raw etcd v3 gRPC clients built from Skiff's protos: the API server's "any etcd v3 endpoint"
 * storage, the store's forwarding to its leader, the benchmarks, jepsen-lite and the wire tests.
 */
import { type Client, credentials, type ServiceError } from "@grpc/grpc-js";
import { type EtcdServiceName, etcdServices } from "./proto.js";

export type EtcdClients = Record<EtcdServiceName, Client>;

/** PEM files' contents for a TLS connection: the CA to trust, and a client certificate for mutual TLS. */
export interface EtcdTls {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

/** One client per service, all on one channel-compatible target (host:port): plaintext, or TLS when `tls` is given. */
export function etcdClients(target: string, tls?: EtcdTls): EtcdClients {
  const services = etcdServices();
  const creds =
    tls === undefined
      ? credentials.createInsecure()
      : credentials.createSsl(tls.ca ?? null, tls.key ?? null, tls.cert ?? null);
  const out: Partial<EtcdClients> = {};
  // Large ranges (10,000 objects of an API server list) exceed gRPC's default 4 MiB receive limit.
  const options = {
    "grpc.max_receive_message_length": 2 ** 31 - 1,
    "grpc.max_send_message_length": 2 ** 31 - 1,
  };
  for (const [name, ctor] of Object.entries(services))
    out[name as EtcdServiceName] = new ctor(target, creds, options);
  return out as EtcdClients;
}

export function closeEtcdClients(clients: EtcdClients): void {
  for (const c of Object.values(clients)) c.close();
}

type UnaryMethod = (
  req: unknown,
  options: { deadline: Date },
  cb: (err: ServiceError | null, res: unknown) => void,
) => unknown;

/** Calls a unary method by its rpc.proto name, with a deadline so no test or caller hangs. */
export function unaryCall<Res>(client: Client, method: string, req: object, timeoutMs = 5000): Promise<Res> {
  const fn = (client as unknown as Record<string, UnaryMethod | undefined>)[method];
  if (typeof fn !== "function") return Promise.reject(new Error(`no method ${method}`));
  return new Promise((resolve, reject) => {
    fn.call(client, req, { deadline: new Date(Date.now() + timeoutMs) }, (err, res) =>
      err ? reject(err) : resolve(res as Res),
    );
  });
}
