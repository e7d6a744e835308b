/**
 * HTTP/2 framing (RFC 9113 §4, §6): the constants a gRPC server needs and the encoders of the
 * frames it sends. Every frame is a 9-byte header (24-bit length, type, flags, 31-bit stream id)
 * and its payload.
 */

export const FrameType = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;

export const Flag = {
  END_STREAM: 0x1,
  ACK: 0x1,
  END_HEADERS: 0x4,
  PADDED: 0x8,
  PRIORITY: 0x20,
} as const;

/** Error codes (RFC 9113 §7). */
export const ErrorCode = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  ENHANCE_YOUR_CALM: 0xb,
} as const;

export const Setting = {
  HEADER_TABLE_SIZE: 0x1,
  ENABLE_PUSH: 0x2,
  MAX_CONCURRENT_STREAMS: 0x3,
  INITIAL_WINDOW_SIZE: 0x4,
  MAX_FRAME_SIZE: 0x5,
  MAX_HEADER_LIST_SIZE: 0x6,
} as const;

export const frameHeaderBytes = 9;
export const defaultWindow = 65_535;
export const defaultMaxFrameSize = 16_384;
export const maxWindow = 2 ** 31 - 1;

/** The client connection preface (RFC 9113 §3.4). */
export const clientPreface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

/** A connection-level failure: the connection ends with GOAWAY carrying `code`. */
export class ConnectionError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export function writeFrameHeader(
  out: Buffer,
  at: number,
  length: number,
  type: number,
  flags: number,
  streamId: number,
): void {
  out[at] = (length >>> 16) & 0xff;
  out[at + 1] = (length >>> 8) & 0xff;
  out[at + 2] = length & 0xff;
  out[at + 3] = type;
  out[at + 4] = flags;
  out.writeUInt32BE(streamId & maxWindow, at + 5);
}

/** A frame with the given payload (copied after the header). */
export function frame(type: number, flags: number, streamId: number, payload?: Uint8Array): Buffer {
  const n = payload?.length ?? 0;
  const out = Buffer.allocUnsafe(frameHeaderBytes + n);
  writeFrameHeader(out, 0, n, type, flags, streamId);
  if (payload !== undefined) out.set(payload, frameHeaderBytes);
  return out;
}

export function settingsFrame(values: readonly [number, number][]): Buffer {
  const out = Buffer.allocUnsafe(frameHeaderBytes + 6 * values.length);
  writeFrameHeader(out, 0, 6 * values.length, FrameType.SETTINGS, 0, 0);
  values.forEach(([id, v], i) => {
    out.writeUInt16BE(id, frameHeaderBytes + 6 * i);
    out.writeUInt32BE(v, frameHeaderBytes + 6 * i + 2);
  });
  return out;
}

export function windowUpdateFrame(streamId: number, increment: number): Buffer {
  const out = Buffer.allocUnsafe(frameHeaderBytes + 4);
  writeFrameHeader(out, 0, 4, FrameType.WINDOW_UPDATE, 0, streamId);
  out.writeUInt32BE(increment, frameHeaderBytes);
  return out;
}

export function rstStreamFrame(streamId: number, code: number): Buffer {
  const out = Buffer.allocUnsafe(frameHeaderBytes + 4);
  writeFrameHeader(out, 0, 4, FrameType.RST_STREAM, 0, streamId);
  out.writeUInt32BE(code, frameHeaderBytes);
  return out;
}

export function goawayFrame(lastStreamId: number, code: number, debug = ""): Buffer {
  const d = Buffer.from(debug, "utf8");
  const out = Buffer.allocUnsafe(frameHeaderBytes + 8 + d.length);
  writeFrameHeader(out, 0, 8 + d.length, FrameType.GOAWAY, 0, 0);
  out.writeUInt32BE(lastStreamId & maxWindow, frameHeaderBytes);
  out.writeUInt32BE(code, frameHeaderBytes + 4);
  d.copy(out, frameHeaderBytes + 8);
  return out;
}
