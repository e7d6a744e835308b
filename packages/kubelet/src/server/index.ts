export { KUBELET_CLIENT_USER } from "./auth.js";
export type { KubeletServerDeps, LogStop } from "./deps.js";
export { KubeletServer, type KubeletServerOptions } from "./server.js";
