/**
 * The peer wire format: length-prefixed msgpack frames. Each frame is a 4-byte big-endian length
 * followed by that many bytes of msgpack encoding a tuple `[kind, ...fields]`. A length prefix
 * (rather than msgpack's own streaming) lets the reader bound a frame before buffering it, and
 * lets a snapshot chunk be written without copying its bytes. See docs/transport.md.
 */
import type { Entry, Message, NodeId, Snapshot, SnapshotMetadata } from "@skiff/raft";
import { Packr, RESERVE_START_SPACE } from "msgpackr";
import {
  binaryMessageBytes,
  binaryMessageTag,
  MessageCodecError,
  maxMessageType,
  readBinaryMessage,
  writeBinaryMessage,
} from "./message-codec.js";

/** Bumped on any incompatible change to the frames below; the listener refuses other versions. */
export const protocolVersion = 2;

export const FrameKind = {
  /** Dialer -> listener, first frame of a stream: [0, version, clusterToken, from, to]. */
  Hello: 0,
  /**
   * A message (never a MsgSnap: those go as SnapHeader + SnapChunk), in its binary form
   * (message-codec.ts: the payload starts with 0x01, which no msgpack tuple does); [1, message] in
   * msgpack is still read.
   */
  Msg: 1,
  /** [2, message without snapshot, snapshot metadata, total data bytes]. */
  SnapHeader: 2,
  /** [3, bytes]: the next piece of the snapshot data announced by the last SnapHeader. */
  SnapChunk: 3,
  /** [4, sender's clock in ms]: answered with a Pong carrying the same stamp (round-trip time). */
  Ping: 4,
  Pong: 5,
} as const;

const lengthBytes = 4;
/** An unauthenticated peer may not make the listener buffer more than this before its hello. */
export const maxHelloBytes = 4096;

export interface Hello {
  readonly version: number;
  readonly clusterToken: string;
  readonly from: NodeId;
  readonly to: NodeId;
}

export type Frame =
  | { readonly kind: typeof FrameKind.Hello; readonly hello: Hello }
  | { readonly kind: typeof FrameKind.Msg; readonly message: Message }
  | {
      readonly kind: typeof FrameKind.SnapHeader;
      readonly message: Message;
      readonly metadata: SnapshotMetadata;
      readonly total: number;
    }
  | { readonly kind: typeof FrameKind.SnapChunk; readonly data: Uint8Array }
  | { readonly kind: typeof FrameKind.Ping | typeof FrameKind.Pong; readonly stamp: number };

/** The peer broke the protocol: the connection is closed (never the process). */
export class FrameError extends Error {}

/**
 * useRecords: false keeps every frame self-describing (no shared structure table to keep in step
 * across reconnects). Decoded Uint8Arrays are views of the frame (msgpackr's default): decodeFrame
 * first gives the frame its own exact-size memory, so an entry kept in the Raft log pins its own
 * frame (its neighbours in the same MsgApp, mostly) and never a 64 KiB socket chunk. One
 * allocation per frame instead of one per entry (copyBuffers) halves the decode time of a 64-entry
 * MsgApp (docs/transport.md).
 */
const packr = new Packr({ useRecords: false });

/** Encodes a tuple as one frame, the length prefix written into space msgpackr reserves for it. */
function frame(tuple: unknown[]): Buffer {
  const buf = packr.pack(tuple, RESERVE_START_SPACE | lengthBytes);
  buf.writeUInt32BE(buf.length - lengthBytes, 0);
  return buf;
}

export function encodeHello(h: Hello): Buffer {
  return frame([FrameKind.Hello, h.version, h.clusterToken, h.from, h.to]);
}

export function encodeMessage(m: Message): Buffer {
  if (m.snapshot !== undefined) return frame([FrameKind.Msg, m]);
  const n = binaryMessageBytes(m);
  const buf = Buffer.allocUnsafe(lengthBytes + n);
  buf.writeUInt32BE(n, 0);
  writeBinaryMessage(m, buf, lengthBytes);
  return buf;
}

export function encodeSnapHeader(m: Message, snapshot: Snapshot): Buffer {
  return frame([
    FrameKind.SnapHeader,
    { ...m, snapshot: undefined },
    snapshot.metadata,
    snapshot.data.length,
  ]);
}

