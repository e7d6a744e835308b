/**
 * `skiff server --data-dir DIR --bind-address 127.0.0.1 --secure-port 6443 --write-kubeconfig FILE
 *  [--etcd-servers URLS]`: the API server over HTTPS. Without --etcd-servers it runs an embedded
 * single-member Skiff store in this process (data under DIR/store). The cluster CA and the
 * certificates live in DIR/pki (made at first start, reused after). Once it serves, it writes the
 * admin kubeconfig and logs one line saying so; SIGTERM stops it cleanly.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { type EtcdBackend, freePort, parseStoreFlags, Store } from "@skiff/store";
import { authenticator, type UserInfo } from "./auth.js";
import { writeKubeconfig } from "./pki/kubeconfig.js";
import { ensurePki } from "./pki/pki.js";
import { createApiServer } from "./server.js";
import { GrpcEtcd } from "./storage/etcd.js";
import { InProcessEtcd } from "./storage/inprocess.js";

export interface ServerFlags {
  dataDir: string;
  bindAddress: string;
  securePort: number;
  writeKubeconfig: string | undefined;
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
}

export const serverFlagSpec = {
  "data-dir": { type: "string", default: "skiff-data" },
  "bind-address": { type: "string", default: "127.0.0.1" },
  "secure-port": { type: "string", default: "6443" },
  "write-kubeconfig": { type: "string" },
  "etcd-servers": { type: "string", default: "" },
  "etcd-cafile": { type: "string" },
  "etcd-certfile": { type: "string" },
  "etcd-keyfile": { type: "string" },
  "event-ttl": { type: "string", default: "1h" },
  "service-cluster-ip-range": { type: "string", default: "10.96.0.0/12" },
  "service-node-port-range": { type: "string", default: "30000-32767" },
  "token-auth-file": { type: "string" },
  "max-requests-inflight": { type: "string", default: "400" },
  "max-mutating-requests-inflight": { type: "string", default: "200" },
} as const;

export function parseServerFlags(argv: readonly string[]): ServerFlags {
  const { values } = parseArgs({
    args: [...argv],
    options: serverFlagSpec,
    strict: true,
    allowPositionals: false,
  });
  const int = (name: keyof typeof serverFlagSpec, min: number, max: number) => {
    const v = Number(values[name]);
    if (!Number.isInteger(v) || v < min || v > max)
      throw new Error(`invalid value "${values[name]}" for flag --${name}`);
    return v;
  };
  return {
    dataDir: values["data-dir"] as string,
    bindAddress: values["bind-address"] as string,
    securePort: int("secure-port", 0, 65535),
    writeKubeconfig: values["write-kubeconfig"],
    etcdServers: (values["etcd-servers"] as string)
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s !== ""),
    etcdCaFile: values["etcd-cafile"],
    etcdCertFile: values["etcd-certfile"],
    etcdKeyFile: values["etcd-keyfile"],
    eventTtlSeconds: durationSeconds("event-ttl", values["event-ttl"] as string),
    serviceClusterIPRange: values["service-cluster-ip-range"] as string,
    serviceNodePortRange: portRange(values["service-node-port-range"] as string),
    tokenAuthFile: values["token-auth-file"],
    maxRequestsInflight: int("max-requests-inflight", 1, 100_000),
    maxMutatingRequestsInflight: int("max-mutating-requests-inflight", 1, 100_000),
  };
}

/** A Go duration as kube-apiserver's flags take it: 1h, 30m, 90s, 1h30m. */
function durationSeconds(flag: string, v: string): number {
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(v);
  if (m === null || v === "")
    throw new Error(`invalid value "${v}" for flag --${flag}: time: invalid duration "${v}"`);
  return Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
}

