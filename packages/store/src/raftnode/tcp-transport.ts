/**
 * The peer transport over TCP (node:net): one outbound stream per peer carrying this member's
 * messages to it in order, and a listener accepting the peers' streams to us. Frames are
 * length-prefixed msgpack (transport-frame.ts); see docs/transport.md for the design.
 */
import { createServer, type Server, type Socket } from "node:net";
import { type Message, MessageType, type NodeId } from "@skiff/raft";
import { Registry } from "prom-client";
import { hashToken, InboundStream } from "./tcp-transport-inbound.js";
import { type OutboundContext, OutboundPeer, type PeerAddress } from "./tcp-transport-outbound.js";
import type { Transport, TransportHandler } from "./transport.js";
import { maxHelloBytes } from "./transport-frame.js";
import {
  type PeerStats,
  peerLabel,
  silentLogger,
  type TransportLogger,
  TransportMetrics,
  type TransportStats,
} from "./transport-metrics.js";

const MiB = 1024 * 1024;

export interface TcpTransportOptions {
  readonly id: NodeId;
  /** Where to accept peers' streams; port 0 picks a free port (read it back from `port`). */
  readonly listen: { readonly host: string; readonly port: number };
  /** Shared secret of the cluster: a dialer must present it in its hello. */
  readonly clusterToken: string;
  /** Per peer: encoded frames waiting to be written, at most this many bytes (default 64 MiB). */
  readonly maxQueueBytes?: number;
  /** Largest frame accepted or sent (default 16 MiB); a bigger message is dropped at the sender. */
  readonly maxFrameBytes?: number;
  /** Snapshot data is sent in frames of at most this many bytes (default 1 MiB). */
  readonly snapshotChunkBytes?: number;
  /** Largest snapshot a peer may announce (default 1 GiB). */
  readonly maxSnapshotBytes?: number;
  /** Reconnect delay: starts at baseMs (default 50), doubles up to maxMs (default 2000), jittered. */
  readonly backoff?: { readonly baseMs?: number; readonly maxMs?: number };
  /** Ping period on each stream, for RTT and dead-connection detection (default 1000 ms). */
  readonly pingIntervalMs?: number;
  /** No pong for this long closes the stream and redials (default 5000 ms). */
  readonly deadAfterMs?: number;
  /** Dial and hello deadlines (default 5000 ms). */
  readonly handshakeTimeoutMs?: number;
  /** Connections still in their handshake, at most (default 64); more are closed at once. */
  readonly maxPendingHandshakes?: number;
  /** Jitter source in [0, 1) (default Math.random): injectable for reproducible tests. */
  readonly random?: () => number;
  readonly logger?: TransportLogger;
  /** Where the metrics are registered (default: a private registry, see `registry`). */
  readonly metrics?: Registry;
}

/** Parses "host:port", "[v6]:port" or a peer URL such as "http://10.0.0.1:2380" (etcd's form). */
export function parsePeerAddress(address: string): PeerAddress {
  const hostPort = address.includes("://") ? new URL(address).host : address;
  const colon = hostPort.lastIndexOf(":");
  const host = hostPort.slice(0, colon).replace(/^\[(.*)\]$/, "$1");
  const port = Number(hostPort.slice(colon + 1));
  if (colon <= 0 || host === "" || !Number.isInteger(port) || port < 1 || port > 65535)
    throw new Error(`tcp transport: bad peer address ${JSON.stringify(address)}`);
  return { host, port };
}

export class TcpTransport implements Transport, TransportStats {
  readonly registry: Registry;
  readonly maxQueueBytes: number;
  private readonly metrics: TransportMetrics;
  private readonly logger: TransportLogger;
  private readonly outboundCtx: OutboundContext;
  private readonly peers = new Map<NodeId, OutboundPeer>();
  /** Every accepted socket (handshaking or not), so stop() can close them all. */
  private readonly inbound = new Set<InboundStream>();
  /** The current stream of each peer that passed its hello. */
  private readonly inboundByPeer = new Map<NodeId, InboundStream>();
  private server: Server | undefined;
  private handler: TransportHandler | undefined;
  /** Streams of removed or re-addressed peers still closing: stop() waits for them too. */
  private readonly retiring = new Set<Promise<void>>();
  private readonly tokenHash: Buffer;
  private stopped = false;
  private boundPort = 0;

