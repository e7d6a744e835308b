/**
 * `skiff server` flags, with kube-apiserver's names and defaults where it has the flag
 * (--bind-address, --secure-port, --etcd-servers, --event-ttl, ...), parsed into the typed
 * options `new KubeApiServer(options)` takes. One FlagSet gives the parser and `--help`.
 */
import { isIP } from "node:net";
import { durationFlag, FlagError, FlagSet, intFlag, invalidFlag, listFlag } from "@skiff/component-base";
import { orderedPlugins } from "./admission/plugins.js";

export interface ServerOptions {
  /** Where the PKI (DIR/pki) and the embedded store (DIR/store) live. */
  dataDir: string;
  bindAddress: string;
  /** The address `default/kubernetes` points at; undefined: the bind address, or the host's for 0.0.0.0 and loopback. */
  advertiseAddress: string | undefined;
  /** 0 picks a free port (tests). */
  securePort: number;
  writeKubeconfig: string | undefined;
  /** Empty: run an embedded single-member store in this process. */
  etcdServers: string[];
  etcdCaFile: string | undefined;
  etcdCertFile: string | undefined;
  etcdKeyFile: string | undefined;
  eventTtlSeconds: number;
  serviceClusterIPRange: string;
  serviceNodePortRange: [number, number];
  tokenAuthFile: string | undefined;
  maxRequestsInflight: number;
  maxMutatingRequestsInflight: number;
  /** The embedded store's log level (its Raft member logs on stderr). */
  storeLogLevel: string;
  /** kube-apiserver's --disable-admission-plugins: plugins left out of the chain. */
  disableAdmissionPlugins: string[];
  /** --default-not-ready-toleration-seconds and --default-unreachable-toleration-seconds (DefaultTolerationSeconds). */
  defaultNotReadyTolerationSeconds: number;
  defaultUnreachableTolerationSeconds: number;
  /** --kubelet-client-certificate/--kubelet-client-key; unset: DIR/pki/apiserver-kubelet-client.crt/.key. */
  kubeletClientCertificate: string | undefined;
  kubeletClientKey: string | undefined;
  /** --kubelet-certificate-authority; unset: kubelets' serving certificates are not verified (kube's default). */
  kubeletCertificateAuthority: string | undefined;
}

export const serverFlags = new FlagSet({
  "data-dir": {
    type: "string",
    default: "skiff-data",
    usage: "Directory for the cluster's certificates (pki/) and the embedded store's data (store/).",
  },
  "bind-address": {
    type: "string",
    default: "127.0.0.1",
    usage: "The IP address on which to listen for the --secure-port port.",
  },
  "advertise-address": {
    type: "string",
    usage:
      "The IP address on which to advertise the apiserver to members of the cluster (the kubernetes Service's endpoints).",
  },
  "secure-port": {
    type: "string",
    default: "6443",
    usage: "The port on which to serve HTTPS (0: any free port).",
  },
  "write-kubeconfig": { type: "string", usage: "Write an admin kubeconfig for this server to this file." },
  "etcd-servers": {
    type: "string",
    default: "",
    usage:
      "List of etcd servers to connect with (scheme://ip:port), comma separated; empty: an embedded store.",
  },
  "etcd-cafile": {
    type: "string",
    usage: "SSL Certificate Authority file used to secure etcd communication.",
  },
  "etcd-certfile": { type: "string", usage: "SSL certification file used to secure etcd communication." },
  "etcd-keyfile": { type: "string", usage: "SSL key file used to secure etcd communication." },
  "event-ttl": { type: "string", default: "1h", usage: "Amount of time to retain events." },
  "service-cluster-ip-range": {
    type: "string",
    default: "10.96.0.0/12",
    usage: "A CIDR notation IP range from which to assign service cluster IPs.",
  },
  "service-node-port-range": {
    type: "string",
    default: "30000-32767",
    usage: "A port range to reserve for services with NodePort visibility.",
  },
  "token-auth-file": {
    type: "string",
    usage:
      "If set, the file that will be used to secure the secure port of the API server via token authentication.",
  },
  "max-requests-inflight": {
    type: "string",
    default: "400",
    usage: "The maximum number of non-mutating requests in flight at a given time.",
  },
  "max-mutating-requests-inflight": {
    type: "string",
    default: "200",
    usage: "The maximum number of mutating requests in flight at a given time.",
  },
  "disable-admission-plugins": {
    type: "string",
    default: "",
    usage: `Admission plugins that should be disabled although they are in the default enabled plugins list (${orderedPlugins.map((p) => p.name).join(", ")}), comma separated.`,
  },
  "kubelet-client-certificate": {
    type: "string",
    usage:
      "Path to a client cert file for TLS to kubelets (default: DIR/pki/apiserver-kubelet-client.crt, signed by the cluster CA).",
  },
  "kubelet-client-key": {
    type: "string",
    usage: "Path to a client key file for TLS to kubelets (default: DIR/pki/apiserver-kubelet-client.key).",
  },
  "kubelet-certificate-authority": {
    type: "string",
    usage: "Path to a cert file for the certificate authority that signs kubelets' serving certificates.",
  },
  "store-log-level": {
    type: "string",
    default: "warn",
    usage: "Log level of the embedded store (debug, info, warn, error, silent).",
  },
  "default-not-ready-toleration-seconds": {
    type: "string",
    default: "300",
    usage:
      "Indicates the tolerationSeconds of the toleration for notReady:NoExecute that is added by default to every pod that does not already have such a toleration.",
  },
  "default-unreachable-toleration-seconds": {
    type: "string",
    default: "300",
    usage:
      "Indicates the tolerationSeconds of the toleration for unreachable:NoExecute that is added by default to every pod that does not already have such a toleration.",
  },
});

