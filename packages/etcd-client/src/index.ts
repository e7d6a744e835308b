export { credentials as grpcCredentials } from "@grpc/grpc-js";
export { closeEtcdClients, type EtcdClients, type EtcdTls, etcdClients, unaryCall } from "./client.js";
export {
  type EtcdServiceName,
  etcdServiceNames,
  etcdServices,
  protoDir,
  protoLoaderOptions,
} from "./proto.js";
export * from "./types.js";
