/**
 * The binary form of a Raft message in a Msg frame (transport-frame.ts): fixed fields at fixed
 * places, then the entries. msgpack's maps spelled out every field name of the message and of
 * each entry; encoding and decoding them was most of the transport's CPU besides the socket.
 *
 *   [0]      binaryMessageTag (0x01: a msgpack frame is a tuple, which never starts with it)
 *   [1]      type
 *   [2]      flags: 1 reject, 2 context present
 *   [3..59)  to, from, term, logTerm, index, commit, rejectHint: float64 BE each (safe integers)
 *   [59..63) entry count, uint32 BE
 *   then     context: uint32 BE length + bytes, when flag 2
 *   then     per entry: index, term (float64 BE), type (uint8), data length (uint32 BE), data
 *
 * A message carrying a snapshot never takes this form (MsgSnap goes as SnapHeader + chunks).
 */
import type { Entry, Message } from "@skiff/raft";

export const binaryMessageTag = 0x01;
const fixedBytes = 63;
const entryHeaderBytes = 21;
const flagReject = 1;
const flagContext = 2;

/** Message types are 0..maxMessageType (raft's MessageType). */
export const maxMessageType = 18;

export class MessageCodecError extends Error {}

/** Bytes of the binary form of `m` (without the frame's length prefix). */
export function binaryMessageBytes(m: Message): number {
  let n = fixedBytes + (m.context === undefined ? 0 : 4 + m.context.length);
  for (const e of m.entries) n += entryHeaderBytes + e.data.length;
  return n;
}

/** Writes the binary form of `m` into `out` at `at` (binaryMessageBytes(m) bytes). */
export function writeBinaryMessage(m: Message, out: Buffer, at: number): void {
  let o = at;
  out[o++] = binaryMessageTag;
  out[o++] = m.type;
  out[o++] = (m.reject ? flagReject : 0) | (m.context === undefined ? 0 : flagContext);
  out.writeDoubleBE(m.to, o);
  out.writeDoubleBE(m.from, o + 8);
  out.writeDoubleBE(m.term, o + 16);
  out.writeDoubleBE(m.logTerm, o + 24);
  out.writeDoubleBE(m.index, o + 32);
  out.writeDoubleBE(m.commit, o + 40);
  out.writeDoubleBE(m.rejectHint, o + 48);
  o += 56;
  out.writeUInt32BE(m.entries.length, o);
  o += 4;
  if (m.context !== undefined) {
    out.writeUInt32BE(m.context.length, o);
    o += 4;
    out.set(m.context, o);
    o += m.context.length;
  }
  for (const e of m.entries) {
    out.writeDoubleBE(e.index, o);
    out.writeDoubleBE(e.term, o + 8);
    out[o + 16] = e.type;
    out.writeUInt32BE(e.data.length, o + 17);
    o += entryHeaderBytes;
    out.set(e.data, o);
    o += e.data.length;
  }
}

function uint(b: Buffer, at: number): number {
  const v = b.readDoubleBE(at);
  if (!Number.isSafeInteger(v) || v < 0) throw new MessageCodecError(`not a uint: ${v}`);
  // A double stored into an Entry makes its fields doubles: a 16-byte box per index and term of
  // every entry a follower keeps. As an int32 it stays a small integer.
  return v <= 0x3fffffff ? v | 0 : v;
}

/**
 * Reads a binary message; byte strings (context, entry data) are views of `b`, which the caller
 * owns. Throws MessageCodecError on anything malformed (lengths past the end, bad types, numbers).
 */
export function readBinaryMessage(b: Buffer): Message {
  if (b.length < fixedBytes || b[0] !== binaryMessageTag) throw new MessageCodecError("message too short");
  const type = b[1] as number;
  if (type > maxMessageType) throw new MessageCodecError(`unknown message type ${type}`);
  const flags = b[2] as number;
  if (flags > (flagReject | flagContext)) throw new MessageCodecError(`unknown flags ${flags}`);
  const to = uint(b, 3);
  const from = uint(b, 11);
  const term = uint(b, 19);
  const logTerm = uint(b, 27);
  const index = uint(b, 35);
  const commit = uint(b, 43);
  const rejectHint = uint(b, 51);
  const count = b.readUInt32BE(59);
  let o = fixedBytes;
  let context: Uint8Array | undefined;
  if ((flags & flagContext) !== 0) {
    if (o + 4 > b.length) throw new MessageCodecError("context length past the end");
    const n = b.readUInt32BE(o);
    o += 4;
    if (o + n > b.length) throw new MessageCodecError("context past the end");
    context = b.subarray(o, o + n);
    o += n;
  }
  if (count > (b.length - o) / entryHeaderBytes) throw new MessageCodecError(`${count} entries cannot fit`);
  const entries: Entry[] = new Array(count);
  for (let i = 0; i < count; i++) {
    if (o + entryHeaderBytes > b.length) throw new MessageCodecError("entry past the end");
    const eIndex = uint(b, o);
    const eTerm = uint(b, o + 8);
    const eType = b[o + 16] as number;
    if (eType > 1) throw new MessageCodecError(`unknown entry type ${eType}`);
    const n = b.readUInt32BE(o + 17);
    o += entryHeaderBytes;
    if (o + n > b.length) throw new MessageCodecError("entry data past the end");
    entries[i] = { index: eIndex, term: eTerm, type: eType, data: b.subarray(o, o + n) };
    o += n;
  }
  if (o !== b.length) throw new MessageCodecError(`${b.length - o} bytes after the message`);
  return {
    type,
    to,
    from,
    term,
    logTerm,
    index,
    entries,
    commit,
    snapshot: undefined,
    reject: (flags & flagReject) !== 0,
    rejectHint,
    context,
  };
}
