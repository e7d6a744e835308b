/**
 * The server end of a SPDY/3.1 connection, as much of it as kube's streaming protocols use
 * (moby/spdystream's Connection with apimachinery's httpstream/spdy on top): the client opens
 * streams with SYN_STREAM (odd ids, increasing), the server accepts each with an empty
 * SYN_REPLY or refuses it with RST_STREAM, and both send DATA frames, FLAG_FIN closing their half.
 * PINGs from the client (odd ids) are echoed; SETTINGS, WINDOW_UPDATE and HEADERS are read and
 * ignored (spdystream does no flow control and sends no WINDOW_UPDATE). A GOAWAY stops new
 * streams and ends the connection once the open ones are done.
 *
 * The transport is any byte stream: a socket after `101 Switching Protocols` with
 * `Upgrade: SPDY/3.1`, or a WebSocket whose binary messages carry the bytes (kube's
 * `SPDY/3.1+portforward.k8s.io` tunnel), which may split or join frames anywhere.
 */
import { EventEmitter } from "node:events";
import { Duplex } from "node:stream";
import {
  encodeFrame,
  FLAG_FIN,
  FLAG_UNIDIRECTIONAL,
  type Frame,
  FrameReader,
  GoAwayStatus,
  MAX_FRAME_LENGTH,
  RstStatus,
  SpdyProtocolError,
} from "./frames.js";
import { encodeHeaderBlock, HeaderCompressor, HeaderDecompressor, type SpdyHeaders } from "./headers.js";

/** DATA frames are cut to this size, so that one stream does not hold the connection long. */
const MAX_DATA_CHUNK = 1 << 16;

export class SpdyStream extends Duplex {
  /** Whether a SYN_REPLY or RST_STREAM has been sent. */
  private answered = false;
  /** The client's half is closed (FLAG_FIN or unidirectional stream). */
  remoteClosed = false;
  /** Our half is closed (a FLAG_FIN sent). */
  localClosed = false;
  private reset_ = false;

  constructor(
    private readonly conn: SpdyConnection,
    readonly id: number,
    readonly headers: SpdyHeaders,
  ) {
    super({ allowHalfOpen: true });
  }

  /** The first value of a header (names are lower case in SPDY). */
  header(name: string): string | undefined {
    return this.headers[name.toLowerCase()]?.[0];
  }

  /** Accepts the stream (an empty SYN_REPLY, as apimachinery's newSpdyStream sends). */
  reply(): void {
    if (this.answered) return;
    this.answered = true;
    this.conn.sendReply(this.id);
  }

  /** Ends the stream at once both ways with RST_STREAM (spdystream's Stream.Reset: CANCEL). */
  reset(status: number = RstStatus.CANCEL): void {
    if (this.reset_) return;
    this.reset_ = true;
    this.answered = true;
    this.conn.sendFrame({ type: "RST_STREAM", streamId: this.id, status });
    this.remoteClosed = true;
    this.localClosed = true;
    this.conn.forget(this);
    this.destroy();
  }

  /** Why the stream ended abruptly (reset by the peer, or the connection went away). */
  abortReason: string | undefined;

  /**
   * The peer reset it (RST_STREAM) or the connection went away: destroyed without an error
   * event (users need not listen for one), `abortReason` says why.
   */
  abort(why: string): void {
    this.reset_ = true;
    this.abortReason = why;
    this.remoteClosed = true;
    this.localClosed = true;
    this.conn.forget(this);
    this.destroy();
  }

  /** DATA from the peer; false when the reader is behind (the connection then pauses). */
  deliver(data: Buffer, fin: boolean): boolean {
    let more = true;
    if (data.length > 0 && !this.remoteClosed) more = this.push(data);
    if (fin) this.remoteFinished();
    return more;
  }

  remoteFinished(): void {
    if (this.remoteClosed) return;
    this.remoteClosed = true;
    this.push(null);
    if (this.localClosed) this.conn.forget(this);
  }

