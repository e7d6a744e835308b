/** Low-level protobuf wire-format reading (varints, lengths, tags), with precise errors. */

export class ProtobufDecodeError extends Error {
  override readonly name = "ProtobufDecodeError";
}

export const WireType = {
  varint: 0,
  fixed64: 1,
  lengthDelimited: 2,
  startGroup: 3,
  endGroup: 4,
  fixed32: 5,
} as const;

export const wireTypeNames: readonly string[] = [
  "varint",
  "fixed64",
  "length-delimited",
  "start-group",
  "end-group",
  "fixed32",
];

export interface Tag {
  fieldNo: number;
  wireType: number;
}

/** A cursor over a byte range; `what` names the message being read, for error messages. */
export class Reader {
  pos: number;
  readonly end: number;

  constructor(
    readonly buf: Uint8Array,
    readonly what: string,
    start = 0,
    end = buf.length,
  ) {
    this.pos = start;
    this.end = end;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  fail(message: string): never {
    throw new ProtobufDecodeError(`${this.what}: ${message} (at byte offset ${this.pos})`);
  }

  /** Reads an unsigned varint of up to 64 bits as a bigint. */
  varintBig(): bigint {
    const start = this.pos;
    let result = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) {
        this.pos = start;
        this.fail("truncated varint");
      }
      const b = this.buf[this.pos++] as number;
      result |= BigInt(b & 0x7f) << BigInt(7 * i);
      if ((b & 0x80) === 0) {
        if (i === 9 && b > 1) {
          this.pos = start;
          this.fail("varint overflows 64 bits");
        }
        return result;
      }
    }
    this.pos = start;
    return this.fail("varint longer than 10 bytes");
  }

  /** Reads a varint that must fit a non-negative safe integer (tags, lengths). */
  varintUint(): number {
    const start = this.pos;
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      if (this.pos >= this.end) {
        this.pos = start;
        this.fail("truncated varint");
      }
      const b = this.buf[this.pos++] as number;
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return result;
      mul *= 128;
    }
    this.pos = start;
    return this.fail("varint too large for a length or tag");
  }

  int32(): number {
    return Number(BigInt.asIntN(32, this.varintBig()));
  }

  int64(): number {
    const v = BigInt.asIntN(64, this.varintBig());
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
      this.fail(`int64 value ${v} is outside the range JSON numbers represent exactly`);
    }
    return Number(v);
  }

  bool(): boolean {
    return this.varintBig() !== 0n;
  }

  tag(): Tag {
    const v = this.varintUint();
    const fieldNo = Math.floor(v / 8);
    const wireType = v % 8;
    if (fieldNo === 0) this.fail("invalid field number 0");
    return { fieldNo, wireType };
  }

  /** Reads a length prefix and returns [start, end) of the payload, advancing past it. */
  lengthDelimited(): [number, number] {
    const len = this.varintUint();
    const start = this.pos;
    if (len > this.end - start) {
      this.fail(`length ${len} exceeds the ${this.end - start} remaining bytes`);
    }
    this.pos = start + len;
    return [start, start + len];
  }

  bytes(): Uint8Array {
    const [s, e] = this.lengthDelimited();
    return this.buf.subarray(s, e);
  }

  sub(what: string): Reader {
    const [s, e] = this.lengthDelimited();
    return new Reader(this.buf, what, s, e);
  }

  /** Skips over a field's value of the given wire type. */
  skip(wireType: number): void {
    switch (wireType) {
      case WireType.varint:
        this.varintBig();
        return;
      case WireType.fixed64:
        this.advance(8);
        return;
      case WireType.lengthDelimited:
        this.lengthDelimited();
        return;
      case WireType.fixed32:
        this.advance(4);
        return;
      default:
        this.fail(`unsupported wire type ${wireType}`);
    }
  }

  private advance(n: number): void {
    if (this.end - this.pos < n) this.fail(`truncated fixed-width value (need ${n} bytes)`);
    this.pos += n;
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

export function decodeUtf8(bytes: Uint8Array, what: string): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new ProtobufDecodeError(`${what}: invalid UTF-8 in string field`);
  }
}
