/**
 * One member's outbound stream to one peer: a bounded queue of encoded frames, written in order
 * on one TCP connection, with reconnects under exponential backoff. The peer's replies on this
 * connection are only pongs (its own messages come over its own stream to us).
 */
import { connect, type Socket } from "node:net";
import { type Message, MessageType, type NodeId, type Snapshot } from "@skiff/raft";
import {
  decodeFrame,
  encodeHello,
  encodeMessage,
  encodePing,
  encodeSnapHeader,
  FrameKind,
  FrameReader,
  protocolVersion,
  snapChunkHeader,
} from "./transport-frame.js";
import {
  type PeerStats,
  peerLabel,
  type TransportLogger,
  type TransportMetrics,
} from "./transport-metrics.js";

/** What every outbound stream shares with its transport. */
export interface OutboundContext {
  readonly self: NodeId;
  readonly clusterToken: string;
  readonly maxQueueBytes: number;
  readonly maxFrameBytes: number;
  readonly snapshotChunkBytes: number;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  readonly pingIntervalMs: number;
  /** No pong for this long: the connection is presumed half-open and is replaced. */
  readonly deadAfterMs: number;
  readonly dialTimeoutMs: number;
  readonly random: () => number;
  readonly now: () => number;
  readonly metrics: TransportMetrics;
  readonly logger: TransportLogger;
  /** Reports to the node (the transport defers them and drops them after stop()). */
  reportUnreachable(id: NodeId): void;
  reportSnapshot(id: NodeId, ok: boolean): void;
}

export interface PeerAddress {
  readonly host: string;
  readonly port: number;
}

interface FrameItem {
  readonly frame: Buffer;
}

/** A MsgSnap in the queue: its header, then its data in chunks, each written when the socket drains. */
interface SnapItem {
  readonly header: Buffer;
  readonly data: Uint8Array;
  headerSent: boolean;
  offset: number;
  /** Set once the outcome was reported (exactly one report per snapshot). */
  settled: boolean;
}

type Item = FrameItem | SnapItem;

type State = "idle" | "connecting" | "open" | "backoff" | "closed";

export class OutboundPeer {
  private state: State = "idle";
  private socket: Socket | undefined;
  /** The queue is queue[head..]; head moves instead of shift() (O(1)), compacted now and then. */
  private queue: Item[] = [];
  private head = 0;
  private queuedBytes = 0;
  /** MsgSnaps queued, being written, or written but not yet flushed: each gets one report. */
  private readonly snapshots = new Set<SnapItem>();
  private waitingDrain = false;
  private flushScheduled = false;
  /** Frame bytes written by the flush under way, counted into the metric once at its end. */
  private flushedBytes = 0;
  /** The peer answered a ping on the current connection: it accepted our hello. */
  private accepted = false;
  private lastPong = 0;
  private backoffMs: number;
  private retryTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  /** One onUnreachable per backoff round (or drop episode), not one per message. */
  private unreachableReported = false;
  private closeWaiters: (() => void)[] = [];
  private dropped = 0;
  private sent = 0;
  private readonly label: string;

  constructor(
    readonly id: NodeId,
    readonly address: PeerAddress,
    private readonly ctx: OutboundContext,
  ) {
    this.backoffMs = ctx.backoffBaseMs;
    this.label = peerLabel(id);
  }

  stats(): PeerStats {
    return {
      connected: this.accepted,
      queuedBytes: this.queuedBytes,
      dropped: this.dropped,
      sent: this.sent,
    };
  }

  get pendingBytes(): number {
    return this.queuedBytes;
  }

  /** Begins dialing (after the transport's listener is up). */
  start(): void {
    if (this.state === "idle") this.dial();
  }

