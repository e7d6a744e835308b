/**
 * The DNS server's sockets. In a node the agent stays in the host's network namespace and pods
 * reach it through the node gateway (skiff-gateway, run by the kubelet inside the node's
 * namespace), which relays udp:53 as frames over one unix stream connection and each tcp:53
 * connection as a unix stream connection opening with a PROXY v1 line (framing.ts):
 * DnsSocketServer serves both. listenUdp and listenTcp serve plain DNS on a host and port, for
 * --host-network and tests.
 *
 * Replies go back in the order the queries came (the handler is synchronous). A stream that
 * breaks its format is closed; the gateway reconnects. TCP connections idle for a while are
 * closed, as miekg/dns's server does (its idle timeout is 8 s).
 */
import dgram from "node:dgram";
import { lstat, unlink } from "node:fs/promises";
import net, { type AddressInfo } from "node:net";
import { type Logger, silentLogger } from "@skiff/component-base";
import {
  type ClientAddress,
  encodeTcpMessage,
  encodeUdpFrame,
  ProxyLineReader,
  TcpMessageDecoder,
  UdpFrameDecoder,
} from "./framing.js";
import type { DnsTransport } from "./server.js";

/** Answers one query (undefined: no reply). Must not throw; errors are logged and the query dropped. */
export type DnsHandler = (
  query: Buffer,
  transport: DnsTransport,
  client: ClientAddress,
) => Buffer | undefined;

export interface DnsSocketServerOptions {
  /** The unix socket for the gateway's UDP frames; unset: none. */
  udpSocketPath?: string;
  /** The unix socket for the gateway's TCP connections (PROXY v1 first); unset: none. */
  tcpSocketPath?: string;
  handler: DnsHandler;
  logger?: Logger;
  /** Idle TCP connections are closed after this long; default 8 s. */
  tcpIdleTimeoutMs?: number;
}

/** A listening plain DNS socket (listenUdp, listenTcp). */
export interface DnsListener {
  address(): AddressInfo;
  close(): Promise<void>;
}

const DEFAULT_TCP_IDLE_MS = 8000;
/** Replies queued on a frame connection beyond this are dropped, as a full UDP socket drops. */
const MAX_QUEUED_BYTES = 1 << 20;

function answer(handler: DnsHandler, log: Logger, q: Buffer, t: DnsTransport, c: ClientAddress) {
  try {
    return handler(q, t, c);
  } catch (e) {
    log.error({ err: String(e), client: c.address }, "DNS handler failed");
    return undefined;
  }
}

/** The gateway's two unix sockets. */
export class DnsSocketServer {
  private readonly servers: net.Server[] = [];
  private readonly conns = new Set<net.Socket>();
  private readonly log: Logger;

  constructor(private readonly opts: DnsSocketServerOptions) {
    this.log = opts.logger ?? silentLogger;
  }

  async listen(): Promise<void> {
    const { udpSocketPath, tcpSocketPath } = this.opts;
    if (udpSocketPath !== undefined) await this.listenOn(udpSocketPath, (c) => this.serveFrames(c));
    if (tcpSocketPath !== undefined)
      await this.listenOn(tcpSocketPath, (c) =>
        serveTcp(c, this.opts.handler, this.log, true, this.opts.tcpIdleTimeoutMs),
      );
  }