  override _read(): void {
    this.conn.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    if (this.reset_ || this.localClosed) {
      cb(new Error(`write on closed stream ${this.id}`));
      return;
    }
    this.reply();
    for (let at = 0; at < chunk.length; at += MAX_DATA_CHUNK) {
      const last = at + MAX_DATA_CHUNK >= chunk.length;
      this.conn.sendFrame(
        { type: "DATA", flags: 0, streamId: this.id, data: chunk.subarray(at, at + MAX_DATA_CHUNK) },
        last ? cb : undefined,
      );
    }
  }

  override _final(cb: (e?: Error | null) => void): void {
    if (!this.reset_ && !this.localClosed) {
      this.reply();
      this.localClosed = true;
      this.conn.sendFrame({ type: "DATA", flags: FLAG_FIN, streamId: this.id, data: Buffer.alloc(0) });
      if (this.remoteClosed) this.conn.forget(this);
    }
    cb();
  }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    // Dropped by its user before both halves closed: tell the peer (spdystream's Reset).
    if (!this.reset_ && !(this.localClosed && this.remoteClosed) && !this.conn.isClosed) {
      this.reset_ = true;
      this.conn.sendFrame({ type: "RST_STREAM", streamId: this.id, status: RstStatus.CANCEL });
    }
    this.conn.forget(this);
    cb(err);
  }
}

type QueuedFrame = { frame: Buffer | Promise<Buffer>; cb: ((e?: Error | null) => void) | undefined };

/**
 * Events: "stream" (a new SpdyStream, to be answered with reply() or reset()), "close" (the
 * transport is gone; every stream has been aborted).
 */
export class SpdyConnection extends EventEmitter {
  private readonly reader = new FrameReader();
  private readonly compressor = new HeaderCompressor();
  private readonly decompressor = new HeaderDecompressor();
  private readonly streams = new Map<number, SpdyStream>();
  private lastStreamId = 0;
  private goneAway = false;
  private closed = false;
  private reading = false;
  private paused = false;
  private readonly out: QueuedFrame[] = [];
  private flushing = false;