export function parseServerFlags(argv: readonly string[]): ServerOptions {
  const { values: v } = serverFlags.parse(argv);
  return {
    dataDir: v["data-dir"],
    bindAddress: v["bind-address"],
    advertiseAddress: ipFlag("advertise-address", v["advertise-address"]),
    securePort: intFlag("secure-port", v["secure-port"], 0, 65535),
    writeKubeconfig: v["write-kubeconfig"],
    etcdServers: listFlag(v["etcd-servers"]),
    etcdCaFile: v["etcd-cafile"],
    etcdCertFile: v["etcd-certfile"],
    etcdKeyFile: v["etcd-keyfile"],
    eventTtlSeconds: Math.floor(durationFlag("event-ttl", v["event-ttl"]) / 1000),
    serviceClusterIPRange: v["service-cluster-ip-range"],
    serviceNodePortRange: portRange(v["service-node-port-range"]),
    tokenAuthFile: v["token-auth-file"],
    maxRequestsInflight: intFlag("max-requests-inflight", v["max-requests-inflight"], 1, 100_000),
    maxMutatingRequestsInflight: intFlag(
      "max-mutating-requests-inflight",
      v["max-mutating-requests-inflight"],
      1,
      100_000,
    ),
    storeLogLevel: v["store-log-level"],
    disableAdmissionPlugins: admissionPlugins(v["disable-admission-plugins"]),
    defaultNotReadyTolerationSeconds: tolerationSecondsFlag(
      "default-not-ready-toleration-seconds",
      v["default-not-ready-toleration-seconds"],
    ),
    defaultUnreachableTolerationSeconds: tolerationSecondsFlag(
      "default-unreachable-toleration-seconds",
      v["default-unreachable-toleration-seconds"],
    ),
    kubeletClientCertificate: v["kubelet-client-certificate"],
    kubeletClientKey: v["kubelet-client-key"],
    kubeletCertificateAuthority: v["kubelet-certificate-authority"],
  };
}

/** kube's AdmissionOptions.Validate: every name a registered plugin. */
function admissionPlugins(v: string): string[] {
  const names = listFlag(v);
  for (const n of names)
    if (!orderedPlugins.some((p) => p.name === n))
      throw new FlagError(`disable-admission-plugins plugin "${n}" is unknown`);
  return names;
}

/** A tolerationSeconds flag (kube's int64; Skiff keeps it to what a toleration can hold). */
function tolerationSecondsFlag(name: string, v: string): number {
  return intFlag(name, v, 0, 2_147_483_647);
}

function ipFlag(name: string, v: string | undefined): string | undefined {
  if (v === undefined || v === "") return undefined;
  if (isIP(v) === 0) throw invalidFlag(name, v);
  return v;
}

function portRange(v: string): [number, number] {
  const m = /^(\d+)-(\d+)$/.exec(v);
  const lo = Number(m?.[1]);
  const hi = Number(m?.[2]);
  if (m === null || lo < 1 || hi > 65535 || lo > hi) throw invalidFlag("service-node-port-range", v);
  return [lo, hi];
}
