/**
 * SPDY/3 frames (SPDY draft 3, section 2.2; moby/spdystream's spdy/read.go and write.go, the
 * framer kube's httpstream/spdy uses). Every frame starts with 8 bytes:
 *
 *   control: 1 | version (15) | type (16) | flags (8) | length (24) | payload
 *   data:    0 | stream id (31)           | flags (8) | length (24) | data
 *
 * Frames with a header block (SYN_STREAM, SYN_REPLY, HEADERS) carry it compressed; this file
 * moves the compressed bytes only, headers.ts compresses and decodes them (the zlib state spans
 * every frame of a connection, so it cannot be done frame by frame here).
 */

export const SPDY_VERSION = 3;

export const SYN_STREAM = 1;
export const SYN_REPLY = 2;
export const RST_STREAM = 3;
export const SETTINGS = 4;
export const PING = 6;
export const GOAWAY = 7;
export const HEADERS = 8;
export const WINDOW_UPDATE = 9;

/** FLAG_FIN on data and stream control frames: the sender's half of the stream is closed. */
export const FLAG_FIN = 0x01;
/** FLAG_UNIDIRECTIONAL on SYN_STREAM: the receiver will not send on it. */
export const FLAG_UNIDIRECTIONAL = 0x02;

/** RST_STREAM status codes (spdystream's RstStreamStatus). */
export const RstStatus = {
  PROTOCOL_ERROR: 1,
  INVALID_STREAM: 2,
  REFUSED_STREAM: 3,
  UNSUPPORTED_VERSION: 4,
  CANCEL: 5,
  INTERNAL_ERROR: 6,
  FLOW_CONTROL_ERROR: 7,
  STREAM_IN_USE: 8,
  STREAM_ALREADY_CLOSED: 9,
} as const;

/** GOAWAY status codes. */
export const GoAwayStatus = { OK: 0, PROTOCOL_ERROR: 1, INTERNAL_ERROR: 2 } as const;

/** The largest payload a frame's 24-bit length can say. */
export const MAX_FRAME_LENGTH = 0xffffff;

export interface SettingsEntry {
  flags: number;
  id: number;
  value: number;
}

export type Frame =
  | {
      type: "SYN_STREAM";
      flags: number;
      streamId: number;
      associatedToStreamId: number;
      priority: number;
      slot: number;
      headerBlock: Buffer;
    }
  | { type: "SYN_REPLY"; flags: number; streamId: number; headerBlock: Buffer }
  | { type: "RST_STREAM"; streamId: number; status: number }
  | { type: "SETTINGS"; flags: number; entries: SettingsEntry[] }
  | { type: "PING"; id: number }
  | { type: "GOAWAY"; lastGoodStreamId: number; status: number }
  | { type: "HEADERS"; flags: number; streamId: number; headerBlock: Buffer }
  | { type: "WINDOW_UPDATE"; streamId: number; delta: number }
  | { type: "DATA"; flags: number; streamId: number; data: Buffer }
  /** A control frame of a type SPDY/3 does not define, or of another version: ignored (2.2.1). */
  | { type: "UNKNOWN"; version: number; code: number; flags: number };

export class SpdyProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SpdyProtocolError";
  }
}

const STREAM_ID_MASK = 0x7fffffff;

function controlFrame(type: number, flags: number, payload: Buffer): Buffer {
  if (payload.length > MAX_FRAME_LENGTH) throw new SpdyProtocolError("frame too large");
  const out = Buffer.allocUnsafe(8 + payload.length);
  out.writeUInt16BE(0x8000 | SPDY_VERSION, 0);
  out.writeUInt16BE(type, 2);
  out.writeUInt32BE(payload.length, 4);
  out.writeUInt8(flags & 0xff, 4);
  payload.copy(out, 8);
  return out;
}

function words(...values: number[]): Buffer {
  const b = Buffer.allocUnsafe(4 * values.length);
  values.forEach((v, i) => {
    b.writeUInt32BE(v >>> 0, 4 * i);
  });
  return b;
}

/** The bytes of `f` (its header block, if any, already compressed). */
export function encodeFrame(f: Frame): Buffer {
  switch (f.type) {
    case "SYN_STREAM": {
      const head = Buffer.allocUnsafe(10);
      head.writeUInt32BE(f.streamId & STREAM_ID_MASK, 0);
      head.writeUInt32BE(f.associatedToStreamId & STREAM_ID_MASK, 4);
      head.writeUInt8((f.priority & 0x7) << 5, 8);
      head.writeUInt8(f.slot & 0xff, 9);
      return controlFrame(SYN_STREAM, f.flags, Buffer.concat([head, f.headerBlock]));
    }
    case "SYN_REPLY":
      return controlFrame(
        SYN_REPLY,
        f.flags,
        Buffer.concat([words(f.streamId & STREAM_ID_MASK), f.headerBlock]),
      );
    case "HEADERS":
      return controlFrame(
        HEADERS,
        f.flags,
        Buffer.concat([words(f.streamId & STREAM_ID_MASK), f.headerBlock]),
      );
    case "RST_STREAM":
      return controlFrame(RST_STREAM, 0, words(f.streamId & STREAM_ID_MASK, f.status));
    case "SETTINGS":
      return controlFrame(
        SETTINGS,
        f.flags,
        Buffer.concat([
          words(f.entries.length),
          ...f.entries.map((e) => words((((e.flags & 0xff) << 24) | (e.id & 0xffffff)) >>> 0, e.value)),
        ]),
      );
    case "PING":
      return controlFrame(PING, 0, words(f.id));
    case "GOAWAY":
      return controlFrame(GOAWAY, 0, words(f.lastGoodStreamId & STREAM_ID_MASK, f.status));
    case "WINDOW_UPDATE":
      return controlFrame(WINDOW_UPDATE, 0, words(f.streamId & STREAM_ID_MASK, f.delta & STREAM_ID_MASK));
    case "DATA": {
      if (f.data.length > MAX_FRAME_LENGTH) throw new SpdyProtocolError("frame too large");
      const out = Buffer.allocUnsafe(8 + f.data.length);
      out.writeUInt32BE(f.streamId & STREAM_ID_MASK, 0);
      out.writeUInt32BE(f.data.length, 4);
      out.writeUInt8(f.flags & 0xff, 4);
      f.data.copy(out, 8);
      return out;
    }
    case "UNKNOWN":
      throw new SpdyProtocolError(`cannot encode control frame type ${f.code}`);
  }
}

