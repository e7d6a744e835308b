// A minimal DER (ASN.1 Distinguished Encoding Rules) encoder: just the types X.509 needs.

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** A TLV with the given tag byte and content. */
export function tlv(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), length(content.length), content]);
}

export const sequence = (...items: Buffer[]): Buffer => tlv(0x30, Buffer.concat(items));
export const set = (...items: Buffer[]): Buffer => tlv(0x31, Buffer.concat(items));
export const octetString = (b: Buffer): Buffer => tlv(0x04, b);
export const utf8String = (s: string): Buffer => tlv(0x0c, Buffer.from(s, "utf8"));
export const boolean = (v: boolean): Buffer => tlv(0x01, Buffer.from([v ? 0xff : 0x00]));
/** Context-specific constructed tag [n] (explicit tagging). */
export const explicit = (n: number, inner: Buffer): Buffer => tlv(0xa0 | n, inner);
/** Context-specific primitive tag [n] (implicit tagging of a primitive value). */
export const implicit = (n: number, content: Buffer): Buffer => tlv(0x80 | n, content);

/** INTEGER from a non-negative number or unsigned big-endian bytes (a leading 0x00 is added when the top bit is set). */
export function integer(value: Buffer | number): Buffer {
  let b = value;
  if (typeof b === "number") {
    const hex = b.toString(16);
    b = Buffer.from(hex.length % 2 === 0 ? hex : `0${hex}`, "hex");
  }
  let start = 0;
  while (start < b.length - 1 && b[start] === 0 && ((b[start + 1] as number) & 0x80) === 0) start++;
  b = b.subarray(start);
  if (((b[0] as number) & 0x80) !== 0) b = Buffer.concat([Buffer.from([0]), b]);
  return tlv(0x02, b);
}

/** BIT STRING with no unused bits. */
export const bitString = (b: Buffer): Buffer => tlv(0x03, Buffer.concat([Buffer.from([0]), b]));

/** BIT STRING of named bits (bit 0 is the most significant bit of the first byte), DER-minimal. */
export function namedBits(bits: number[]): Buffer {
  const max = Math.max(...bits);
  const bytes = Buffer.alloc(Math.floor(max / 8) + 1);
  for (const bit of bits) bytes[bit >> 3] = (bytes[bit >> 3] as number) | (0x80 >> (bit & 7));
  const unused = 7 - (max & 7);
  return tlv(0x03, Buffer.concat([Buffer.from([unused]), bytes]));
}

export function oid(dotted: string): Buffer {
  const parts = dotted.split(".").map(Number);
  const out: number[] = [40 * (parts[0] as number) + (parts[1] as number)];
  for (const p of parts.slice(2)) {
    const groups: number[] = [p & 0x7f];
    for (let v = Math.floor(p / 128); v > 0; v = Math.floor(v / 128)) groups.unshift((v & 0x7f) | 0x80);
    out.push(...groups);
  }
  return tlv(0x06, Buffer.from(out));
}

const pad = (n: number, w = 2): string => String(n).padStart(w, "0");

/** UTCTime before 2050, GeneralizedTime from 2050 on (RFC 5280 4.1.2.5). */
export function time(d: Date): Buffer {
  const y = d.getUTCFullYear();
  const rest = `${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}Z`;
  if (y >= 1950 && y < 2050) return tlv(0x17, Buffer.from(`${pad(y % 100)}${rest}`, "ascii"));
  return tlv(0x18, Buffer.from(`${pad(y, 4)}${rest}`, "ascii"));
}

/** One parsed TLV: `start` is where its content begins, `end` where the element ends. */
export interface Element {
  tag: number;
  offset: number;
  start: number;
  end: number;
}

/** Reads the TLV at `offset` (definite lengths only, as DER requires). */
export function read(buf: Buffer, offset: number): Element {
  const tag = buf[offset];
  let len = buf[offset + 1];
  if (tag === undefined || len === undefined) throw new Error("DER: truncated element");
  let start = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new Error("DER: unsupported length");
    len = buf.readUIntBE(start, n);
    start += n;
  }
  const end = start + len;
  if (end > buf.length) throw new Error("DER: element overruns its buffer");
  return { tag, offset, start, end };
}

/** The child elements of a constructed element. */
export function children(buf: Buffer, parent: Element): Element[] {
  const out: Element[] = [];
  for (let at = parent.start; at < parent.end; ) {
    const el = read(buf, at);
    out.push(el);
    at = el.end;
  }
  return out;
}