  constructor(private readonly transport: Duplex) {
    super();
    transport.on("data", (chunk: Buffer) => {
      this.reader.push(chunk);
      void this.readFrames();
    });
    transport.on("end", () => this.shutdown("connection closed by the client"));
    transport.on("close", () => this.shutdown("connection closed"));
    transport.on("error", () => this.shutdown("connection error"));
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Streams open now. */
  get streamCount(): number {
    return this.streams.size;
  }

  /** Sends GOAWAY and ends the connection (spdystream's Close; no wait for streams here). */
  close(): void {
    if (this.closed) return;
    this.goneAway = true;
    this.sendFrame({ type: "GOAWAY", lastGoodStreamId: this.lastStreamId, status: GoAwayStatus.OK });
    this.endTransport();
  }

  /** Drops the transport and every stream at once. */
  destroy(): void {
    this.transport.destroy();
    this.shutdown("connection destroyed");
  }

  sendReply(streamId: number): void {
    const block = this.compressor.compress(encodeHeaderBlock({}));
    this.queue(
      block.then((headerBlock) => encodeFrame({ type: "SYN_REPLY", flags: 0, streamId, headerBlock })),
      undefined,
    );
  }

  sendFrame(f: Frame, cb?: (e?: Error | null) => void): void {
    this.queue(encodeFrame(f), cb);
  }

  forget(stream: SpdyStream): void {
    if (this.streams.get(stream.id) !== stream) return;
    this.streams.delete(stream.id);
    if (this.goneAway && this.streams.size === 0) this.endTransport();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.transport.resume();
  }

  /**
   * Frames go out in the order they were made. A SYN_REPLY waits for its compressed header
   * block, and what comes after it waits too (spdystream's client drops DATA on a stream it
   * has no reply for yet); with nothing waiting a frame is written at once.
   */
  private queue(frame: Buffer | Promise<Buffer>, cb: ((e?: Error | null) => void) | undefined): void {
    if (this.out.length === 0 && Buffer.isBuffer(frame)) {
      this.write(frame, cb);
      return;
    }
    this.out.push({ frame, cb });
    if (!this.flushing) void this.flush();
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    while (this.out.length > 0) {
      const head = this.out[0] as QueuedFrame;
      let bytes: Buffer;
      try {
        bytes = await head.frame;
      } catch (e) {
        this.out.shift();
        head.cb?.(e as Error);
        this.destroy();
        break;
      }
      this.out.shift();
      this.write(bytes, head.cb);
    }
    this.flushing = false;
  }

  private write(bytes: Buffer, cb: ((e?: Error | null) => void) | undefined): void {
    if (bytes.length === 0) {
      cb?.();
      return;
    }
    if (this.closed || this.transport.writableEnded || this.transport.destroyed) {
      cb?.(new Error("connection closed"));
      return;
    }
    this.transport.write(bytes, cb);
  }

  private endTransport(): void {
    // After what is queued: GOAWAY and the last DATA frames must go out first.
    if (this.out.length === 0) this.transport.end();
    else
      this.queue(
        Promise.resolve(Buffer.alloc(0)),
        () => void (this.transport.writableEnded || this.transport.end()),
      );
  }

  private shutdown(why: string): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of [...this.streams.values()]) s.abort(why);
    this.streams.clear();
    this.compressor.close();
    this.decompressor.close();
    if (!this.transport.destroyed) this.transport.destroy();
    this.emit("close");
  }

  /** Handles frames in arrival order, one at a time (a header block's inflate is asynchronous). */
  private async readFrames(): Promise<void> {
    if (this.reading) return;
    this.reading = true;
    try {
      for (;;) {
        if (this.closed) return;
        const f = this.reader.next();
        if (f === undefined) {
          if (this.reader.buffered > MAX_FRAME_LENGTH + 8) throw new SpdyProtocolError("frame too large");
          return;
        }
        await this.handle(f);
      }
    } catch {
      // A frame we cannot read leaves the decompressor out of step: the connection is over.
      if (!this.closed) {
        this.sendFrame({
          type: "GOAWAY",
          lastGoodStreamId: this.lastStreamId,
          status: GoAwayStatus.PROTOCOL_ERROR,
        });
        this.goneAway = true;
        this.endTransport();
        this.shutdown("protocol error");
      }
    } finally {
      this.reading = false;
    }
  }

  private async handle(f: Frame): Promise<void> {
    switch (f.type) {
      case "SYN_STREAM": {
        // Always inflate: the zlib stream must see every block, even of a refused stream.
        const headers = await this.decompressor.decompress(f.headerBlock);
        if (this.goneAway) return;
        if (f.streamId === 0 || f.streamId % 2 === 0 || f.streamId <= this.lastStreamId) {
          this.sendFrame({ type: "RST_STREAM", streamId: f.streamId, status: RstStatus.PROTOCOL_ERROR });
          return;
        }
        this.lastStreamId = f.streamId;
        const s = new SpdyStream(this, f.streamId, headers);
        this.streams.set(f.streamId, s);
        if ((f.flags & FLAG_UNIDIRECTIONAL) !== 0) {
          s.localClosed = true;
          s.end();
        }
        if ((f.flags & FLAG_FIN) !== 0) s.remoteFinished();
        this.emit("stream", s);
        return;
      }
      case "SYN_REPLY":
      case "HEADERS":
        await this.decompressor.decompress(f.headerBlock);
        if ((f.flags & FLAG_FIN) !== 0) this.streams.get(f.streamId)?.remoteFinished();
        return;
      case "DATA": {
        const s = this.streams.get(f.streamId);
        if (s === undefined) return; // gone already, as spdystream's handleDataFrame
        if (!s.deliver(f.data, (f.flags & FLAG_FIN) !== 0) && !this.paused) {
          this.paused = true;
          this.transport.pause();
        }
        return;
      }
      case "RST_STREAM":
        this.streams.get(f.streamId)?.abort(`stream ${f.streamId} reset by the client (status ${f.status})`);
        return;
      case "PING":
        // Odd ids are the client's: echo them; an even one would answer a ping we never send.
        if (f.id % 2 === 1) this.sendFrame(f);
        return;
      case "GOAWAY":
        this.goneAway = true;
        if (this.streams.size === 0) this.endTransport();
        return;
      case "SETTINGS":
      case "WINDOW_UPDATE":
      case "UNKNOWN":
        return;
    }
  }
}
