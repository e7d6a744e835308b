/**
 * SPDY/3 header blocks (SPDY draft 3, section 2.6.10): uint32 count, then per header a uint32
 * length and the lower-case name, a uint32 length and the value (several values joined by NUL),
 * all big-endian. On the wire the block is compressed with zlib primed with the SPDY dictionary,
 * and the zlib stream spans the connection: each block is one piece of a single deflate stream,
 * ended by a sync flush (spdystream's Framer keeps one zlib writer and one reader per
 * connection and calls Flush after each block). So each direction of a connection has one
 * HeaderCompressor or HeaderDecompressor, used in frame order.
 */
import { constants, createDeflate, createInflate, type Deflate, type Inflate } from "node:zlib";
import { HEADER_DICTIONARY } from "./dictionary.js";
import { SpdyProtocolError } from "./frames.js";

/** Header values by lower-case name (a name may carry several values). */
export type SpdyHeaders = Record<string, string[]>;

export function encodeHeaderBlock(headers: Readonly<Record<string, string | readonly string[]>>): Buffer {
  const names = Object.keys(headers);
  const parts: Buffer[] = [u32(names.length)];
  for (const name of names) {
    const raw = headers[name] as string | readonly string[];
    // spdystream's reader refuses upper-case names (UnlowercasedHeaderName).
    const n = Buffer.from(name.toLowerCase(), "utf8");
    const v = Buffer.from(typeof raw === "string" ? raw : raw.join("\0"), "utf8");
    parts.push(u32(n.length), n, u32(v.length), v);
  }
  return Buffer.concat(parts);
}

export function decodeHeaderBlock(b: Buffer): SpdyHeaders {
  let at = 0;
  const read = (n: number): Buffer => {
    if (at + n > b.length) throw new SpdyProtocolError("truncated header block");
    const out = b.subarray(at, at + n);
    at += n;
    return out;
  };
  const count = read(4).readUInt32BE(0);
  const out: SpdyHeaders = {};
  for (let i = 0; i < count; i++) {
    const name = read(read(4).readUInt32BE(0)).toString("utf8");
    const value = read(read(4).readUInt32BE(0)).toString("utf8");
    if (name !== name.toLowerCase()) throw new SpdyProtocolError("header was not lowercased");
    if (out[name] !== undefined) throw new SpdyProtocolError("multiple headers with same name");
    out[name] = value.split("\0");
  }
  return out;
}

function u32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(n);
  return b;
}

/**
 * One direction's zlib stream: each call feeds a piece and resolves with everything zlib gives
 * back up to a sync flush (as ws's permessage-deflate collects its output). Calls run one at a
 * time, in the order they were made, so each gets exactly its own output.
 */
class ZlibPieces {
  private chain: Promise<unknown> = Promise.resolve();
  private out: Buffer[] = [];
  private failed: Error | undefined;
  private failPending: ((e: Error) => void) | undefined;

  constructor(private readonly z: Deflate | Inflate) {
    z.on("data", (b: Buffer) => this.out.push(b));
    z.on("error", (e: Error) => {
      this.failed = e;
      this.failPending?.(e);
    });
  }

  run(piece: Buffer): Promise<Buffer> {
    const next = this.chain.then(
      () =>
        new Promise<Buffer>((resolve, reject) => {
          if (this.failed !== undefined) return reject(this.failed);
          this.failPending = reject;
          this.z.write(piece);
          this.z.flush(constants.Z_SYNC_FLUSH, () => {
            this.failPending = undefined;
            if (this.failed !== undefined) return reject(this.failed);
            const b = Buffer.concat(this.out);
            this.out = [];
            resolve(b);
          });
        }),
    );
    this.chain = next.catch(() => undefined);
    return next;
  }

  close(): void {
    this.z.close();
  }
}

/** Compresses the header blocks a connection sends. */
export class HeaderCompressor {
  private readonly z = new ZlibPieces(createDeflate({ dictionary: HEADER_DICTIONARY }));

  compress(block: Buffer): Promise<Buffer> {
    return this.z.run(block);
  }

  close(): void {
    this.z.close();
  }
}

/** Decompresses the header blocks a connection receives. */
export class HeaderDecompressor {
  private readonly z = new ZlibPieces(createInflate({ dictionary: HEADER_DICTIONARY }));

  /** The plain header block of one frame; rejects when the bytes are not zlib or the dictionary differs. */
  async decompress(compressed: Buffer): Promise<SpdyHeaders> {
    const plain = await this.z.run(compressed);
    return decodeHeaderBlock(plain);
  }

  close(): void {
    this.z.close();
  }
}
