/**
 * The byte formats between the node gateway (packages/kubelet/assets/skiff-gateway, inside the
 * node's network namespace) and the agent's DNS sockets, and DNS over TCP itself. Pure: chunks
 * in, whole messages out, whatever the chunk boundaries (a stream may split a message or join
 * several).
 *
 * - UDP frames: `[u32 BE length of the rest][4 bytes client IPv4][u16 BE client port][payload]`,
 *   both ways over one unix stream connection.
 * - TCP: a PROXY protocol v1 line (haproxy's proxy-protocol.txt section 2.1) naming the client,
 *   then DNS messages each behind a 2-byte length (RFC 1035 4.2.2).
 */

/** A DNS message is at most 65535 bytes (its TCP length prefix is 16 bits). */
export const MAX_DNS_MESSAGE = 65535;
/** PROXY v1 section 2.1: the line is at most 107 bytes, CRLF included. */
const MAX_PROXY_LINE = 107;
const FRAME_ADDRESS_BYTES = 6;

export interface ClientAddress {
  address: string;
  port: number;
}

export interface UdpFrame {
  client: ClientAddress;
  payload: Buffer;
}

/** Bytes received and not yet consumed. */
class Pending {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
  }

  get length(): number {
    return this.buf.length;
  }

  peek(): Buffer {
    return this.buf;
  }

  take(n: number): Buffer {
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }
}

/** Thrown for a stream that cannot be a valid one; the connection is then closed. */
export class FramingError extends Error {}

/** Splits the gateway's UDP frames out of a stream. */
export class UdpFrameDecoder {
  private readonly pending = new Pending();

  /** The frames completed by this chunk; throws FramingError for a length no frame can have. */
  push(chunk: Buffer): UdpFrame[] {
    this.pending.push(chunk);
    const out: UdpFrame[] = [];
    for (;;) {
      const buf = this.pending.peek();
      if (buf.length < 4) return out;
      const len = buf.readUInt32BE(0);
      if (len < FRAME_ADDRESS_BYTES || len > FRAME_ADDRESS_BYTES + MAX_DNS_MESSAGE)
        throw new FramingError(`UDP frame length ${len} out of range`);
      if (buf.length < 4 + len) return out;
      const frame = this.pending.take(4 + len);
      out.push({
        client: { address: [...frame.subarray(4, 8)].join("."), port: frame.readUInt16BE(8) },
        payload: Buffer.from(frame.subarray(10)),
      });
    }
  }
}

/** One frame for the gateway to send as a datagram to the client. */
export function encodeUdpFrame(client: ClientAddress, payload: Buffer): Buffer {
  const octets = client.address.split(".").map(Number);
  if (octets.length !== 4 || octets.some((o) => !Number.isInteger(o) || o < 0 || o > 255))
    throw new FramingError(`not an IPv4 address: ${client.address}`);
  const head = Buffer.alloc(4 + FRAME_ADDRESS_BYTES);
  head.writeUInt32BE(FRAME_ADDRESS_BYTES + payload.length, 0);
  for (const [i, o] of octets.entries()) head[4 + i] = o;
  head.writeUInt16BE(client.port, 8);
  return Buffer.concat([head, payload]);
}

/** Splits 2-byte length-prefixed DNS messages out of a TCP stream. */
export class TcpMessageDecoder {
  private readonly pending = new Pending();

  push(chunk: Buffer): Buffer[] {
    this.pending.push(chunk);
    const out: Buffer[] = [];
    for (;;) {
      const buf = this.pending.peek();
      if (buf.length < 2) return out;
      const len = buf.readUInt16BE(0);
      if (buf.length < 2 + len) return out;
      out.push(Buffer.from(this.pending.take(2 + len).subarray(2)));
    }
  }
}

/** A DNS message with its TCP length prefix. */
export function encodeTcpMessage(msg: Buffer): Buffer {
  if (msg.length > MAX_DNS_MESSAGE) throw new FramingError(`DNS message of ${msg.length} bytes`);
  const head = Buffer.alloc(2);
  head.writeUInt16BE(msg.length, 0);
  return Buffer.concat([head, msg]);
}

/** The PROXY v1 header: the client it names (undefined for `PROXY UNKNOWN`), and what followed it. */
export interface ProxyHeader {
  client: ClientAddress | undefined;
  rest: Buffer;
}

/** Reads the PROXY v1 line off the start of a stream. */
export class ProxyLineReader {
  private readonly pending = new Pending();

  /** The header once its line is complete, undefined until then; throws FramingError if invalid. */
  push(chunk: Buffer): ProxyHeader | undefined {
    this.pending.push(chunk);
    const buf = this.pending.peek();
    const end = buf.subarray(0, MAX_PROXY_LINE).indexOf("\r\n");
    if (end < 0) {
      if (buf.length >= MAX_PROXY_LINE) throw new FramingError("PROXY line too long");
      return undefined;
    }
    const line = buf.subarray(0, end).toString("latin1");
    const rest = Buffer.from(buf.subarray(end + 2));
    return { client: parseProxyLine(line), rest };
  }
}

function parseProxyLine(line: string): ClientAddress | undefined {
  const f = line.split(" ");
  if (f[0] !== "PROXY") throw new FramingError("no PROXY line");
  if (f[1] === "UNKNOWN") return undefined;
  if ((f[1] !== "TCP4" && f[1] !== "TCP6") || f.length !== 6)
    throw new FramingError(`bad PROXY line: ${JSON.stringify(line)}`);
  const port = Number(f[4]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new FramingError("bad PROXY source port");
  return { address: f[2] ?? "", port };
}
