/**
 * One accepted connection: a peer's stream of messages to this member. Nothing but a hello is
 * accepted until the hello proves the cluster token and names this member; then messages are
 * checked (sender, recipient, shape), snapshots reassembled, and pings answered.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { Socket } from "node:net";
import { type Message, MessageType, type NodeId, type SnapshotMetadata } from "@skiff/raft";
import {
  decodeFrame,
  encodePing,
  type Frame,
  FrameError,
  FrameKind,
  FrameReader,
  type Hello,
  maxHelloBytes,
  protocolVersion,
} from "./transport-frame.js";
import { peerLabel, type TransportLogger, type TransportMetrics } from "./transport-metrics.js";

export interface InboundContext {
  readonly self: NodeId;
  /** sha256 of the cluster token: hashes have equal length, as timingSafeEqual requires. */
  readonly tokenHash: Buffer;
  readonly maxFrameBytes: number;
  readonly maxSnapshotBytes: number;
  readonly handshakeTimeoutMs: number;
  /** Silence for this long after the hello (the dialer pings every second): the peer is gone. */
  readonly idleTimeoutMs: number;
  readonly metrics: TransportMetrics;
  readonly logger: TransportLogger;
  deliver(m: Message): void;
  /** A good hello: the transport keeps one inbound stream per peer (the newest). */
  opened(stream: InboundStream): void;
  closed(stream: InboundStream): void;
}

export const hashToken = (token: string) => createHash("sha256").update(token, "utf8").digest();

/** A peer's answers are pongs only; a dialer that never reads them cannot grow our buffers. */
const maxPendingPongBytes = 64 * 1024;

interface Reassembly {
  readonly message: Message;
  readonly metadata: SnapshotMetadata;
  readonly data: Uint8Array;
  filled: number;
}

export class InboundStream {
  /** The peer, once its hello was accepted. */
  from: NodeId | undefined;
  private readonly reader = new FrameReader(maxHelloBytes);
  private snap: Reassembly | undefined;
  private readonly helloTimer: NodeJS.Timeout;
  private done = false;

  constructor(
    readonly socket: Socket,
    private readonly ctx: InboundContext,
  ) {
    socket.setNoDelay(true);
    this.helloTimer = setTimeout(
      () => this.reject("hello_timeout", "no hello in time"),
      ctx.handshakeTimeoutMs,
    );
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("error", (err) =>
      ctx.logger.debug({ peer: this.peerName(), err: err.message }, "inbound stream error"),
    );
    socket.once("close", () => {
      this.done = true;
      clearTimeout(this.helloTimer);
      if (this.snap !== undefined && this.from !== undefined)
        ctx.metrics.snapshotReceiveFailures.inc({ From: peerLabel(this.from) });
      this.snap = undefined;
      ctx.closed(this);
    });
  }

  private peerName(): string | undefined {
    return this.from === undefined ? undefined : peerLabel(this.from);
  }

  close(): void {
    this.done = true;
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    if (this.done) return;
    if (this.from !== undefined)
      this.ctx.metrics.receivedBytes.inc({ From: peerLabel(this.from) }, chunk.length);
    // Decoding errors close the connection; errors thrown by the node's handler are not caught
    // here (assertions stay on: a bug in the node must crash loudly, not look like a bad peer).
    const frames: Frame[] = [];
    try {
      this.reader.push(chunk, (payload, owned) => {
        const f = decodeFrame(payload, owned);
        if (this.from === undefined) {
          if (f.kind !== FrameKind.Hello) throw new FrameError("first frame is not a hello");
          return this.onHello(f.hello);
        }
        frames.push(f);
        return true;
      });
    } catch (err) {
      if (!(err instanceof FrameError)) throw err;
      this.protocolError(err.message);
    }
    for (const f of frames) {
      if (this.done) return;
      this.onFrame(f);
    }
  }

  private onHello(h: Hello): boolean {
    if (h.version !== protocolVersion) return this.reject("bad_version", `protocol version ${h.version}`, h);
    // Hash first so the comparison is constant-time whatever the token's length.
    if (!timingSafeEqual(hashToken(h.clusterToken), this.ctx.tokenHash))
      return this.reject("bad_token", "wrong cluster token", h);
    if (h.to !== this.ctx.self) return this.reject("wrong_to", `hello is for member ${h.to}`, h);
    if (h.from === 0 || h.from === this.ctx.self) return this.reject("bad_from", `hello from ${h.from}`, h);
    clearTimeout(this.helloTimer);
    this.socket.setTimeout(this.ctx.idleTimeoutMs, () => {
      this.ctx.logger.warn(
        { peer: peerLabel(h.from), idleTimeoutMs: this.ctx.idleTimeoutMs },
        "inbound stream idle: closing it",
      );
      this.close();
    });
    this.from = h.from;
    this.reader.maxFrameBytes = this.ctx.maxFrameBytes;
    this.ctx.opened(this);
    this.ctx.logger.info(
      { peer: peerLabel(h.from), remote: this.socket.remoteAddress },
      "inbound peer stream accepted",
    );
    return true;
  }