  constructor(private readonly opts: TcpTransportOptions) {
    if (opts.clusterToken === "") throw new Error("tcp transport: clusterToken must not be empty");
    this.maxQueueBytes = opts.maxQueueBytes ?? 64 * MiB;
    const maxFrameBytes = opts.maxFrameBytes ?? 16 * MiB;
    const snapshotChunkBytes = opts.snapshotChunkBytes ?? MiB;
    // A chunk frame must fit in a frame, and a hello must fit in the pre-hello limit.
    if (snapshotChunkBytes < 1 || snapshotChunkBytes + 64 > maxFrameBytes)
      throw new Error("tcp transport: snapshotChunkBytes must be positive and below maxFrameBytes");
    if (Buffer.byteLength(opts.clusterToken) > maxHelloBytes / 2)
      throw new Error(`tcp transport: clusterToken longer than ${maxHelloBytes / 2} bytes`);
    this.tokenHash = hashToken(opts.clusterToken);
    this.registry = opts.metrics ?? new Registry();
    this.metrics = new TransportMetrics(this.registry, () => this.queuedBytesByPeer());
    this.logger = opts.logger ?? silentLogger;
    this.outboundCtx = {
      self: opts.id,
      clusterToken: opts.clusterToken,
      maxQueueBytes: this.maxQueueBytes,
      maxFrameBytes,
      snapshotChunkBytes,
      backoffBaseMs: opts.backoff?.baseMs ?? 50,
      backoffMaxMs: opts.backoff?.maxMs ?? 2000,
      pingIntervalMs: opts.pingIntervalMs ?? 1000,
      deadAfterMs: opts.deadAfterMs ?? 5000,
      dialTimeoutMs: opts.handshakeTimeoutMs ?? 5000,
      random: opts.random ?? Math.random,
      now: () => performance.now(),
      metrics: this.metrics,
      logger: this.logger,
      // Deferred: the node may be inside send() when a report is due, and must not be re-entered.
      reportUnreachable: (id) => this.report((h) => h.onUnreachable(id)),
      reportSnapshot: (id, ok) => this.report((h) => h.onSnapshotStatus(id, ok)),
    };
  }

  /** The port the listener is bound to (after start()). */
  get port(): number {
    return this.boundPort;
  }