  private async listenOn(path: string, serve: (c: net.Socket) => void): Promise<void> {
    await removeStaleSocket(path);
    const server = net.createServer({ allowHalfOpen: true }, (c) => {
      this.conns.add(c);
      c.on("close", () => this.conns.delete(c));
      serve(c);
    });
    this.servers.push(server);
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(path, () => {
        server.off("error", reject);
        resolve();
      });
    });
  }

  /** One frame connection from the gateway: each frame a datagram, answered with a frame. */
  private serveFrames(c: net.Socket): void {
    const decoder = new UdpFrameDecoder();
    c.on("error", () => undefined);
    c.on("end", () => c.end());
    c.on("data", (chunk: Buffer) => {
      try {
        for (const f of decoder.push(chunk)) {
          const reply = answer(this.opts.handler, this.log, f.payload, "udp", f.client);
          if (reply === undefined || c.writableLength > MAX_QUEUED_BYTES) continue;
          c.write(encodeUdpFrame(f.client, reply));
        }
      } catch (e) {
        this.log.warn({ err: String(e) }, "closing DNS frame connection");
        c.destroy();
      }
    });
  }

  /** Stops listening, closes every connection; the socket files are removed by the close. */
  async close(): Promise<void> {
    for (const c of this.conns) c.destroy();
    await Promise.all(this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    this.servers.length = 0;
  }
}

/** A socket file left by an agent that did not stop cleanly would make listen fail (EADDRINUSE). */
async function removeStaleSocket(path: string): Promise<void> {
  try {
    if ((await lstat(path)).isSocket()) await unlink(path);
  } catch {
    // Absent: nothing to remove.
  }
}

/** One DNS-over-TCP connection: an optional PROXY line, then length-prefixed messages. */
function serveTcp(
  c: net.Socket,
  handler: DnsHandler,
  log: Logger,
  proxyProtocol: boolean,
  idleMs = DEFAULT_TCP_IDLE_MS,
): void {
  let client: ClientAddress = { address: c.remoteAddress ?? "", port: c.remotePort ?? 0 };
  let header = proxyProtocol ? new ProxyLineReader() : undefined;
  const decoder = new TcpMessageDecoder();
  c.setTimeout(idleMs, () => c.destroy());
  c.on("error", () => undefined);
  // Half-close from the client: everything it sent has been answered (the handler is synchronous).
  c.on("end", () => c.end());
  c.on("data", (chunk: Buffer) => {
    try {
      let data = chunk;
      if (header !== undefined) {
        const h = header.push(chunk);
        if (h === undefined) return;
        header = undefined;
        client = h.client ?? { address: "", port: 0 };
        data = h.rest;
      }
      for (const q of decoder.push(data)) {
        const reply = answer(handler, log, q, "tcp", client);
        if (reply !== undefined) c.write(encodeTcpMessage(reply));
      }
    } catch (e) {
      log.warn({ err: String(e) }, "closing DNS TCP connection");
      c.destroy();
    }
  });
}

/** Plain DNS over UDP on host:port (port 0: any free one). */
export async function listenUdp(
  host: string,
  port: number,
  handler: DnsHandler,
  logger: Logger = silentLogger,
): Promise<DnsListener> {
  const sock = dgram.createSocket(net.isIPv6(host) ? "udp6" : "udp4");
  sock.on("message", (msg, rinfo) => {
    const reply = answer(handler, logger, msg, "udp", { address: rinfo.address, port: rinfo.port });
    if (reply !== undefined) sock.send(reply, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve, reject) => {
    sock.once("error", reject);
    sock.bind(port, host, () => {
      sock.off("error", reject);
      resolve();
    });
  });
  sock.on("error", (e) => logger.warn({ err: String(e) }, "DNS UDP socket error"));
  return {
    address: () => sock.address(),
    close: () => new Promise<void>((resolve) => sock.close(() => resolve())),
  };
}

/** Plain DNS over TCP on host:port (no PROXY line). */
export async function listenTcp(
  host: string,
  port: number,
  handler: DnsHandler,
  opts: { logger?: Logger; idleTimeoutMs?: number } = {},
): Promise<DnsListener> {
  const log = opts.logger ?? silentLogger;
  const conns = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (c) => {
    conns.add(c);
    c.on("close", () => conns.delete(c));
    serveTcp(c, handler, log, false, opts.idleTimeoutMs);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return {
    address: () => server.address() as AddressInfo,
    close: async () => {
      for (const c of conns) c.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