  enqueue(m: Message): void {
    if (this.state === "closed") return;
    if (m.type === MessageType.MsgSnap && m.snapshot !== undefined) this.enqueueSnapshot(m, m.snapshot);
    else this.enqueueFrame(m);
    // Flushed once the event loop has handled the I/O at hand: the messages of every Ready made
    // in this turn leave in one write per peer (a loopback write also runs the receiver's side of
    // TCP and wakes it).
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  /** Stops for good: no reconnect, no more reports. Resolves once the socket is closed. */
  close(): Promise<void> {
    // What was sent before the close still goes out (a flush may be waiting for the next turn of
    // the event loop): a leader that removes a member in the same Ready that tells it the commit
    // index of its removal must still deliver that message, or the member never applies it.
    if (this.state === "open") this.flush();
    this.state = "closed";
    clearTimeout(this.retryTimer);
    clearInterval(this.pingTimer);
    this.queue = [];
    this.head = 0;
    this.queuedBytes = 0;
    this.snapshots.clear();
    const socket = this.socket;
    if (socket === undefined || socket.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.closeWaiters.push(resolve);
      socket.destroy();
    });
  }

  private enqueueFrame(m: Message): void {
    // A full queue drops without encoding: a dead peer should cost no CPU either.
    if (this.queuedBytes >= this.ctx.maxQueueBytes) {
      this.drop(m, "queue full");
      return;
    }
    const frame = encodeMessage(m);
    if (frame.length - 4 > this.ctx.maxFrameBytes) {
      this.drop(m, "message larger than maxFrameBytes");
      return;
    }
    if (this.queuedBytes + frame.length > this.ctx.maxQueueBytes) {
      this.drop(m, "queue full");
      return;
    }
    this.push({ frame }, frame.length);
  }

  /**
   * Only the header counts against maxQueueBytes: the data is a view of the snapshot the node
   * already holds (chunks are cut from it as the socket drains), so queuing it costs no memory.
   */
  private enqueueSnapshot(m: Message, snapshot: Snapshot): void {
    if (this.state === "backoff") {
      this.failSnapshotNow(m, "peer unreachable");
      return;
    }
    const header = encodeSnapHeader(m, snapshot);
    if (this.queuedBytes + header.length > this.ctx.maxQueueBytes) {
      this.failSnapshotNow(m, "queue full");
      return;
    }
    const item: SnapItem = { header, data: snapshot.data, headerSent: false, offset: 0, settled: false };
    this.snapshots.add(item);
    this.push(item, header.length);
  }

  private push(item: Item, bytes: number): void {
    this.queue.push(item);
    this.queuedBytes += bytes;
  }

  private drop(m: Message, reason: string): void {
    this.dropped++;
    this.ctx.metrics.dropped.inc({ peer: this.label });
    this.ctx.metrics.sentFailures.inc({ To: this.label });
    // etcd reports a peer unreachable when its buffer overflows: the leader then probes it
    // instead of streaming entries into a queue that cannot take them.
    if (!this.unreachableReported) {
      this.unreachableReported = true;
      this.ctx.logger.warn(
        { peer: this.label, type: m.type, reason, queuedBytes: this.queuedBytes },
        "dropping messages",
      );
      this.ctx.reportUnreachable(this.id);
    }
  }

  private failSnapshotNow(m: Message, reason: string): void {
    this.drop(m, reason);
    this.ctx.metrics.snapshotSendFailures.inc({ To: this.label });
    this.ctx.reportSnapshot(this.id, false);
  }

  private settleSnapshot(item: SnapItem, ok: boolean): void {
    if (item.settled) return;
    item.settled = true;
    this.snapshots.delete(item);
    if (this.state === "closed") return;
    (ok ? this.ctx.metrics.snapshotSendSuccess : this.ctx.metrics.snapshotSendFailures).inc({
      To: this.label,
    });
    this.ctx.logger.info({ peer: this.label, bytes: item.data.length, ok }, "snapshot sent");
    this.ctx.reportSnapshot(this.id, ok);
  }

  // --- Connection lifecycle -----------------------------------------------------------------