  async start(handler: TransportHandler): Promise<void> {
    if (this.handler !== undefined || this.stopped) throw new Error("tcp transport: start() called twice");
    this.handler = handler;
    const server = createServer((socket) => this.accept(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host: this.opts.listen.host, port: this.opts.listen.port }, () => {
        server.off("error", reject);
        resolve();
      });
    });
    server.on("error", (err) => this.logger.warn({ err: err.message }, "peer listener error"));
    const addr = server.address();
    this.boundPort = typeof addr === "object" && addr !== null ? addr.port : 0;
    this.logger.info(
      { member: peerLabel(this.opts.id), host: this.opts.listen.host, port: this.boundPort },
      "peer listener up",
    );
    for (const peer of this.peers.values()) peer.start();
  }

  send(messages: readonly Message[]): void {
    if (this.stopped) return;
    for (const m of messages) {
      const peer = this.peers.get(m.to);
      if (peer !== undefined) {
        peer.enqueue(m);
        continue;
      }
      // Unknown peer (or ourselves): counted, and a snapshot is reported failed so Raft retries.
      this.metrics.dropped.inc({ peer: peerLabel(m.to) });
      this.logger.debug({ peer: peerLabel(m.to), type: m.type }, "dropping message to unknown peer");
      if (m.type === MessageType.MsgSnap) this.report((h) => h.onSnapshotStatus(m.to, false));
    }
  }

  addPeer(id: NodeId, address: string): void {
    if (id === this.opts.id) throw new Error(`tcp transport: cannot add self (${id}) as a peer`);
    const addr = parsePeerAddress(address);
    const old = this.peers.get(id);
    if (old !== undefined) {
      if (old.address.host === addr.host && old.address.port === addr.port) return;
      this.retire(old);
    }
    const peer = new OutboundPeer(id, addr, this.outboundCtx);
    this.peers.set(id, peer);
    if (this.server !== undefined && !this.stopped) peer.start();
  }

  removePeer(id: NodeId): void {
    const peer = this.peers.get(id);
    if (peer === undefined) return;
    this.peers.delete(id);
    this.retire(peer);
    this.inboundByPeer.get(id)?.close();
    this.metrics.removePeer(id);
  }

  peerStats(id: NodeId): PeerStats | undefined {
    return this.peers.get(id)?.stats();
  }

  /** Closes the listener, every stream and timer; resolves once every socket has closed. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const closing: Promise<void>[] = [...this.retiring];
    for (const peer of this.peers.values()) closing.push(peer.close());
    for (const s of this.inbound) {
      if (!s.socket.closed) closing.push(new Promise((resolve) => s.socket.once("close", () => resolve())));
      s.close();
    }
    const server = this.server;
    if (server !== undefined) closing.push(new Promise((resolve) => server.close(() => resolve())));
    await Promise.all(closing);
    this.logger.info({ member: peerLabel(this.opts.id) }, "peer transport stopped");
  }

  private retire(peer: OutboundPeer): void {
    const done = peer.close().then(() => {
      this.retiring.delete(done);
    });
    this.retiring.add(done);
  }

  private report(fn: (h: TransportHandler) => void): void {
    queueMicrotask(() => {
      if (!this.stopped && this.handler !== undefined) fn(this.handler);
    });
  }

  private accept(socket: Socket): void {
    if (this.stopped) {
      socket.destroy();
      return;
    }
    let handshaking = 0;
    for (const s of this.inbound) if (s.from === undefined) handshaking++;
    if (handshaking >= (this.opts.maxPendingHandshakes ?? 64)) {
      this.metrics.rejectedConnections.inc({ reason: "too_many_handshakes" });
      socket.destroy();
      return;
    }
    const stream = new InboundStream(socket, {
      self: this.opts.id,
      tokenHash: this.tokenHash,
      maxFrameBytes: this.outboundCtx.maxFrameBytes,
      maxSnapshotBytes: this.opts.maxSnapshotBytes ?? 1024 * MiB,
      handshakeTimeoutMs: this.opts.handshakeTimeoutMs ?? 5000,
      idleTimeoutMs: this.outboundCtx.deadAfterMs,
      metrics: this.metrics,
      logger: this.logger,
      deliver: (m) => {
        if (!this.stopped) this.handler?.onMessage(m);
      },
      opened: (s) => this.opened(s),
      closed: (s) => {
        this.inbound.delete(s);
        if (s.from !== undefined && this.inboundByPeer.get(s.from) === s) this.inboundByPeer.delete(s.from);
      },
    });
    this.inbound.add(stream);
  }

  /**
   * A peer that redials (after a network blip it noticed before we did) replaces its old stream:
   * one stream per peer keeps its messages in order, and a half-open old socket is not kept alive.
   */
  private opened(s: InboundStream): void {
    const from = s.from as NodeId;
    const old = this.inboundByPeer.get(from);
    this.inboundByPeer.set(from, s);
    if (old !== undefined && old !== s) old.close();
  }

  private *queuedBytesByPeer(): Iterable<readonly [NodeId, number]> {
    for (const [id, peer] of this.peers) yield [id, peer.pendingBytes];
  }
}