export function encodePing(kind: typeof FrameKind.Ping | typeof FrameKind.Pong, stamp: number): Buffer {
  return frame([kind, stamp]);
}

/** fixarray(2), positive fixint 3 (SnapChunk), bin32 marker: then the 4-byte size and the bytes. */
const chunkPrefix = [0x92, FrameKind.SnapChunk, 0xc6];
const chunkHeaderBytes = lengthBytes + chunkPrefix.length + 4;

/**
 * The header of a SnapChunk frame carrying `size` bytes, written by hand so the chunk itself can
 * follow as a view of the snapshot data (no copy of a possibly large snapshot into frames).
 */
export function snapChunkHeader(size: number): Buffer {
  const buf = Buffer.allocUnsafe(chunkHeaderBytes);
  buf.writeUInt32BE(chunkHeaderBytes - lengthBytes + size, 0);
  buf.set(chunkPrefix, lengthBytes);
  buf.writeUInt32BE(size, lengthBytes + chunkPrefix.length);
  return buf;
}

/**
 * Decodes one frame payload (without its length prefix). `owned`: the payload is a buffer of its
 * own (FrameReader allocated it for this frame), not a view of a socket chunk. Throws FrameError on
 * anything malformed.
 */
export function decodeFrame(payload: Uint8Array, owned = false): Frame {
  // Fast path for our own SnapChunk encoding: a view, since the receiver copies it at once.
  if (
    payload.length >= 7 &&
    payload[0] === 0x92 &&
    payload[1] === FrameKind.SnapChunk &&
    payload[2] === 0xc6
  ) {
    const size = Buffer.from(payload.buffer, payload.byteOffset, payload.length).readUInt32BE(3);
    if (size !== payload.length - 7) throw new FrameError("snapshot chunk: size does not match frame");
    return { kind: FrameKind.SnapChunk, data: payload.subarray(7) };
  }
  if (payload[0] === binaryMessageTag) {
    try {
      return {
        kind: FrameKind.Msg,
        message: readBinaryMessage(
          owned ? Buffer.from(payload.buffer, payload.byteOffset, payload.length) : ownCopy(payload),
        ),
      };
    } catch (err) {
      if (err instanceof MessageCodecError) throw new FrameError(`bad message: ${err.message}`);
      throw err;
    }
  }
  let v: unknown;
  try {
    v = packr.unpack(owned ? payload : ownCopy(payload));
  } catch (err) {
    throw new FrameError(`undecodable frame: ${(err as Error).message}`);
  }
  if (!Array.isArray(v) || v.length === 0) throw new FrameError("frame is not a tuple");
  switch (v[0]) {
    case FrameKind.Hello:
      return {
        kind: FrameKind.Hello,
        hello: { version: uint(v[1]), clusterToken: str(v[2]), from: uint(v[3]), to: uint(v[4]) },
      };
    case FrameKind.Msg:
      return { kind: FrameKind.Msg, message: checkMessage(v[1]) };
    case FrameKind.SnapHeader:
      return {
        kind: FrameKind.SnapHeader,
        message: checkMessage(v[1]),
        metadata: checkMetadata(v[2]),
        total: uint(v[3]),
      };
    case FrameKind.SnapChunk:
      return { kind: FrameKind.SnapChunk, data: bytes(v[1]) };
    case FrameKind.Ping:
    case FrameKind.Pong:
      if (typeof v[1] !== "number") throw new FrameError("ping stamp is not a number");
      return { kind: v[0], stamp: v[1] };
    default:
      throw new FrameError(`unknown frame kind ${String(v[0])}`);
  }
}

function ownCopy(payload: Uint8Array): Buffer {
  // allocUnsafeSlow: exact-size memory outside Node's shared 8 KiB pool (nothing else pinned).
  const own = Buffer.allocUnsafeSlow(payload.length);
  own.set(payload);
  return own;
}

/**
 * Splits a byte stream into frame payloads. A frame that fits in the chunk it arrived in is passed
 * on as a view; a frame spread over chunks is gathered into one buffer sized from its prefix
 * (never a growing concatenation). The limit is checked before any byte of the frame is buffered.
 */
