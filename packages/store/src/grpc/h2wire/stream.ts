/**
 * One server-side HTTP/2 stream of an H2Connection, with the part of node:http2's
 * ServerHttp2Stream the gRPC server uses: 'data' / 'end' / 'close' / 'wantTrailers' events,
 * respond(), write(), end(), sendTrailers(), close(code).
 */
import { EventEmitter } from "node:events";
import { encodeIndexedName, encodeLiteral } from "./hpack.js";

/** Response header fields as node:http2 takes them. */
export type OutgoingHeaders = Record<string, string | number>;

/** What a stream needs of its connection. */
export interface StreamHost {
  sendHeaders(stream: WireStream, block: Buffer, endStream: boolean): void;
  /** Queues data (sent as the peer's flow-control windows allow); cb runs once it is written. */
  sendData(stream: WireStream, data: Buffer, endStream: boolean, cb: (() => void) | undefined): void;
  /** Emits 'wantTrailers' on the stream once everything queued before is written. */
  requestTrailers(stream: WireStream): void;
  resetStream(stream: WireStream, code: number): void;
  /** Bytes queued on this stream and not yet written to the socket. */
  queuedBytes(stream: WireStream): number;
}

/** Queued bytes past which write() returns false, as a Writable's highWaterMark. */
const highWaterMark = 64 * 1024;

const statusField = new Map<string, Buffer>();
const fieldCache = new Map<string, Buffer>();
const cacheLimit = 1024;

/** HPACK static table indexes of the names a gRPC response uses (RFC 7541 Appendix A). */
const staticNames: Record<string, number> = { ":status": 8, "content-type": 31 };

function encodeField(name: string, value: string): Buffer {
  if (name === ":status" && value === "200") return indexed200;
  const key = `${name}\u0000${value}`;
  const cache = name === ":status" ? statusField : fieldCache;
  let b = cache.get(key);
  if (b === undefined) {
    const index = staticNames[name];
    b = index === undefined ? encodeLiteral(name, value) : encodeIndexedName(index, value);
    if (cache.size < cacheLimit && value.length <= 64) cache.set(key, b);
  }
  return b;
}

/** ":status: 200" is static table entry 8: one byte. */
const indexed200 = Buffer.from([0x88]);

export function encodeHeaderBlock(headers: OutgoingHeaders): Buffer {
  const parts: Buffer[] = [];
  let n = 0;
  // Pseudo-header fields first (RFC 9113 §8.3).
  const status = headers[":status"];
  if (status !== undefined) {
    const b = encodeField(":status", String(status));
    parts.push(b);
    n += b.length;
  }
  for (const name in headers) {
    if (name === ":status") continue;
    const b = encodeField(name.toLowerCase(), String(headers[name]));
    parts.push(b);
    n += b.length;
  }
  return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, n);
}

export class WireStream extends EventEmitter {
  /** Set once the stream is closed in both directions or reset. */
  closed = false;
  destroyed = false;
  /** The peer sent END_STREAM. */
  remoteEnded = false;
  /** This side sent (or queued) END_STREAM. */
  localEnded = false;
  private headersSent = false;
  private waitForTrailers = false;
  /** Flow-control window for what this side sends, and for what the peer sends. */
  sendWindow: number;
  recvUnacked = 0;

  constructor(
    readonly id: number,
    private readonly host: StreamHost,
    initialSendWindow: number,
  ) {
    super();
    this.sendWindow = initialSendWindow;
  }

  /** The connection this stream belongs to, as node:http2's stream.session. */
  get session(): object {
    return this.host;
  }

  get writableLength(): number {
    return this.host.queuedBytes(this);
  }

  respond(headers: OutgoingHeaders, opts: { endStream?: boolean; waitForTrailers?: boolean } = {}): void {
    if (this.headersSent || this.closed) return;
    this.headersSent = true;
    this.waitForTrailers = opts.waitForTrailers === true;
    const end = opts.endStream === true;
    if (end) this.localEnded = true;
    this.host.sendHeaders(this, encodeHeaderBlock(headers), end);
  }

  write(data: Buffer, cb?: () => void): boolean {
    if (this.closed || this.localEnded) {
      if (cb !== undefined) queueMicrotask(cb);
      return false;
    }
    if (!this.headersSent) this.respond({ ":status": 200 });
    this.host.sendData(this, data, false, cb);
    return this.host.queuedBytes(this) < highWaterMark;
  }

  /** Ends this side: END_STREAM on an empty DATA frame, or 'wantTrailers' once all data is out. */
  end(): void {
    if (this.closed || this.localEnded) return;
    if (!this.headersSent) this.respond({ ":status": 200 });
    if (this.waitForTrailers) {
      // 'wantTrailers' when everything queued has been written, as node:http2 does.
      this.host.requestTrailers(this);
      return;
    }
    this.localEnded = true;
    this.host.sendData(this, Buffer.alloc(0), true, undefined);
  }

  sendTrailers(headers: OutgoingHeaders): void {
    if (this.closed || this.localEnded) return;
    this.localEnded = true;
    this.host.sendHeaders(this, encodeHeaderBlock(headers), true);
  }

  /** Resets the stream (RST_STREAM with `code`). */
  close(code = 0): void {
    if (this.closed) return;
    this.host.resetStream(this, code);
  }
}
