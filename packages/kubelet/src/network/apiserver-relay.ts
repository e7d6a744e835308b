/**
 * The agent's end of the node gateway's tcp:6443: a unix socket whose connections (each opened
 * by the gateway with a PROXY protocol v1 line) are piped to the API server, so that pods reach
 * `kubernetes.default.svc` (the node IP:6443 behind the ClusterIP) although the API server
 * lives in the host namespace. TLS passes through untouched: the pod talks to the API server
 * itself, with its own service account token, as kube's apiserver endpoint reconciler intends.
 */
import { mkdirSync, rmSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { dirname } from "node:path";
import type { ClientConfig } from "@skiff/client";
import type { NetworkLogger } from "./logger.js";

/** A PROXY v1 line is at most 107 bytes, CRLF included (HAProxy's proxy-protocol.txt). */
const MAX_PROXY_LINE = 107;

export interface RelayTarget {
  host: string;
  port: number;
}

/** host:port of every API server the client config names, `server` first (its failover order). */
export function apiServerTargets(client: Pick<ClientConfig, "server" | "servers">): RelayTarget[] {
  const out: RelayTarget[] = [];
  for (const url of [client.server, ...(client.servers ?? [])]) {
    if (url === "") continue;
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      continue;
    }
    const port = u.port === "" ? (u.protocol === "http:" ? 80 : 443) : Number(u.port);
    // URL keeps an IPv6 literal's brackets; net.connect wants the bare address.
    const host = u.hostname.replace(/^\[(.*)\]$/, "$1");
    if (!out.some((t) => t.host === host && t.port === port)) out.push({ host, port });
  }
  return out;
}

export interface ApiServerRelayOptions {
  socketPath: string;
  /** Where to pipe each connection, tried in order; read per connection (the config may change). */
  targets: () => readonly RelayTarget[];
  logger: NetworkLogger;
  connectTimeoutMs?: number;
}

export class ApiServerRelay {
  private server: Server | undefined;
  private readonly open = new Set<Socket>();

  constructor(private readonly opts: ApiServerRelayOptions) {}

  async listen(): Promise<void> {
    if (this.server !== undefined) return;
    const path = this.opts.socketPath;
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    rmSync(path, { force: true });
    const server = createServer({ allowHalfOpen: true }, (c) => this.accept(c));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(path, () => {
        server.off("error", reject);
        resolve();
      });
    });
    server.on("error", (e) => this.opts.logger.warn({ err: String(e) }, "API server relay"));
    this.server = server;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.open) s.destroy();
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(this.opts.socketPath, { force: true });
  }

  private track(s: Socket): void {
    this.open.add(s);
    s.once("close", () => this.open.delete(s));
  }

  private accept(client: Socket): void {
    this.track(client);
    client.on("error", () => client.destroy());
    let head = Buffer.alloc(0);
    const onData = (b: Buffer) => {
      head = Buffer.concat([head, b]);
      const end = head.indexOf("\r\n");
      if (end < 0) {
        if (head.length >= MAX_PROXY_LINE) client.destroy();
        return;
      }
      client.off("data", onData);
      client.pause();
      const line = head.subarray(0, end).toString("latin1");
      if (!line.startsWith("PROXY ")) {
        client.destroy();
        return;
      }
      // The client's address is not needed: the API server authenticates the pod by its token.
      void this.pipe(client, head.subarray(end + 2));
    };
    client.on("data", onData);
  }

  private async pipe(client: Socket, rest: Buffer): Promise<void> {
    const upstream = await this.connectUpstream();
    if (upstream === undefined || client.destroyed) {
      upstream?.destroy();
      client.destroy();
      return;
    }
    this.track(upstream);
    // A reset on either side ends both; an EOF is passed on as a half-close by pipe's end(),
    // and each socket closes by itself once both of its directions have ended.
    client.removeAllListeners("error");
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
    if (rest.length > 0) upstream.write(rest);
    client.pipe(upstream);
    upstream.pipe(client);
    client.resume();
  }

  private async connectUpstream(): Promise<Socket | undefined> {
    const targets = this.opts.targets();
    for (const t of targets) {
      try {
        return await connectTo(t, this.opts.connectTimeoutMs ?? 10_000);
      } catch (e) {
        this.opts.logger.warn({ target: `${t.host}:${t.port}`, err: String(e) }, "API server relay: connect");
      }
    }
    if (targets.length === 0) this.opts.logger.warn({}, "API server relay: no API server address known");
    return undefined;
  }
}

function connectTo(t: RelayTarget, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: t.host, port: t.port, allowHalfOpen: true });
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`connect ETIMEDOUT ${t.host}:${t.port}`));
    }, timeoutMs);
    s.once("connect", () => {
      clearTimeout(timer);
      s.off("error", onError);
      resolve(s);
    });
    const onError = (e: Error) => {
      clearTimeout(timer);
      reject(e);
    };
    s.once("error", onError);
  });
}
