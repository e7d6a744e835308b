/**
 * `skiff server` as a component (component-base): the API server over HTTPS on the embedded
 * store (storage/embedded.ts) or on --etcd-servers. start() starts the store first when it is
 * embedded and waits for it, makes or reuses the PKI under DIR/pki, loads the watch cache and
 * listens; the admin kubeconfig is written once it serves. stop() drains the API server (watches
 * end cleanly, in-flight requests finish), then the store.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type Component, Health, type Logger, newLogger, once, Readiness } from "@skiff/component-base";
import { Registry } from "prom-client";
import { authenticator, type UserInfo } from "./auth.js";
import { advertiseAddress } from "./controllers/kubernetes-service.js";
import { ensureNodeToken, NODE_TOKEN_USER } from "./node-token.js";
import type { ServerOptions } from "./options.js";
import { writeKubeconfig } from "./pki/kubeconfig.js";
import { ensurePki, issueClientCert, issueServingCert, type KeyPair } from "./pki/pki.js";
import { ensurePrivateDir } from "./pki/private.js";
import { ServiceAllocator } from "./registry/core/service-allocator.js";
import { type ApiServer, createApiServer } from "./server.js";
import { ensureSigningKey } from "./serviceaccount/keys.js";
import { embeddedStore } from "./storage/embedded.js";
import { type EtcdKV, GrpcEtcd } from "./storage/etcd.js";

/** The DNS names of the `kubernetes` Service, in kube-apiserver's serving certificate. */
const KUBERNETES_SERVICE_NAMES = [
  "kubernetes",
  "kubernetes.default",
  "kubernetes.default.svc",
  "kubernetes.default.svc.cluster.local",
];
/** How long start-up waits for the embedded store to elect itself (one election timeout, normally). */
const embeddedStoreStartMs = 10_000;

export class KubeApiServer implements Component {
  readonly name = "kube-apiserver";
  readonly health = new Health();
  /** apiserver_request_* (served on /metrics); the embedded store's own metrics stay its own. */
  readonly metrics = new Registry();
  readonly stop: () => Promise<void>;
  private readonly readiness = new Readiness();
  private readonly log: Logger;
  private store: ReturnType<typeof embeddedStore>["store"] | undefined;
  private kv: EtcdKV | undefined;
  private server: ApiServer | undefined;
  private serving: string | undefined;
  private ca: KeyPair | undefined;
  private starting: Promise<void> | undefined;

  constructor(
    readonly options: ServerOptions,
    log?: Logger,
  ) {
    this.log = log ?? newLogger("kube-apiserver", "info");
    this.stop = once(() => this.shutdown());
  }

  get ready(): Promise<void> {
    return this.readiness.promise;
  }

  /** https://host:port once it serves. */
  get url(): string {
    if (this.serving === undefined) throw new Error("kube-apiserver: not serving yet");
    return this.serving;
  }

  describe(): Record<string, unknown> {
    const o = this.options;
    return {
      url: this.serving,
      kubeconfig: o.writeKubeconfig,
      store: o.etcdServers.length === 0 ? "embedded" : o.etcdServers,
    };
  }

  start(): Promise<void> {
    if (this.starting !== undefined) throw new Error("kube-apiserver: start() called twice");
    this.starting = this.open().then(
      () => this.readiness.resolve(),
      (e: unknown) => {
        this.readiness.reject(e);
        throw e;
      },
    );
    return this.starting;
  }

