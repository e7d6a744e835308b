/**
 * The kubelet's SPDY/3.1 (src/server/spdy) and the port-forward protocol on it
 * (portforward-spdy.ts), driven by a small SPDY client written here from the same frame code:
 * frames round-trip byte for byte and across arbitrary chunking, header blocks share one zlib
 * context per connection, and the server answers streams, pings, resets and goaways as
 * spdystream does. kubectl itself is in apiserver-proxy.test.ts.
 */
import { createServer, type Server, type Socket, connect as tcpConnect } from "node:net";
import type { Pod } from "@skiff/api";
import { silentLogger } from "@skiff/component-base";
import { waitFor } from "@skiff/testkit";
import t, { type Test } from "tap";
import type { KubeletServerDeps } from "../src/server/deps.js";
import { servePortForwardSpdy } from "../src/server/portforward-spdy.js";
import { HEADER_DICTIONARY } from "../src/server/spdy/dictionary.js";
import { encodeFrame, FLAG_FIN, type Frame, FrameReader, RstStatus } from "../src/server/spdy/frames.js";
import {
  decodeHeaderBlock,
  encodeHeaderBlock,
  HeaderCompressor,
  HeaderDecompressor,
  type SpdyHeaders,
} from "../src/server/spdy/headers.js";

/** RFC 1950's Adler-32 (node:zlib has none before Node 22). */
function adler32(b: Buffer): number {
  let a = 1;
  let s = 0;
  for (const x of b) {
    a = (a + x) % 65521;
    s = (s + a) % 65521;
  }
  return ((s << 16) | a) >>> 0;
}

const block = Buffer.from("opaque compressed bytes");
const samples: Frame[] = [
  {
    type: "SYN_STREAM",
    flags: FLAG_FIN,
    streamId: 7,
    associatedToStreamId: 3,
    priority: 5,
    slot: 2,
    headerBlock: block,
  },
  { type: "SYN_REPLY", flags: 0, streamId: 7, headerBlock: block },
  { type: "RST_STREAM", streamId: 9, status: RstStatus.CANCEL },
  {
    type: "SETTINGS",
    flags: 1,
    entries: [
      { flags: 1, id: 4, value: 100 },
      { flags: 0, id: 7, value: 65536 },
    ],
  },
  { type: "PING", id: 0xfffffffd },
  { type: "GOAWAY", lastGoodStreamId: 11, status: 0 },
  { type: "HEADERS", flags: 0, streamId: 3, headerBlock: block },
  { type: "WINDOW_UPDATE", streamId: 5, delta: 1024 },
  { type: "DATA", flags: FLAG_FIN, streamId: 0x7ffffffd, data: Buffer.from("payload") },
  { type: "DATA", flags: 0, streamId: 1, data: Buffer.alloc(0) },
];

t.test("frames: layout and round trip across any chunking", async (t) => {
  const ping = encodeFrame({ type: "PING", id: 1 });
  t.equal(ping.toString("hex"), "80030006000000040000000" + "1", "control bit, version 3, type 6, length 4");
  const data = encodeFrame({ type: "DATA", flags: FLAG_FIN, streamId: 3, data: Buffer.from("hi") });
  t.equal(data.toString("hex"), "00000003010000026869", "stream id, FIN, length 2");
  const bytes = Buffer.concat(samples.map(encodeFrame));
  for (const size of [1, 3, 8, 13, bytes.length]) {
    const r = new FrameReader();
    const got: Frame[] = [];
    for (let at = 0; at < bytes.length; at += size) {
      r.push(bytes.subarray(at, at + size));
      for (let f = r.next(); f !== undefined; f = r.next()) got.push(f);
    }
    t.same(got, samples, `chunks of ${size} bytes`);
    t.equal(r.buffered, 0);
  }
  const other = Buffer.from("8002000100000000", "hex"); // a SPDY/2 control frame
  const r = new FrameReader();
  r.push(other);
  t.match(r.next(), { type: "UNKNOWN", version: 2, code: 1 }, "another version is not misread");
});

t.test("header blocks: names lower case, several values joined by NUL", async (t) => {
  const b = encodeHeaderBlock({ streamType: "data", port: "8080", accept: ["a", "b"] });
  t.same(decodeHeaderBlock(b), { streamtype: ["data"], port: ["8080"], accept: ["a", "b"] });
  t.equal(b.readUInt32BE(0), 3, "starts with the count");
  t.same(decodeHeaderBlock(encodeHeaderBlock({})), {});
  const upper = Buffer.concat([
    Buffer.from([0, 0, 0, 1, 0, 0, 0, 1]),
    Buffer.from("P"),
    Buffer.from([0, 0, 0, 1]),
    Buffer.from("x"),
  ]);
  t.throws(() => decodeHeaderBlock(upper), /not lowercased/);
  t.throws(() => decodeHeaderBlock(b.subarray(0, b.length - 1)), /truncated/);
});

