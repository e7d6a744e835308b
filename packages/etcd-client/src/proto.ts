/**
 * Loads Skiff's copy of the etcd v3 protos (this package's proto/) with @grpc/proto-loader.
 * The one place that knows where the .proto files live and how messages map to JS values.
 */
import { fileURLToPath } from "node:url";
import { type GrpcObject, loadPackageDefinition, type ServiceClientConstructor } from "@grpc/grpc-js";
import { loadSync, type Options } from "@grpc/proto-loader";

/**
 * The package's proto/. This module runs as src/proto.ts under tap and as dist/proto.js when
 * built: both are one level below the package root.
 */
export const protoDir = fileURLToPath(new URL("../proto/", import.meta.url));

/**
 * keepCase: field names as in rpc.proto (etcd mixes snake_case and ID/TTL/peerURLs).
 * longs: String: int64/uint64 stay exact (member and lease ids use all 64 bits).
 * enums: Number: the wire values, as etcd's Go code compares them; names are in types.ts.
 * defaults: true: every request field is present, so handlers need no undefined checks.
 * oneofs: true: a oneof group's name says which member is set (Txn ops, Watch requests).
 */
export const protoLoaderOptions: Options = {
  keepCase: true,
  longs: String,
  enums: Number,
  defaults: true,
  bytes: Buffer,
  oneofs: true,
  includeDirs: [protoDir],
};

export type EtcdServiceName = "KV" | "Watch" | "Lease" | "Cluster" | "Maintenance";
export const etcdServiceNames: readonly EtcdServiceName[] = [
  "KV",
  "Watch",
  "Lease",
  "Cluster",
  "Maintenance",
];

let cached: Record<EtcdServiceName, ServiceClientConstructor> | undefined;

/** The five etcdserverpb services (their .service is the definition a grpc.Server registers). */
export function etcdServices(): Record<EtcdServiceName, ServiceClientConstructor> {
  if (cached) return cached;
  const definition = loadSync(["etcdserverpb/rpc.proto"], protoLoaderOptions);
  const pkg = loadPackageDefinition(definition).etcdserverpb as GrpcObject;
  const out: Partial<Record<EtcdServiceName, ServiceClientConstructor>> = {};
  for (const name of etcdServiceNames) {
    const ctor = pkg[name];
    if (typeof ctor !== "function" || !("service" in ctor)) {
      throw new Error(`etcdserverpb.${name} missing from ${protoDir}etcdserverpb/rpc.proto`);
    }
    out[name] = ctor as ServiceClientConstructor;
  }
  cached = out as Record<EtcdServiceName, ServiceClientConstructor>;
  return cached;
}