  private async open(): Promise<void> {
    const o = this.options;
    // The data directory holds keys and the store: no other user's to read (etcd's 0700).
    ensurePrivateDir(o.dataDir);
    this.kv = await this.openStorage();
    // As kube-apiserver's serving certificate: also the `kubernetes` Service's IP and names, so
    // that pods reach it as https://kubernetes.default.svc and check it against their ca.crt.
    const hosts = [
      o.bindAddress === "0.0.0.0" ? "127.0.0.1" : o.bindAddress,
      new ServiceAllocator(o.serviceClusterIPRange).firstIP,
      ...KUBERNETES_SERVICE_NAMES,
      ...(o.advertiseAddress === undefined ? [] : [o.advertiseAddress]),
    ];
    const pki = ensurePki(o.dataDir, { hosts });
    this.ca = pki.ca;
    this.server = await createApiServer({
      kv: this.kv,
      authenticate: authenticator(
        new Map([...readTokens(o.tokenAuthFile), [ensureNodeToken(o.dataDir), NODE_TOKEN_USER]]),
      ),
      tls: { key: pki.serving.keyPem, cert: pki.serving.certPem, ca: pki.ca.certPem },
      maxRequestsInflight: o.maxRequestsInflight,
      maxMutatingRequestsInflight: o.maxMutatingRequestsInflight,
      eventTtlSeconds: o.eventTtlSeconds,
      serviceClusterIPRange: o.serviceClusterIPRange,
      serviceNodePortRange: o.serviceNodePortRange,
      health: this.health,
      metrics: this.metrics,
      log: this.log,
      serviceAccountKey: ensureSigningKey(o.dataDir),
      disableAdmissionPlugins: o.disableAdmissionPlugins,
      defaultNotReadyTolerationSeconds: o.defaultNotReadyTolerationSeconds,
      defaultUnreachableTolerationSeconds: o.defaultUnreachableTolerationSeconds,
      kubeletClient: kubeletClientConfig(o, pki.kubeletClient),
    });
    const host = o.bindAddress.includes(":") ? `[${o.bindAddress}]` : o.bindAddress;
    let address: string;
    try {
      address = await this.server.app.listen({ host: o.bindAddress, port: o.securePort });
    } catch (e) {
      // kube-apiserver: "failed to listen on 0.0.0.0:6443: ... bind: address already in use".
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "EADDRINUSE" || code === "EACCES" || code === "EADDRNOTAVAIL")
        throw new Error(
          `failed to listen on ${host}:${o.securePort}: ${code === "EADDRINUSE" ? "address already in use" : code === "EACCES" ? "permission denied" : "cannot assign requested address"}`,
        );
      throw e;
    }
    this.serving = `https://${host}:${new URL(address).port}`;
    // kube-apiserver's `default/kubernetes` Service points at the address it advertises.
    this.server.controllers?.advertise(
      o.advertiseAddress ?? advertiseAddress(o.bindAddress),
      Number(new URL(address).port),
    );
    if (o.writeKubeconfig !== undefined)
      writeKubeconfig(o.writeKubeconfig, { server: this.serving, caPem: pki.ca.certPem, user: pki.admin });
  }

  /**
   * Points the `kubernetes` Service at another address and port: `skiff server` advertises its
   * embedded node's address (where that node's gateway relays to this server) once it is known,
   * so that pods reach the API server as they would a kube-apiserver on their node's network.
   */
  advertise(address: string, port: number): void {
    this.server?.controllers?.advertise(address, port);
  }

  /**
   * A client identity for a component running in this process (the embedded scheduler, the
   * controller manager): a client certificate for `user` signed by the cluster CA, with the URL
   * and CA to reach this server (a ClientConfig of @skiff/client).
   */
  loopbackClientConfig(user: { commonName: string; organizations?: string[] }): {
    server: string;
    ca: string;
    cert: string;
    key: string;
  } {
    if (this.ca === undefined || this.serving === undefined)
      throw new Error("kube-apiserver: not serving yet");
    const pair = issueClientCert(this.ca, user);
    const url = new URL(this.serving);
    // A wildcard bind address is reached on loopback.
    if (url.hostname === "0.0.0.0") url.hostname = "127.0.0.1";
    if (url.hostname === "[::]") url.hostname = "[::1]";
    return { server: url.origin, ca: this.ca.certPem, cert: pair.certPem, key: pair.keyPem };
  }

  /** A serving certificate for a node agent on this machine, signed by the cluster CA. */
  kubeletServingCert(hosts: string[]): { cert: string; key: string } {
    if (this.ca === undefined) throw new Error("kube-apiserver: not serving yet");
    const pair = issueServingCert(this.ca, { hosts });
    return { cert: pair.certPem, key: pair.keyPem };
  }

  /** The embedded store, started and elected, or a client of --etcd-servers. */
  private async openStorage(): Promise<EtcdKV> {
    const o = this.options;
    if (o.etcdServers.length > 0) {
      const file = (f: string | undefined) => (f === undefined ? undefined : readFileSync(f));
      const tls =
        o.etcdCaFile || o.etcdCertFile || o.etcdKeyFile
          ? { ca: file(o.etcdCaFile), cert: file(o.etcdCertFile), key: file(o.etcdKeyFile) }
          : undefined;
      return new GrpcEtcd(o.etcdServers, 10_000, tls);
    }
    const embedded = embeddedStore({ dataDir: join(o.dataDir, "store"), logLevel: o.storeLogLevel });
    this.store = embedded.store;
    await embedded.store.start();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`the embedded store elected no leader in ${embeddedStoreStartMs / 1000} s`)),
        embeddedStoreStartMs,
      );
    });
    await Promise.race([embedded.store.ready, late]).finally(() => clearTimeout(timer));
    return embedded.kv();
  }

  private async shutdown(): Promise<void> {
    await this.starting?.catch(() => undefined);
    if (!this.readiness.settled) this.readiness.reject(new Error("kube-apiserver stopped before it served"));
    await this.server?.close();
    this.kv?.close();
    await this.store?.stop();
  }
}

/** The --kubelet-client-* flags' files, or the PKI's apiserver-kubelet-client pair. */
function kubeletClientConfig(o: ServerOptions, fromPki: KeyPair): { cert: string; key: string; ca?: string } {
  if ((o.kubeletClientCertificate === undefined) !== (o.kubeletClientKey === undefined))
    throw new Error("--kubelet-client-certificate and --kubelet-client-key must be set together");
  const pair =
    o.kubeletClientCertificate !== undefined && o.kubeletClientKey !== undefined
      ? {
          cert: readFileSync(o.kubeletClientCertificate, "utf8"),
          key: readFileSync(o.kubeletClientKey, "utf8"),
        }
      : { cert: fromPki.certPem, key: fromPki.keyPem };
  return o.kubeletCertificateAuthority === undefined
    ? pair
    : { ...pair, ca: readFileSync(o.kubeletCertificateAuthority, "utf8") };
}

/** kube-apiserver's --token-auth-file: CSV lines `token,user,uid,"group1,group2"`. */
function readTokens(file: string | undefined): Map<string, UserInfo> {
  const tokens = new Map<string, UserInfo>();
  if (file === undefined) return tokens;
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const m = /^([^,]+),([^,]+),([^,]*)(?:,"?([^"]*)"?)?$/.exec(line.trim());
    if (m === null) continue;
    tokens.set(m[1] as string, {
      name: m[2] as string,
      groups: [...(m[4] ? (m[4] as string).split(",") : []), "system:authenticated"],
    });
  }
  return tokens;
}