t.test("header compression: one zlib context per connection, primed with the SPDY dictionary", async (t) => {
  t.equal(HEADER_DICTIONARY.length, 1423, "the SPDY/3 dictionary's size");
  const c = new HeaderCompressor();
  const d = new HeaderDecompressor();
  t.teardown(() => {
    c.close();
    d.close();
  });
  const headers = { streamtype: "error", port: "8080", requestid: "0" };
  const first = await c.compress(encodeHeaderBlock(headers));
  // zlib header with FDICT set, then the dictionary's Adler-32 (RFC 1950).
  t.equal(first[1] !== undefined && (first[1] & 0x20) !== 0, true, "FDICT is set");
  t.equal(first.readUInt32BE(2), adler32(HEADER_DICTIONARY), "DICTID is the dictionary's Adler-32");
  const second = await c.compress(encodeHeaderBlock(headers));
  t.ok(second.length < first.length, "the second block refers back to the first");
  t.same(await d.decompress(first), { streamtype: ["error"], port: ["8080"], requestid: ["0"] });
  t.same(await d.decompress(second), { streamtype: ["error"], port: ["8080"], requestid: ["0"] });
  const fresh = new HeaderDecompressor();
  t.teardown(() => fresh.close());
  await t.rejects(fresh.decompress(second), "a later block alone cannot be read");
  // Many blocks at once keep their order.
  const many = await Promise.all(
    Array.from({ length: 20 }, (_, i) => c.compress(encodeHeaderBlock({ requestid: String(i) }))),
  );
  for (const [i, b] of many.entries()) t.same(await d.decompress(b), { requestid: [String(i)] });
});

/** The client half of a SPDY connection over a socket, enough to drive the server. */
class Client {
  readonly frames: Frame[] = [];
  readonly headers = new Map<number, SpdyHeaders>();
  private readonly reader = new FrameReader();
  private readonly compressor = new HeaderCompressor();
  private readonly decompressor = new HeaderDecompressor();
  closed = false;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(readonly socket: Socket) {
    socket.on("data", (b: Buffer) => {
      this.reader.push(b);
      this.chain = this.chain.then(() => this.drain());
    });
    socket.on("close", () => {
      this.closed = true;
    });
  }

  private async drain(): Promise<void> {
    for (let f = this.reader.next(); f !== undefined; f = this.reader.next()) {
      if (f.type === "SYN_REPLY" || f.type === "SYN_STREAM" || f.type === "HEADERS")
        this.headers.set(f.streamId, await this.decompressor.decompress(f.headerBlock));
      this.frames.push(f);
    }
  }

  async open(streamId: number, headers: Record<string, string>, flags = 0): Promise<void> {
    const headerBlock = await this.compressor.compress(encodeHeaderBlock(headers));
    this.send({
      type: "SYN_STREAM",
      flags,
      streamId,
      associatedToStreamId: 0,
      priority: 0,
      slot: 0,
      headerBlock,
    });
  }

  send(f: Frame): void {
    this.socket.write(encodeFrame(f));
  }

  /** Bytes received on a stream, and whether its FIN came. */
  data(streamId: number): { text: string; fin: boolean } {
    let text = "";
    let fin = false;
    for (const f of this.frames)
      if (f.type === "DATA" && f.streamId === streamId) {
        text += f.data.toString();
        fin ||= (f.flags & FLAG_FIN) !== 0;
      }
    return { text, fin };
  }

  find(pred: (f: Frame) => boolean): Frame | undefined {
    return this.frames.find(pred);
  }

  close(): void {
    this.compressor.close();
    this.decompressor.close();
    this.socket.destroy();
  }
}

const POD = { metadata: { name: "p", namespace: "default", uid: "u1" } } as Pod;

async function listen(t: Test, handler: (s: Socket) => void): Promise<number> {
  const server: Server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  return (server.address() as { port: number }).port;
}

/** A kubelet-side SPDY port-forward server on loopback (deps.dial: port 80 is an echo server). */
async function start(t: Test): Promise<{ client: Client; served: Promise<void>[] }> {
  const echo = await listen(t, (c) => {
    c.on("error", () => undefined);
    c.pipe(c);
  });
  const deps = {
    logger: silentLogger,
    dial: (_pod: Pod, port: number) =>
      new Promise((resolve, reject) => {
        if (port !== 80) return reject(new Error(`dial tcp 10.0.0.9:${port}: connect: connection refused`));
        const s = tcpConnect(echo, "127.0.0.1");
        s.once("connect", () => resolve(s));
        s.once("error", reject);
      }),
  } as unknown as KubeletServerDeps;
  const served: Promise<void>[] = [];
  const port = await listen(t, (s) => {
    s.on("error", () => undefined);
    served.push(servePortForwardSpdy(deps, s, POD));
  });
  const socket = tcpConnect(port, "127.0.0.1");
  await new Promise((r) => socket.once("connect", r));
  const client = new Client(socket);
  t.teardown(async () => {
    client.close();
    await Promise.all(served);
  });
  return { client, served };
}

