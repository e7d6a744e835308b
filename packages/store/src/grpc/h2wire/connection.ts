/**
 * The server side of one HTTP/2 connection (RFC 9113) over a plain TCP socket, with what a gRPC
 * server needs and nothing more: streams opened by the client, HPACK header blocks (continuations
 * included), flow control both ways, SETTINGS, PING, RST_STREAM, GOAWAY. No server push, no
 * priorities (ignored), no TLS. Output is gathered per event-loop turn and written with one socket
 * write, as node:http2 does.
 *
 * node:http2's per-call cost (stream objects with Readable and Writable state, header objects
 * converted both ways, a write per stream) was the largest fixed cost of a put (docs/benchmarks.md).
 * This connection keeps per-stream state to one small object and pre-encodes the constant
 * response headers.
 */
import type { Socket } from "node:net";
import {
  ConnectionError,
  clientPreface,
  defaultMaxFrameSize,
  defaultWindow,
  ErrorCode,
  Flag,
  FrameType,
  frameHeaderBytes,
  goawayFrame,
  maxWindow,
  rstStreamFrame,
  Setting,
  settingsFrame,
  windowUpdateFrame,
  writeFrameHeader,
} from "./frames.js";
import { HpackDecoder } from "./hpack.js";
import { type StreamHost, WireStream } from "./stream.js";

/** Request header fields, as node:http2's IncomingHttpHeaders (last value wins). */
export type IncomingHeaders = Record<string, string>;

/** What this server advertises: large receive windows (requests up to a few MiB need no round trip). */
const streamRecvWindow = 4 * 1024 * 1024;
const connRecvWindow = 16 * 1024 * 1024;
/** A header block (HEADERS and its CONTINUATIONs) larger than this ends the connection. */
const maxHeaderBlockBytes = 256 * 1024;
/** Decoded header lists larger than this end the connection (advertised in SETTINGS). */
const maxHeaderListBytes = 1024 * 1024;
/** Bytes written and not yet taken by the socket past which the connection is dropped. */
const maxUnreadBytes = 64 * 1024 * 1024;
/** Output gathered in one turn up to this size is copied into one buffer; more goes out corked. */
const concatLimit = 256 * 1024;
/** A stream with at most this much queued output is drained first (see flush). */
const smallStreamBytes = 16 * 1024;

type Queued =
  | { kind: 0; data: Buffer; offset: number; end: boolean; cb: (() => void) | undefined }
  | { kind: 1; block: Buffer; end: boolean }
  | { kind: 2 };

interface PendingBlock {
  streamId: number;
  endStream: boolean;
  parts: Buffer[];
  bytes: number;
}

export class H2Connection implements StreamHost {
  private readonly streams = new Map<number, WireStream>();
  /** Streams with output queued, in the order they got it (small ones drained first: see flush). */
  private readonly queues = new Map<WireStream, Queued[]>();
  private readonly queued = new Map<WireStream, number>();
  private lastStreamId = 0;
  private input: Buffer | undefined;
  private prefaceSeen = false;
  private readonly decoder = new HpackDecoder(4096);
  private block: PendingBlock | undefined;
  private connSendWindow = defaultWindow;
  private peerInitialWindow = defaultWindow;
  private peerMaxFrameSize = defaultMaxFrameSize;
  private connRecvUnacked = 0;
  private out: Buffer[] = [];
  private outBytes = 0;
  private outCallbacks: (() => void)[] = [];
  private flushScheduled = false;
  private goingAway = false;
  private endAfterFlush = false;
  closed = false;

  constructor(
    private readonly socket: Socket,
    private readonly onStream: (stream: WireStream, headers: IncomingHeaders) => void,
    private readonly onClose: () => void,
  ) {
    socket.setNoDelay(true);
    this.push(
      settingsFrame([
        [Setting.INITIAL_WINDOW_SIZE, streamRecvWindow],
        [Setting.ENABLE_PUSH, 0],
        [Setting.MAX_HEADER_LIST_SIZE, maxHeaderListBytes],
      ]),
    );
    this.push(windowUpdateFrame(0, connRecvWindow - defaultWindow));
    this.scheduleFlush();
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("error", () => undefined); // 'close' follows
    socket.on("close", () => this.onSocketClose());
  }

  /** Graceful close: GOAWAY, no new streams; the socket ends when the open streams have. */
  close(): void {
    if (this.goingAway || this.closed) return;
    this.goingAway = true;
    this.push(goawayFrame(this.lastStreamId, ErrorCode.NO_ERROR));
    this.maybeEnd();
  }

  destroy(): void {
    this.socket.destroy();
  }

