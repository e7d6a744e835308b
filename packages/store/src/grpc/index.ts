export { type EtcdBackend, notImplementedBackend } from "./backend.js";
export { closeEtcdClients, type EtcdClients, etcdClients, unaryCall } from "./client.js";
export {
  EtcdError,
  type EtcdErrorCode,
  etcdErrorCatalog,
  etcdErrorCodeOf,
  failStream,
  toGrpcStatus,
  UnimplementedError,
} from "./errors.js";
export { etcdServiceNames, etcdServices, protoDir, protoLoaderOptions } from "./proto.js";
export { createEtcdServer, defaultMaxRequestBytes, type EtcdServerOptions, etcdHandlers } from "./server.js";
export * from "./types.js";