function need(payload: Buffer, n: number, what: string): void {
  if (payload.length < n) throw new SpdyProtocolError(`invalid ${what} frame: ${payload.length} bytes`);
}

function decodeControl(version: number, code: number, flags: number, p: Buffer): Frame {
  if (version !== SPDY_VERSION) return { type: "UNKNOWN", version, code, flags };
  switch (code) {
    case SYN_STREAM:
      need(p, 10, "SYN_STREAM");
      return {
        type: "SYN_STREAM",
        flags,
        streamId: p.readUInt32BE(0) & STREAM_ID_MASK,
        associatedToStreamId: p.readUInt32BE(4) & STREAM_ID_MASK,
        priority: p.readUInt8(8) >> 5,
        slot: p.readUInt8(9),
        headerBlock: p.subarray(10),
      };
    case SYN_REPLY:
    case HEADERS:
      need(p, 4, code === SYN_REPLY ? "SYN_REPLY" : "HEADERS");
      return {
        type: code === SYN_REPLY ? "SYN_REPLY" : "HEADERS",
        flags,
        streamId: p.readUInt32BE(0) & STREAM_ID_MASK,
        headerBlock: p.subarray(4),
      };
    case RST_STREAM:
      need(p, 8, "RST_STREAM");
      return { type: "RST_STREAM", streamId: p.readUInt32BE(0) & STREAM_ID_MASK, status: p.readUInt32BE(4) };
    case SETTINGS: {
      need(p, 4, "SETTINGS");
      const n = p.readUInt32BE(0);
      need(p, 4 + 8 * n, "SETTINGS");
      const entries: SettingsEntry[] = [];
      for (let i = 0; i < n; i++) {
        const flagId = p.readUInt32BE(4 + 8 * i);
        entries.push({ flags: flagId >>> 24, id: flagId & 0xffffff, value: p.readUInt32BE(8 + 8 * i) });
      }
      return { type: "SETTINGS", flags, entries };
    }
    case PING:
      need(p, 4, "PING");
      return { type: "PING", id: p.readUInt32BE(0) };
    case GOAWAY:
      need(p, 8, "GOAWAY");
      return {
        type: "GOAWAY",
        lastGoodStreamId: p.readUInt32BE(0) & STREAM_ID_MASK,
        status: p.readUInt32BE(4),
      };
    case WINDOW_UPDATE:
      need(p, 8, "WINDOW_UPDATE");
      return {
        type: "WINDOW_UPDATE",
        streamId: p.readUInt32BE(0) & STREAM_ID_MASK,
        delta: p.readUInt32BE(4) & STREAM_ID_MASK,
      };
    default:
      return { type: "UNKNOWN", version, code, flags };
  }
}

/**
 * Cuts a byte stream into frames: `push` what arrives (frames may be split across chunks, or
 * several may share one, as a WebSocket tunnel delivers them), then take frames with `next`
 * until it returns undefined.
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  private length = 0;

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  /** Bytes received and not yet returned as frames. */
  get buffered(): number {
    return this.length;
  }

  next(): Frame | undefined {
    if (this.length < 8) return undefined;
    const head = this.peek(8);
    const total = 8 + (head.readUInt32BE(4) & 0xffffff);
    if (this.length < total) return undefined;
    const bytes = this.take(total);
    const flags = bytes.readUInt8(4);
    const payload = bytes.subarray(8);
    const first = bytes.readUInt32BE(0);
    if ((first & 0x80000000) === 0)
      return { type: "DATA", flags, streamId: first & STREAM_ID_MASK, data: payload };
    return decodeControl((first >>> 16) & 0x7fff, first & 0xffff, flags, payload);
  }

  private peek(n: number): Buffer {
    const first = this.chunks[0] as Buffer;
    if (first.length >= n) return first;
    this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0] as Buffer;
  }

  private take(n: number): Buffer {
    const all = this.peek(n);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    if (rest.length === 0) this.chunks.shift();
    else this.chunks[0] = rest;
    this.length -= n;
    return out;
  }
}