  private reject(reason: string, detail: string, h?: Hello): false {
    this.ctx.metrics.rejectedConnections.inc({ reason });
    this.ctx.logger.warn(
      {
        reason,
        detail,
        claimedFrom: h === undefined ? undefined : peerLabel(h.from),
        remote: this.socket.remoteAddress,
      },
      "peer connection rejected",
    );
    this.close();
    return false;
  }

  private protocolError(detail: string): void {
    if (this.from === undefined) {
      this.reject("bad_frame", detail);
      return;
    }
    this.ctx.metrics.receivedFailures.inc({ From: peerLabel(this.from) });
    this.ctx.logger.warn({ peer: this.peerName(), detail }, "protocol error on inbound stream: closing it");
    this.close();
  }

  private onFrame(f: Frame): void {
    switch (f.kind) {
      case FrameKind.Msg:
        if (this.snap !== undefined) {
          this.protocolError("message inside a snapshot");
          return;
        }
        if (f.message.type === MessageType.MsgSnap) {
          this.protocolError("MsgSnap sent without chunks");
          return;
        }
        if (this.accept(f.message)) this.ctx.deliver(f.message);
        return;
      case FrameKind.SnapHeader:
        this.onSnapHeader(f.message, f.metadata, f.total);
        return;
      case FrameKind.SnapChunk:
        this.onSnapChunk(f.data);
        return;
      case FrameKind.Ping:
        if (this.socket.writableLength < maxPendingPongBytes)
          this.socket.write(encodePing(FrameKind.Pong, f.stamp));
        return;
      default:
        this.protocolError(`unexpected frame kind ${f.kind}`);
        return;
    }
  }

  /** The stream speaks for the member its hello named, to this member only. */
  private accept(m: Message): boolean {
    if (m.from === this.from && m.to === this.ctx.self) return true;
    this.ctx.metrics.receivedFailures.inc({ From: peerLabel(this.from ?? 0) });
    this.ctx.logger.warn(
      { peer: this.peerName(), msgFrom: peerLabel(m.from), msgTo: peerLabel(m.to), type: m.type },
      "dropping misaddressed message",
    );
    return false;
  }

  private onSnapHeader(message: Message, metadata: SnapshotMetadata, total: number): void {
    if (this.snap !== undefined) {
      this.protocolError("snapshot header inside a snapshot");
      return;
    }
    if (message.type !== MessageType.MsgSnap) {
      this.protocolError("snapshot header on a non-MsgSnap");
      return;
    }
    if (total > this.ctx.maxSnapshotBytes) {
      this.protocolError(`snapshot of ${total} bytes exceeds maxSnapshotBytes ${this.ctx.maxSnapshotBytes}`);
      return;
    }
    // Allocated once from the announced size: no growing buffer, no final concatenation.
    this.snap = { message, metadata, data: new Uint8Array(total), filled: 0 };
    if (total === 0) this.finishSnapshot();
  }

  private onSnapChunk(data: Uint8Array): void {
    const s = this.snap;
    if (s === undefined) {
      this.protocolError("snapshot chunk without a header");
      return;
    }
    if (s.filled + data.length > s.data.length) {
      this.protocolError("snapshot chunks exceed announced size");
      return;
    }
    s.data.set(data, s.filled);
    s.filled += data.length;
    if (s.filled === s.data.length) this.finishSnapshot();
  }

  private finishSnapshot(): void {
    const s = this.snap as Reassembly;
    this.snap = undefined;
    if (!this.accept(s.message)) return;
    this.ctx.metrics.snapshotReceiveSuccess.inc({ From: peerLabel(s.message.from) });
    this.ctx.logger.info(
      { peer: peerLabel(s.message.from), index: s.metadata.index, bytes: s.data.length },
      "snapshot received",
    );
    this.ctx.deliver({ ...s.message, snapshot: { metadata: s.metadata, data: s.data } });
  }
}