  // ---- input ----

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    try {
      this.parse(chunk);
    } catch (e) {
      const code = e instanceof ConnectionError ? e.code : ErrorCode.INTERNAL_ERROR;
      this.fail(code, (e as Error).message);
    }
  }

  private fail(code: number, message: string): void {
    this.push(goawayFrame(this.lastStreamId, code, message));
    this.flush();
    this.closed = true;
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  private parse(chunk: Buffer): void {
    let buf = this.input === undefined ? chunk : Buffer.concat([this.input, chunk]);
    this.input = undefined;
    if (!this.prefaceSeen) {
      if (buf.length < clientPreface.length) {
        if (!clientPreface.subarray(0, buf.length).equals(buf))
          throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "bad connection preface");
        this.input = buf;
        return;
      }
      if (!buf.subarray(0, clientPreface.length).equals(clientPreface))
        throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "bad connection preface");
      this.prefaceSeen = true;
      buf = buf.subarray(clientPreface.length);
    }
    let at = 0;
    while (buf.length - at >= frameHeaderBytes) {
      const length = ((buf[at] as number) << 16) | ((buf[at + 1] as number) << 8) | (buf[at + 2] as number);
      if (length > defaultMaxFrameSize)
        throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, `frame of ${length} bytes`);
      if (buf.length - at < frameHeaderBytes + length) break;
      const type = buf[at + 3] as number;
      const flags = buf[at + 4] as number;
      const streamId = buf.readUInt32BE(at + 5) & maxWindow;
      const payload = buf.subarray(at + frameHeaderBytes, at + frameHeaderBytes + length);
      at += frameHeaderBytes + length;
      this.onFrame(type, flags, streamId, payload);
      if (this.closed) return;
    }
    if (at < buf.length) this.input = buf.subarray(at);
  }

  private onFrame(type: number, flags: number, streamId: number, payload: Buffer): void {
    if (this.block !== undefined && type !== FrameType.CONTINUATION)
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "expected CONTINUATION");
    switch (type) {
      case FrameType.DATA:
        this.onDataFrame(flags, streamId, payload);
        return;
      case FrameType.HEADERS:
        this.onHeaders(flags, streamId, payload);
        return;
      case FrameType.CONTINUATION:
        this.onContinuation(flags, streamId, payload);
        return;
      case FrameType.RST_STREAM:
        this.onRstStream(streamId, payload);
        return;
      case FrameType.SETTINGS:
        this.onSettings(flags, streamId, payload);
        return;
      case FrameType.PING:
        if (streamId !== 0 || payload.length !== 8)
          throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "bad PING");
        if ((flags & Flag.ACK) === 0) {
          this.checkUnread();
          this.pushFrame(FrameType.PING, Flag.ACK, 0, payload);
          this.scheduleFlush();
        }
        return;
      case FrameType.GOAWAY:
        this.goingAway = true;
        this.maybeEnd();
        return;
      case FrameType.WINDOW_UPDATE:
        this.onWindowUpdate(streamId, payload);
        return;
      case FrameType.PUSH_PROMISE:
        throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "PUSH_PROMISE from a client");
      case FrameType.PRIORITY:
        if (streamId === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "PRIORITY on stream 0");
        return;
      default:
        return; // unknown frame types are ignored (RFC 9113 §4.1)
    }
  }

  private onDataFrame(flags: number, streamId: number, payload: Buffer): void {
    if (streamId === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "DATA on stream 0");
    // Flow control counts the whole payload, padding included.
    this.connRecvUnacked += payload.length;
    if (this.connRecvUnacked > connRecvWindow)
      throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, "connection window exceeded");
    if (this.connRecvUnacked >= connRecvWindow / 2) {
      this.push(windowUpdateFrame(0, this.connRecvUnacked));
      this.connRecvUnacked = 0;
    }
    const s = this.streams.get(streamId);
    if (s === undefined || s.remoteEnded) {
      if (streamId > this.lastStreamId)
        throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "DATA on an idle stream");
      this.push(rstStreamFrame(streamId, ErrorCode.STREAM_CLOSED));
      this.scheduleFlush();
      return;
    }
    s.recvUnacked += payload.length;
    if (s.recvUnacked > streamRecvWindow) {
      this.resetStream(s, ErrorCode.FLOW_CONTROL_ERROR);
      return;
    }
    if (s.recvUnacked >= streamRecvWindow / 2 && (flags & Flag.END_STREAM) === 0) {
      this.push(windowUpdateFrame(streamId, s.recvUnacked));
      s.recvUnacked = 0;
    }
    if (this.out.length > 0) this.scheduleFlush();
    const data = (flags & Flag.PADDED) !== 0 ? unpad(payload) : payload;
    if (data.length > 0) {
      try {
        s.emit("data", data);
      } catch {
        this.resetStream(s, ErrorCode.INTERNAL_ERROR);
        return;
      }
    }
    if ((flags & Flag.END_STREAM) !== 0) this.remoteEnd(s);
  }

  private onHeaders(flags: number, streamId: number, payload: Buffer): void {
    if (streamId === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "HEADERS on stream 0");
    let fragment = (flags & Flag.PADDED) !== 0 ? unpad(payload) : payload;
    if ((flags & Flag.PRIORITY) !== 0) {
      if (fragment.length < 5) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "short HEADERS");
      fragment = fragment.subarray(5);
    }
    const block: PendingBlock = {
      streamId,
      endStream: (flags & Flag.END_STREAM) !== 0,
      parts: [fragment],
      bytes: fragment.length,
    };
    if ((flags & Flag.END_HEADERS) !== 0) this.onHeaderBlock(block);
    else this.block = block;
  }

  private onContinuation(flags: number, streamId: number, payload: Buffer): void {
    const block = this.block;
    if (block === undefined || block.streamId !== streamId)
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "unexpected CONTINUATION");
    block.parts.push(payload);
    block.bytes += payload.length;
    if (block.bytes > maxHeaderBlockBytes)
      throw new ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, "header block too large");
    if ((flags & Flag.END_HEADERS) === 0) return;
    this.block = undefined;
    this.onHeaderBlock(block);
  }

  private onHeaderBlock(block: PendingBlock): void {
    const bytes = block.parts.length === 1 ? (block.parts[0] as Buffer) : Buffer.concat(block.parts);
    // Every block is decoded, even one for a stream that is refused: it changes the HPACK table.
    const headers: IncomingHeaders = {};
    let listSize = 0;
    try {
      this.decoder.decodeInto(bytes, (name, value) => {
        // RFC 9113 §6.5.2's measure; a few bytes can index large table entries many times.
        listSize += name.length + value.length + 32;
        if (listSize <= maxHeaderListBytes) headers[name] = value;
      });
    } catch (e) {
      throw new ConnectionError(ErrorCode.COMPRESSION_ERROR, (e as Error).message);
    }
    if (listSize > maxHeaderListBytes)
      throw new ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, `header list of ${listSize} bytes`);
    const id = block.streamId;
    const existing = this.streams.get(id);
    if (existing !== undefined) {
      // Trailers from the client (gRPC clients send none): they can only end the stream.
      if (!block.endStream) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "HEADERS without END_STREAM");
      this.remoteEnd(existing);
      return;
    }
    if (id % 2 === 0 || id <= this.lastStreamId)
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `HEADERS opening stream ${id}`);
    this.lastStreamId = id;
    if (this.goingAway) {
      this.push(rstStreamFrame(id, ErrorCode.REFUSED_STREAM));
      this.scheduleFlush();
      return;
    }
    const s = new WireStream(id, this, this.peerInitialWindow);
    this.streams.set(id, s);
    this.guard(s, () => this.onStream(s, headers));
    if (block.endStream) this.remoteEnd(s);
  }

  /**
   * Flow control bounds the data this side writes, not its answers to the client's PING and
   * SETTINGS frames: a client that keeps sending them without reading is cut off.
   */
  private checkUnread(): void {
    if (this.socket.writableLength > maxUnreadBytes)
      throw new ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, "the client does not read its answers");
  }

  /** A handler that throws resets its own stream, not the connection. */
  private guard(s: WireStream, f: () => void): void {
    try {
      f();
    } catch {
      this.resetStream(s, ErrorCode.INTERNAL_ERROR);
    }
  }

  private onRstStream(streamId: number, payload: Buffer): void {
    if (streamId === 0 || payload.length !== 4)
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "bad RST_STREAM");
    const s = this.streams.get(streamId);
    if (s !== undefined) this.closeStream(s, true);
  }

  private onSettings(flags: number, streamId: number, payload: Buffer): void {
    if (streamId !== 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "SETTINGS on a stream");
    if ((flags & Flag.ACK) !== 0) return;
    if (payload.length % 6 !== 0)
      throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "bad SETTINGS length");
    for (let i = 0; i < payload.length; i += 6) {
      const id = payload.readUInt16BE(i);
      const value = payload.readUInt32BE(i + 2);
      if (id === Setting.INITIAL_WINDOW_SIZE) {
        if (value > maxWindow) throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, "window too large");
        const delta = value - this.peerInitialWindow;
        this.peerInitialWindow = value;
        for (const s of this.streams.values()) s.sendWindow += delta;
      } else if (id === Setting.MAX_FRAME_SIZE) {
        if (value < defaultMaxFrameSize || value > 2 ** 24 - 1)
          throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "bad MAX_FRAME_SIZE");
        this.peerMaxFrameSize = value;
      } else if (id === Setting.ENABLE_PUSH && value > 1) {
        throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "bad ENABLE_PUSH");
      }
      // HEADER_TABLE_SIZE limits the table of our encoder, which uses none.
    }
    this.checkUnread();
    this.pushFrame(FrameType.SETTINGS, Flag.ACK, 0, undefined);
    this.scheduleFlush();
  }

  private onWindowUpdate(streamId: number, payload: Buffer): void {
    if (payload.length !== 4) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "bad WINDOW_UPDATE");
    const increment = payload.readUInt32BE(0) & maxWindow;
    if (streamId === 0) {
      if (increment === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "WINDOW_UPDATE of 0");
      this.connSendWindow += increment;
      if (this.connSendWindow > maxWindow)
        throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, "connection window overflow");
    } else {
      const s = this.streams.get(streamId);
      if (s === undefined) return;
      if (increment === 0) {
        this.resetStream(s, ErrorCode.PROTOCOL_ERROR);
        return;
      }
      s.sendWindow += increment;
      if (s.sendWindow > maxWindow) {
        this.resetStream(s, ErrorCode.FLOW_CONTROL_ERROR);
        return;
      }
    }
    if (this.queues.size > 0) this.scheduleFlush();
  }

  private remoteEnd(s: WireStream): void {
    if (s.remoteEnded) return;
    s.remoteEnded = true;
    this.guard(s, () => s.emit("end"));
    if (s.localEnded && !this.queues.has(s)) this.closeStream(s, false);
  }

  // ---- output ----

  sendHeaders(s: WireStream, block: Buffer, endStream: boolean): void {
    this.enqueue(s, { kind: 1, block, end: endStream });
  }

  sendData(s: WireStream, data: Buffer, endStream: boolean, cb: (() => void) | undefined): void {
    this.enqueue(s, { kind: 0, data, offset: 0, end: endStream, cb });
  }

  /** Asks for 'wantTrailers' once everything queued before it is written (in the same write). */
  requestTrailers(s: WireStream): void {
    this.enqueue(s, { kind: 2 });
  }

  queuedBytes(s: WireStream): number {
    return this.queued.get(s) ?? 0;
  }

  resetStream(s: WireStream, code: number): void {
    if (s.closed) return;
    this.push(rstStreamFrame(s.id, code));
    this.scheduleFlush();
    this.closeStream(s, true);
  }

  private enqueue(s: WireStream, q: Queued): void {
    if (s.closed) {
      if (q.kind === 0 && q.cb !== undefined) queueMicrotask(q.cb);
      return;
    }
    let list = this.queues.get(s);
    if (list === undefined) {
      list = [];
      this.queues.set(s, list);
    }
    list.push(q);
    if (q.kind === 0) this.queued.set(s, (this.queued.get(s) ?? 0) + q.data.length);
    this.scheduleFlush();
  }

  private closeStream(s: WireStream, reset: boolean): void {
    if (s.closed) return;
    s.closed = true;
    if (reset) s.destroyed = true;
    this.streams.delete(s.id);
    const list = this.queues.get(s);
    this.queues.delete(s);
    this.queued.delete(s);
    // Writes that will never go out still get their callbacks (callers count queued bytes).
    for (const q of list ?? []) if (q.kind === 0 && q.cb !== undefined) queueMicrotask(q.cb);
    queueMicrotask(() => s.emit("close"));
    this.maybeEnd();
  }

  private push(b: Buffer): void {
    this.out.push(b);
    this.outBytes += b.length;
  }

  private pushFrame(type: number, flags: number, streamId: number, payload: Buffer | undefined): void {
    const n = payload?.length ?? 0;
    const out = Buffer.allocUnsafe(frameHeaderBytes + n);
    writeFrameHeader(out, 0, n, type, flags, streamId);
    if (payload !== undefined) payload.copy(out, frameHeaderBytes);
    this.push(out);
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  /**
   * Moves queued stream output into frames (as the windows allow) and writes everything at once.
   * Streams with little queued (unary replies) go first: the connection's send window is shared,
   * and a client busy reading a watch stream's backlog returns it slowly; a Put's reply should not
   * wait behind that backlog (gRPC-Go's writer takes turns between streams for the same reason).
   */
  private flush(): void {
    this.flushScheduled = false;
    for (const [s, list] of this.queues)
      if ((this.queued.get(s) ?? 0) <= smallStreamBytes) this.drainStream(s, list);
    for (const [s, list] of this.queues) this.drainStream(s, list);
    if (this.out.length > 0 && !this.socket.destroyed) this.writeOut();
    this.out = [];
    this.outBytes = 0;
    if (this.endAfterFlush && !this.closed) {
      this.closed = true;
      this.socket.end();
    }
  }

  private writeOut(): void {
    const out = this.out;
    const callbacks = this.outCallbacks;
    this.out = [];
    this.outCallbacks = [];
    const done =
      callbacks.length === 0
        ? undefined
        : () => {
            for (const cb of callbacks) cb();
          };
    if (this.outBytes <= concatLimit || out.length === 1) {
      this.socket.write(out.length === 1 ? (out[0] as Buffer) : Buffer.concat(out, this.outBytes), done);
    } else {
      this.socket.cork();
      for (let i = 0; i < out.length - 1; i++) this.socket.write(out[i] as Buffer);
      this.socket.write(out[out.length - 1] as Buffer, done);
      this.socket.uncork();
    }
  }

  private drainStream(s: WireStream, list: Queued[]): void {
    let i = 0;
    let endSent = false;
    for (; i < list.length; i++) {
      const q = list[i] as Queued;
      if (q.kind === 1) {
        this.pushHeaderFrames(s.id, q.block, q.end);
        endSent ||= q.end;
        continue;
      }
      if (q.kind === 2) {
        // node:http2 emits 'wantTrailers' when the data before it is out; trailers sent from the
        // handler join this same write.
        s.emit("wantTrailers");
        continue;
      }
      let remaining = q.data.length - q.offset;
      while (remaining > 0) {
        const n = Math.min(remaining, s.sendWindow, this.connSendWindow, this.peerMaxFrameSize);
        if (n <= 0) break;
        const last = n === remaining;
        const header = Buffer.allocUnsafe(frameHeaderBytes);
        writeFrameHeader(header, 0, n, FrameType.DATA, last && q.end ? Flag.END_STREAM : 0, s.id);
        this.push(header);
        this.push(q.data.subarray(q.offset, q.offset + n));
        q.offset += n;
        remaining -= n;
        s.sendWindow -= n;
        this.connSendWindow -= n;
        this.queued.set(s, (this.queued.get(s) ?? 0) - n);
      }
      if (remaining > 0) break; // blocked by flow control: WINDOW_UPDATE resumes it
      if (q.data.length === 0 && q.end) {
        const header = Buffer.allocUnsafe(frameHeaderBytes);
        writeFrameHeader(header, 0, 0, FrameType.DATA, Flag.END_STREAM, s.id);
        this.push(header);
      }
      endSent ||= q.end;
      if (q.cb !== undefined) this.outCallbacks.push(q.cb);
    }
    // ('wantTrailers' handlers append to this list while it is drained: the loop takes those too.)
    if (i >= list.length) {
      this.queues.delete(s);
      this.queued.delete(s);
    } else list.splice(0, i);
    if (endSent) {
      if (!s.remoteEnded) this.push(rstStreamFrame(s.id, ErrorCode.NO_ERROR));
      if (!this.queues.has(s)) this.closeStream(s, false);
    }
  }

  private pushHeaderFrames(streamId: number, block: Buffer, end: boolean): void {
    const max = this.peerMaxFrameSize;
    let at = 0;
    let first = true;
    do {
      const n = Math.min(max, block.length - at);
      const last = at + n >= block.length;
      const type = first ? FrameType.HEADERS : FrameType.CONTINUATION;
      const flags = (first && end ? Flag.END_STREAM : 0) | (last ? Flag.END_HEADERS : 0);
      const out = Buffer.allocUnsafe(frameHeaderBytes + n);
      writeFrameHeader(out, 0, n, type, flags, streamId);
      block.copy(out, frameHeaderBytes, at, at + n);
      this.push(out);
      at += n;
      first = false;
    } while (at < block.length);
  }

  /** Once going away with no stream left: the socket ends after the next flush. */
  private maybeEnd(): void {
    if (!this.goingAway || this.streams.size > 0 || this.closed) return;
    this.endAfterFlush = true;
    this.scheduleFlush();
  }

  private onSocketClose(): void {
    this.closed = true;
    for (const s of [...this.streams.values()]) this.closeStream(s, true);
    this.onClose();
  }
}

/** The payload of a PADDED frame without its pad length byte and padding. */
function unpad(payload: Buffer): Buffer {
  if (payload.length < 1) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "padded frame too short");
  const pad = payload[0] as number;
  if (pad >= payload.length) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "padding too long");
  return payload.subarray(1, payload.length - pad);
}