function portRange(v: string): [number, number] {
  const m = /^(\d+)-(\d+)$/.exec(v);
  const lo = Number(m?.[1]);
  const hi = Number(m?.[2]);
  if (m === null || lo < 1 || hi > 65535 || lo > hi)
    throw new Error(`invalid value "${v}" for flag --service-node-port-range`);
  return [lo, hi];
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

export interface RunningServer {
  url: string;
  stop(): Promise<void>;
}

export async function startServer(
  argv: readonly string[],
  log: (line: string) => void,
): Promise<RunningServer> {
  const flags = parseServerFlags(argv);
  let stopStore: (() => Promise<void>) | undefined;
  let embedded: EtcdBackend | undefined;
  let endpoints = flags.etcdServers;
  if (endpoints.length === 0) {
    const client = `http://127.0.0.1:${await freePort()}`;
    const peer = `http://127.0.0.1:${await freePort()}`;
    const store = new Store(
      parseStoreFlags([
        ...["--name", "skiff", "--data-dir", join(flags.dataDir, "store")],
        ...["--listen-client-urls", client, "--advertise-client-urls", client],
        ...["--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer],
        ...["--initial-cluster", `skiff=${peer}`, "--log-level", "warn"],
        // A single member elects itself at once; short timeouts make start-up fast.
        ...["--heartbeat-interval", "50", "--election-timeout", "250"],
      ]),
    );
    await store.start();
    stopStore = () => store.stop();
    embedded = store.etcd;
    // A single member elects itself within an election timeout; serve once it has.
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("the embedded store elected no leader in 10 s")), 10_000);
    });
    await Promise.race([store.ready, late]).finally(() => clearTimeout(timer));
    endpoints = [client];
  }
  const file = (f: string | undefined) => (f === undefined ? undefined : readFileSync(f));
  const tls =
    flags.etcdCaFile || flags.etcdCertFile || flags.etcdKeyFile
      ? { ca: file(flags.etcdCaFile), cert: file(flags.etcdCertFile), key: file(flags.etcdKeyFile) }
      : undefined;
  // The embedded store is called in process; --etcd-servers over gRPC.
  const kv = embedded !== undefined ? new InProcessEtcd(embedded) : new GrpcEtcd(endpoints, 10_000, tls);
  const hosts = [flags.bindAddress === "0.0.0.0" ? "127.0.0.1" : flags.bindAddress];
  const pki = ensurePki(flags.dataDir, { hosts });
  const server = await createApiServer({
    kv,
    authenticate: authenticator(readTokens(flags.tokenAuthFile)),
    tls: { key: pki.serving.keyPem, cert: pki.serving.certPem, ca: pki.ca.certPem },
    maxRequestsInflight: flags.maxRequestsInflight,
    maxMutatingRequestsInflight: flags.maxMutatingRequestsInflight,
    eventTtlSeconds: flags.eventTtlSeconds,
    serviceClusterIPRange: flags.serviceClusterIPRange,
    serviceNodePortRange: flags.serviceNodePortRange,
  });
  const address = await server.app.listen({ host: flags.bindAddress, port: flags.securePort });
  const url = `https://${flags.bindAddress.includes(":") ? `[${flags.bindAddress}]` : flags.bindAddress}:${new URL(address).port}`;
  if (flags.writeKubeconfig !== undefined)
    writeKubeconfig(flags.writeKubeconfig, { server: url, caPem: pki.ca.certPem, user: pki.admin });
  log(
    JSON.stringify({
      event: "ready",
      url,
      kubeconfig: flags.writeKubeconfig,
      store: stopStore ? "embedded" : endpoints,
    }),
  );
  return {
    url,
    async stop() {
      await server.close();
      kv.close();
      await stopStore?.();
    },
  };
}

/** The command: serves until SIGTERM or SIGINT, then stops cleanly. */
export async function runServer(argv: readonly string[]): Promise<number> {
  const running = await startServer(argv, (line) => process.stdout.write(`${line}\n`));
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = () => {
      if (stopping) return;
      stopping = true;
      void running.stop().then(
        () => resolve(0),
        () => resolve(1),
      );
    };
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
  });
}
