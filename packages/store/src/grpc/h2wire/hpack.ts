/**
 * HPACK (RFC 7541) for a gRPC server: a full decoder of request header blocks (static and
 * dynamic tables, integers, raw and Huffman string literals, table size updates) and the few
 * literal forms the server's encoder needs (it keeps no dynamic table of its own). Names and
 * values are latin1 strings: one character per octet.
 */

/** RFC 7541 Appendix A. */
const staticTable: readonly (readonly [string, string])[] = [
  [":authority", ""],
  [":method", "GET"],
  [":method", "POST"],
  [":path", "/"],
  [":path", "/index.html"],
  [":scheme", "http"],
  [":scheme", "https"],
  [":status", "200"],
  [":status", "204"],
  [":status", "206"],
  [":status", "304"],
  [":status", "400"],
  [":status", "404"],
  [":status", "500"],
  ["accept-charset", ""],
  ["accept-encoding", "gzip, deflate"],
  ["accept-language", ""],
  ["accept-ranges", ""],
  ["accept", ""],
  ["access-control-allow-origin", ""],
  ["age", ""],
  ["allow", ""],
  ["authorization", ""],
  ["cache-control", ""],
  ["content-disposition", ""],
  ["content-encoding", ""],
  ["content-language", ""],
  ["content-length", ""],
  ["content-location", ""],
  ["content-range", ""],
  ["content-type", ""],
  ["cookie", ""],
  ["date", ""],
  ["etag", ""],
  ["expect", ""],
  ["expires", ""],
  ["from", ""],
  ["host", ""],
  ["if-match", ""],
  ["if-modified-since", ""],
  ["if-none-match", ""],
  ["if-range", ""],
  ["if-unmodified-since", ""],
  ["last-modified", ""],
  ["link", ""],
  ["location", ""],
  ["max-forwards", ""],
  ["proxy-authenticate", ""],
  ["proxy-authorization", ""],
  ["range", ""],
  ["referer", ""],
  ["refresh", ""],
  ["retry-after", ""],
  ["server", ""],
  ["set-cookie", ""],
  ["strict-transport-security", ""],
  ["transfer-encoding", ""],
  ["user-agent", ""],
  ["vary", ""],
  ["via", ""],
  ["www-authenticate", ""],
];

/**
 * Code lengths of the Huffman code of RFC 7541 Appendix B, symbols 0-255 (EOS, symbol 256, is
 * 30 bits). The code is canonical: within a length, codes follow symbol order, each length's
 * first code continuing from the last shorter one, so the lengths define it.
 */
const huffmanLengths = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28,
  28, 28, 28, 28, 28, 6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7,
  8, 15, 6, 12, 10, 13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19,
  13, 14, 6, 15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, 6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13,
  28, 20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21,
  22, 23, 22, 23, 23, 24, 22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23,
  22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23, 26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
  19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, 20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25,
  25, 24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, 30,
];
const eos = 256;
const maxCodeLength = 30;

/** Canonical decoding tables: per length, the first code, how many, and where its symbols start. */
const firstCode = new Int32Array(maxCodeLength + 2);
const codeCount = new Int32Array(maxCodeLength + 2);
const firstIndex = new Int32Array(maxCodeLength + 2);
const symbolsByCode = new Uint16Array(257);
/** Each symbol's code and length, for the encoder (tests). */
export const huffmanCodes = new Uint32Array(257);
(() => {
  for (const len of huffmanLengths) (codeCount[len] as number)++;
  let code = 0;
  let index = 0;
  for (let len = 1; len <= maxCodeLength; len++) {
    firstCode[len] = code;
    firstIndex[len] = index;
    for (let sym = 0; sym <= eos; sym++) {
      if (huffmanLengths[sym] !== len) continue;
      symbolsByCode[index++] = sym;
      huffmanCodes[sym] = code++;
    }
    code <<= 1;
  }
})();

export class HpackError extends Error {}

/** Decodes a Huffman-coded string literal (RFC 7541 §5.2) from src[start..end). */
export function huffmanDecode(src: Uint8Array, start: number, end: number): string {
  // A Huffman string decodes to at most 8/5 of its length (the shortest code is 5 bits).
  const max = Math.ceil(((end - start) * 8) / 5);
  if (scratch.length < max) scratch = Buffer.allocUnsafe(Math.max(max, 2 * scratch.length));
  let n = 0;
  let code = 0;
  let len = 0;
  for (let i = start; i < end; i++) {
    const byte = src[i] as number;
    for (let bit = 7; bit >= 0; bit--) {
      code = (code << 1) | ((byte >> bit) & 1);
      len++;
      const offset = code - (firstCode[len] as number);
      if (offset >= 0 && offset < (codeCount[len] as number)) {
        const sym = symbolsByCode[(firstIndex[len] as number) + offset] as number;
        if (sym === eos) throw new HpackError("EOS in a Huffman-coded string");
        scratch[n++] = sym;
        code = 0;
        len = 0;
      } else if (len >= maxCodeLength) {
        throw new HpackError("invalid Huffman code");
      }
    }
  }
  // Padding: fewer than 8 bits, all ones (the most significant bits of EOS).
  if (len > 7 || code !== (1 << len) - 1) throw new HpackError("invalid Huffman padding");
  return scratch.toString("latin1", 0, n);
}

/** Where huffmanDecode writes its bytes before making the string (grown when needed). */
let scratch = Buffer.allocUnsafe(256);

