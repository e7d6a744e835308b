export { type Authenticator, type Authorizer, allowAll, authenticator, type UserInfo } from "./auth.js";
export { KubeApiServer } from "./kube-apiserver.js";
export { runServer, startServer } from "./main.js";
export { parseServerFlags, type ServerOptions, serverFlags } from "./options.js";
export { writeKubeconfig } from "./pki/kubeconfig.js";
export { ensurePki, issueClientCert, type KeyPair } from "./pki/pki.js";
export { type ApiServer, type ApiServerOptions, createApiServer, KUBERNETES_VERSION } from "./server.js";
export { StatusError } from "./status.js";
export { type EtcdKV, GrpcEtcd } from "./storage/etcd.js";