export class FrameReader {
  private readonly head = Buffer.alloc(lengthBytes);
  private headFill = 0;
  private body: Buffer | undefined;
  private bodyFill = 0;

  constructor(public maxFrameBytes: number) {}

  /**
   * Feeds a chunk; onFrame gets each payload and whether it owns its memory (else it is a view of
   * the chunk), and returns false to stop (the connection was closed). Throws FrameError.
   */
  push(chunk: Buffer, onFrame: (payload: Buffer, owned: boolean) => boolean): void {
    let off = 0;
    while (off < chunk.length) {
      if (this.body === undefined) {
        let len: number;
        if (this.headFill === 0 && chunk.length - off >= lengthBytes) {
          len = chunk.readUInt32BE(off);
          off += lengthBytes;
        } else {
          const n = Math.min(lengthBytes - this.headFill, chunk.length - off);
          chunk.copy(this.head, this.headFill, off, off + n);
          this.headFill += n;
          off += n;
          if (this.headFill < lengthBytes) return;
          this.headFill = 0;
          len = this.head.readUInt32BE(0);
        }
        if (len === 0 || len > this.maxFrameBytes)
          throw new FrameError(`frame length ${len} outside 1..${this.maxFrameBytes}`);
        if (chunk.length - off >= len) {
          const payload = chunk.subarray(off, off + len);
          off += len;
          if (!onFrame(payload, false)) return;
          continue;
        }
        this.body = Buffer.allocUnsafeSlow(len);
        this.bodyFill = 0;
      }
      const body = this.body;
      const n = Math.min(body.length - this.bodyFill, chunk.length - off);
      chunk.copy(body, this.bodyFill, off, off + n);
      this.bodyFill += n;
      off += n;
      if (this.bodyFill === body.length) {
        this.body = undefined;
        if (!onFrame(body, true)) return;
      }
    }
  }
}

// --- Validation: a decoded frame is checked field by field and rebuilt in the core's own message
// shape (all twelve fields in one order, see raft's message()), so a confused or hostile peer can
// close its own connection but never hand the Raft core a malformed value.

function uint(v: unknown): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0)
    throw new FrameError(`not a uint: ${String(v)}`);
  return v;
}

function str(v: unknown): string {
  if (typeof v !== "string") throw new FrameError("not a string");
  return v;
}

function bytes(v: unknown): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new FrameError("not bytes");
  return v;
}

function optBytes(v: unknown): Uint8Array | undefined {
  return v === undefined || v === null ? undefined : bytes(v);
}

function record(v: unknown): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new FrameError("not a map");
  return v as Record<string, unknown>;
}

function ids(v: unknown): NodeId[] {
  if (!Array.isArray(v)) throw new FrameError("not a list of ids");
  return v.map(uint);
}

function checkMetadata(v: unknown): SnapshotMetadata {
  const o = record(v);
  const cs = record(o.confState);
  return {
    index: uint(o.index),
    term: uint(o.term),
    confState: { voters: ids(cs.voters), learners: ids(cs.learners) },
  };
}

function checkEntry(v: unknown): Entry {
  const o = record(v);
  const type = uint(o.type);
  if (type > 1) throw new FrameError(`unknown entry type ${type}`);
  return { term: uint(o.term), index: uint(o.index), type, data: bytes(o.data) };
}

function checkMessage(v: unknown): Message {
  const o = record(v);
  const type = uint(o.type);
  if (type > maxMessageType) throw new FrameError(`unknown message type ${type}`);
  if (typeof o.reject !== "boolean") throw new FrameError("reject is not a boolean");
  if (!Array.isArray(o.entries)) throw new FrameError("entries is not a list");
  return {
    type,
    to: uint(o.to),
    from: uint(o.from),
    term: uint(o.term),
    logTerm: uint(o.logTerm),
    index: uint(o.index),
    entries: o.entries.map(checkEntry),
    commit: uint(o.commit),
    snapshot: o.snapshot === undefined || o.snapshot === null ? undefined : checkSnapshot(o.snapshot),
    reject: o.reject,
    rejectHint: uint(o.rejectHint),
    context: optBytes(o.context),
  };
}

function checkSnapshot(v: unknown): Snapshot {
  const o = record(v);
  return { metadata: checkMetadata(o.metadata), data: bytes(o.data) };
}