/** Huffman-codes a latin1 string (the server sends raw literals; this is for tests). */
export function huffmanEncode(s: string): Uint8Array {
  const bytes: number[] = [];
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < s.length; i++) {
    const sym = s.charCodeAt(i) & 0xff;
    const code = huffmanCodes[sym] as number;
    const len = huffmanLengths[sym] as number;
    for (let b = len - 1; b >= 0; b--) {
      acc = (acc << 1) | ((code >>> b) & 1);
      if (++bits === 8) {
        bytes.push(acc);
        acc = 0;
        bits = 0;
      }
    }
  }
  if (bits > 0) bytes.push(((acc << (8 - bits)) | ((1 << (8 - bits)) - 1)) & 0xff);
  return Uint8Array.from(bytes);
}

const entryOverhead = 32;

export class HpackDecoder {
  /** The dynamic table, newest first. */
  private table: [string, string][] = [];
  private size = 0;
  private maxSize: number;

  /** `limit`: SETTINGS_HEADER_TABLE_SIZE as this side advertised it (the encoder's ceiling). */
  constructor(private limit = 4096) {
    this.maxSize = limit;
  }

  get tableSize(): number {
    return this.size;
  }

  setMaxTableSize(n: number): void {
    this.limit = n;
    if (this.maxSize > n) this.resize(n);
  }

  decode(block: Uint8Array): [string, string][] {
    const out: [string, string][] = [];
    this.decodeInto(block, (name, value) => out.push([name, value]));
    return out;
  }

  /** Decodes a header block, handing each field to `onField` in order. */
  decodeInto(block: Uint8Array, onField: (name: string, value: string) => void): void {
    let at = 0;
    const readInt = (prefixBits: number): number => {
      const mask = (1 << prefixBits) - 1;
      let v = (block[at++] as number) & mask;
      if (v < mask) return v;
      let shift = 0;
      for (;;) {
        if (at >= block.length) throw new HpackError("truncated integer");
        const b = block[at++] as number;
        v += (b & 0x7f) * 2 ** shift;
        shift += 7;
        if (v > 0x7fffffff) throw new HpackError("integer overflow");
        if ((b & 0x80) === 0) return v;
      }
    };
    const readString = (): string => {
      if (at >= block.length) throw new HpackError("truncated string");
      const huffman = ((block[at] as number) & 0x80) !== 0;
      const n = readInt(7);
      if (at + n > block.length) throw new HpackError("truncated string");
      const s = huffman
        ? huffmanDecode(block, at, at + n)
        : Buffer.from(block.buffer, block.byteOffset + at, n).toString("latin1");
      at += n;
      return s;
    };
    let fieldsSeen = false;
    while (at < block.length) {
      const b = block[at] as number;
      if ((b & 0x80) !== 0) {
        // §6.1 indexed header field.
        const e = this.entry(readInt(7));
        onField(e[0], e[1]);
        fieldsSeen = true;
      } else if ((b & 0x40) !== 0) {
        // §6.2.1 literal with incremental indexing.
        const index = readInt(6);
        const name = index === 0 ? readString() : (this.entry(index)[0] as string);
        const value = readString();
        onField(name, value);
        this.add(name, value);
        fieldsSeen = true;
      } else if ((b & 0x20) !== 0) {
        // §6.3 dynamic table size update: only before the first field of a block.
        if (fieldsSeen) throw new HpackError("table size update after a header field");
        const n = readInt(5);
        if (n > this.limit) throw new HpackError(`table size ${n} above the limit ${this.limit}`);
        this.resize(n);
      } else {
        // §6.2.2 without indexing (0000), §6.2.3 never indexed (0001).
        const index = readInt(4);
        const name = index === 0 ? readString() : (this.entry(index)[0] as string);
        onField(name, readString());
        fieldsSeen = true;
      }
    }
  }

  /** A table entry (shared: callers do not change it). */
  private entry(index: number): readonly [string, string] {
    if (index === 0) throw new HpackError("index 0");
    if (index <= staticTable.length) return staticTable[index - 1] as readonly [string, string];
    const e = this.table[index - staticTable.length - 1];
    if (e === undefined) throw new HpackError(`index ${index} past the tables`);
    return e;
  }

  private add(name: string, value: string): void {
    const size = name.length + value.length + entryOverhead;
    if (size > this.maxSize) {
      // An entry larger than the table empties it (§4.4).
      this.table = [];
      this.size = 0;
      return;
    }
    this.table.unshift([name, value]);
    this.size += size;
    this.evict();
  }

  private resize(n: number): void {
    this.maxSize = n;
    this.evict();
  }

  private evict(): void {
    while (this.size > this.maxSize) {
      const e = this.table.pop() as [string, string];
      this.size -= e[0].length + e[1].length + entryOverhead;
    }
  }
}

/** An HPACK integer with an N-bit prefix, the first byte's high bits from `first`. */
function encodeInt(out: number[], first: number, prefixBits: number, v: number): void {
  const max = (1 << prefixBits) - 1;
  if (v < max) {
    out.push(first | v);
    return;
  }
  out.push(first | max);
  v -= max;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
}

function pushString(out: number[], s: string): void {
  const b = Buffer.from(s, "latin1");
  encodeInt(out, 0, 7, b.length);
  for (const x of b) out.push(x);
}

/** A literal header field without indexing, new name (§6.2.2), raw strings. */
export function encodeLiteral(name: string, value: string): Buffer {
  const out: number[] = [0x00];
  pushString(out, name);
  pushString(out, value);
  return Buffer.from(out);
}

/** A literal header field without indexing whose name is static table entry `index` (§6.2.2). */
export function encodeIndexedName(index: number, value: string): Buffer {
  const out: number[] = [];
  encodeInt(out, 0x00, 4, index);
  pushString(out, value);
  return Buffer.from(out);
}