t.test("port-forward: streams are answered, paired and forwarded", async (t) => {
  const { client } = await start(t);
  await client.open(1, { streamType: "error", port: "80", requestID: "0" });
  client.send({ type: "DATA", flags: FLAG_FIN, streamId: 1, data: Buffer.alloc(0) });
  await client.open(3, { streamType: "data", port: "80", requestID: "0" });
  await waitFor(() => client.find((f) => f.type === "SYN_REPLY" && f.streamId === 3), {
    what: "both replies",
  });
  t.same(client.headers.get(1), {}, "an empty SYN_REPLY");
  client.send({ type: "DATA", flags: 0, streamId: 3, data: Buffer.from("hello ") });
  client.send({ type: "DATA", flags: 0, streamId: 3, data: Buffer.from("pod") });
  await waitFor(() => client.data(3).text === "hello pod", { what: "the echo" });
  client.send({ type: "PING", id: 5 });
  await waitFor(() => client.find((f) => f.type === "PING" && f.id === 5), { what: "the ping echoed" });
  // The client ends its half; the echo server then ends its own: both streams close.
  client.send({ type: "DATA", flags: FLAG_FIN, streamId: 3, data: Buffer.alloc(0) });
  await waitFor(() => client.data(3).fin && client.data(1).fin, { what: "FIN on both streams" });
  t.equal(client.data(1).text, "", "no error");
  t.notOk(
    client.find((f) => f.type === "RST_STREAM"),
    "nothing reset",
  );
  // A second forwarded connection on the same SPDY connection, paired by stream id (no requestID).
  await client.open(5, { streamType: "error", port: "80" }, FLAG_FIN);
  await client.open(7, { streamType: "data", port: "80" });
  client.send({ type: "DATA", flags: FLAG_FIN, streamId: 7, data: Buffer.from("again") });
  await waitFor(() => client.data(7).fin, { what: "the second forward to finish" });
  t.equal(client.data(7).text, "again");
  // GOAWAY: the server ends the connection once its streams are done (all are, here).
  client.send({ type: "GOAWAY", lastGoodStreamId: 0, status: 0 });
  await waitFor(() => client.closed, { what: "the server to end the connection after GOAWAY" });
});

t.test("port-forward: a dial failure is written on the error stream", async (t) => {
  const { client } = await start(t);
  await client.open(1, { streamType: "error", port: "81", requestID: "0" });
  await client.open(3, { streamType: "data", port: "81", requestID: "0" });
  await waitFor(() => client.data(1).fin && client.data(3).fin, { what: "both streams to close" });
  t.equal(
    client.data(1).text,
    "error forwarding port 81 to pod u1, uid : dial tcp 10.0.0.9:81: connect: connection refused",
  );
});

t.test("port-forward: bad streams are reset, bad ids refused", async (t) => {
  const { client } = await start(t);
  await client.open(1, { streamType: "data", port: "0" });
  await client.open(3, { streamType: "other", port: "80" });
  await client.open(5, { port: "80" });
  await waitFor(() => client.frames.filter((f) => f.type === "RST_STREAM").length === 3, {
    what: "three resets",
  });
  t.same(
    client.frames.filter((f) => f.type === "RST_STREAM").map((f) => f.type === "RST_STREAM" && f.streamId),
    [1, 3, 5],
  );
  await client.open(4, { streamType: "data", port: "80" });
  await waitFor(
    () =>
      client.find(
        (f) => f.type === "RST_STREAM" && f.streamId === 4 && f.status === RstStatus.PROTOCOL_ERROR,
      ),
    { what: "an even (server-side) stream id to be refused" },
  );
  // The client resets a forwarded data stream: the server drops it without answering.
  await client.open(7, { streamType: "error", port: "80", requestID: "9" });
  await client.open(9, { streamType: "data", port: "80", requestID: "9" });
  await waitFor(() => client.find((f) => f.type === "SYN_REPLY" && f.streamId === 9), { what: "the reply" });
  client.send({ type: "RST_STREAM", streamId: 9, status: RstStatus.CANCEL });
  await waitFor(() => client.data(7).fin, { what: "the error stream to close" });
  t.notOk(
    client.find((f) => f.type === "RST_STREAM" && f.streamId === 9),
    "a reset is not answered",
  );
  t.equal(client.closed, false, "the connection goes on");
});

t.test("a garbled header block ends the connection with GOAWAY", async (t) => {
  const { client, served } = await start(t);
  client.send({
    type: "SYN_STREAM",
    flags: 0,
    streamId: 1,
    associatedToStreamId: 0,
    priority: 0,
    slot: 0,
    headerBlock: Buffer.from("not zlib at all"),
  });
  await waitFor(() => client.closed, { what: "the connection to end" });
  t.match(
    client.find((f) => f.type === "GOAWAY"),
    { status: 1 },
    "GOAWAY with PROTOCOL_ERROR",
  );
  await Promise.all(served);
});