  private dial(): void {
    this.state = "connecting";
    this.retryTimer = undefined;
    const socket = connect({ host: this.address.host, port: this.address.port });
    this.socket = socket;
    const reader = new FrameReader(this.ctx.maxFrameBytes);
    socket.setNoDelay(true);
    // Idle timeout during the dial only: a black-holed SYN should not wait for the kernel's minutes.
    socket.setTimeout(this.ctx.dialTimeoutMs, () => socket.destroy(new Error("dial timeout")));
    socket.once("connect", () => this.onConnect(socket));
    socket.on("data", (chunk: Buffer) => this.onData(socket, reader, chunk));
    socket.on("drain", () => {
      if (socket !== this.socket) return;
      this.waitingDrain = false;
      this.flush();
    });
    socket.on("error", (err) =>
      this.ctx.logger.debug({ peer: this.label, err: err.message }, "peer stream error"),
    );
    socket.once("close", () => this.onClose(socket));
  }

  private onConnect(socket: Socket): void {
    if (socket !== this.socket || this.state !== "connecting") return;
    socket.setTimeout(0);
    socket.setKeepAlive(true, this.ctx.deadAfterMs);
    this.state = "open";
    const hello = encodeHello({
      version: protocolVersion,
      clusterToken: this.ctx.clusterToken,
      from: this.ctx.self,
      to: this.id,
    });
    socket.write(hello);
    // The first pong tells us the listener accepted the hello (it answers nothing before one).
    this.lastPong = this.ctx.now();
    this.ping(socket);
    this.pingTimer = setInterval(() => this.ping(socket), this.ctx.pingIntervalMs);
    this.flush();
  }

  private ping(socket: Socket): void {
    if (this.ctx.now() - this.lastPong > this.ctx.deadAfterMs) {
      this.ctx.logger.warn(
        { peer: this.label, deadAfterMs: this.ctx.deadAfterMs },
        "no pong from peer: reconnecting",
      );
      socket.destroy();
      return;
    }
    // Written straight to the socket, not queued: pings are tiny and may pass queued frames
    // (order matters only between messages). Measured RTT includes the socket's send buffer.
    socket.write(encodePing(FrameKind.Ping, this.ctx.now()));
  }

  private onData(socket: Socket, reader: FrameReader, chunk: Buffer): void {
    if (socket !== this.socket) return;
    try {
      reader.push(chunk, (payload, owned) => {
        const f = decodeFrame(payload, owned);
        if (f.kind !== FrameKind.Pong) throw new Error(`unexpected frame kind ${f.kind} from listener`);
        const now = this.ctx.now();
        this.lastPong = now;
        this.ctx.metrics.roundTrip.observe({ To: this.label }, Math.max(0, now - f.stamp) / 1000);
        if (!this.accepted) this.onAccepted();
        return true;
      });
    } catch (err) {
      this.ctx.logger.warn(
        { peer: this.label, err: (err as Error).message },
        "bad frame from peer: reconnecting",
      );
      socket.destroy();
    }
  }

  private onAccepted(): void {
    this.accepted = true;
    this.backoffMs = this.ctx.backoffBaseMs;
    this.unreachableReported = false;
    this.ctx.metrics.activePeers.inc({ Local: peerLabel(this.ctx.self), Remote: this.label });
    this.ctx.logger.info(
      { peer: this.label, address: `${this.address.host}:${this.address.port}` },
      "peer stream up",
    );
  }

  private onClose(socket: Socket): void {
    if (socket !== this.socket) return;
    this.socket = undefined;
    clearInterval(this.pingTimer);
    this.pingTimer = undefined;
    this.waitingDrain = false;
    const wasAccepted = this.accepted;
    this.accepted = false;
    if (wasAccepted) {
      const labels = { Local: peerLabel(this.ctx.self), Remote: this.label };
      this.ctx.metrics.activePeers.dec(labels);
      this.ctx.metrics.disconnectedPeers.inc(labels);
    }
    if (this.state === "closed") {
      for (const resolve of this.closeWaiters.splice(0)) resolve();
      return;
    }
    this.failSnapshots();
    this.ctx.metrics.sentFailures.inc({ To: this.label });
    this.state = "backoff";
    const delay = this.nextBackoff();
    const logFields = { peer: this.label, retryInMs: Math.round(delay) };
    if (wasAccepted) this.ctx.logger.warn(logFields, "peer stream down");
    else this.ctx.logger.debug(logFields, "peer dial failed");
    if (!this.unreachableReported) {
      this.unreachableReported = true;
      this.ctx.reportUnreachable(this.id);
    }
    this.retryTimer = setTimeout(() => {
      // A new round: its failure may be reported again.
      this.unreachableReported = false;
      if (this.state === "backoff") this.dial();
    }, delay);
  }

  /** Exponential backoff with jitter (half fixed, half random) so that members do not redial in step. */
  private nextBackoff(): number {
    const b = this.backoffMs;
    this.backoffMs = Math.min(b * 2, this.ctx.backoffMaxMs);
    return b / 2 + (this.ctx.random() * b) / 2;
  }

  /**
   * A snapshot does not survive its connection: the receiver drops a partial one, so the node is
   * told at once (false) and Raft's leader probes and resends (etcd: ReportSnapshot failure).
   */
  private failSnapshots(): void {
    if (this.snapshots.size === 0) return;
    const pending = [...this.snapshots];
    const live = this.queue
      .slice(this.head)
      .filter((item) => !("header" in item && this.snapshots.has(item)));
    for (const item of pending) if (!item.headerSent) this.queuedBytes -= item.header.length;
    this.queue = live;
    this.head = 0;
    for (const item of pending) this.settleSnapshot(item, false);
  }

  // --- Writing ---------------------------------------------------------------------------------

  /**
   * Writes queued frames until the socket's buffer is full (write() returns false), then waits for
   * 'drain': frames are pipelined (no waiting for replies) but never pile up in the socket itself,
   * so the queue bound is the memory bound. cork() batches the frames into one writev.
   */
  private flush(): void {
    const socket = this.socket;
    if (this.state !== "open" || this.waitingDrain || socket === undefined) return;
    socket.cork();
    this.flushedBytes = 0;
    try {
      while (this.head < this.queue.length) {
        const item = this.queue[this.head] as Item;
        const ok = "frame" in item ? this.writeFrame(socket, item) : this.writeSnapshotStep(socket, item);
        if (!ok) {
          this.waitingDrain = true;
          break;
        }
      }
    } finally {
      socket.uncork();
      if (this.flushedBytes > 0) this.ctx.metrics.sentBytes.inc({ To: this.label }, this.flushedBytes);
    }
    // A drained queue ends a drop episode: the next overflow is reported to the node again.
    if (this.head === this.queue.length && this.accepted) this.unreachableReported = false;
    this.compact();
  }

  private writeFrame(socket: Socket, item: FrameItem): boolean {
    this.dequeue(item.frame.length);
    this.sent++;
    this.flushedBytes += item.frame.length;
    return socket.write(item.frame);
  }

  /** Writes the header, or the next chunk; the last chunk's write callback settles the snapshot. */
  private writeSnapshotStep(socket: Socket, item: SnapItem): boolean {
    if (!item.headerSent) {
      item.headerSent = true;
      this.queuedBytes -= item.header.length;
      this.ctx.metrics.sentBytes.inc({ To: this.label }, item.header.length);
      if (item.data.length > 0) return socket.write(item.header);
      this.dequeue(0);
      this.sent++;
      return socket.write(item.header, (err) => this.settleSnapshot(item, err == null));
    }
    const end = Math.min(item.offset + this.ctx.snapshotChunkBytes, item.data.length);
    const chunk = item.data.subarray(item.offset, end);
    const header = snapChunkHeader(chunk.length);
    item.offset = end;
    this.ctx.metrics.sentBytes.inc({ To: this.label }, header.length + chunk.length);
    socket.write(header);
    if (end < item.data.length) return socket.write(chunk);
    this.dequeue(0);
    this.sent++;
    // The callback runs once the bytes reached the kernel, or with an error if the socket died.
    return socket.write(chunk, (err) => this.settleSnapshot(item, err == null));
  }

  private dequeue(bytes: number): void {
    this.head++;
    this.queuedBytes -= bytes;
  }

  private compact(): void {
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }
}
