/**
 * Skiff's own HTTP/2 connection (grpc/h2wire/) under a gRPC server, at the frame level: flow
 * control against a client with a tiny window, PING, many streams at once, padded frames written
 * by hand, and malformed input (bad preface, oversized frame, a stream id a client may not use,
 * an undecodable header block, a header list that decodes too large), each ending only its own
 * connection with the right GOAWAY code.
 * The gRPC-level suite runs over both implementations in h2server.test.ts.
 */
import { connect, constants } from "node:http2";
import { connect as connectTcp, type Socket } from "node:net";
import t from "tap";
import { GrpcH2Server, type MethodCodec, type RegisteredMethod } from "../src/grpc/h2server.js";
import {
  clientPreface,
  ErrorCode,
  Flag,
  FrameType,
  frame,
  Setting,
  settingsFrame,
  windowUpdateFrame,
} from "../src/grpc/h2wire/frames.js";
import { encodeLiteral } from "../src/grpc/h2wire/hpack.js";

const codec = (path: string, responseStream: boolean): MethodCodec => ({
  path,
  requestStream: false,
  responseStream,
  requestDeserialize: (b) => b.toString("utf8"),
  responseSerialize: (v) => Buffer.from(String(v), "utf8"),
});
const methods = new Map<string, RegisteredMethod>([
  ["/t.S/Echo", { codec: codec("/t.S/Echo", false), unary: async (req) => `echo ${req}` }],
  [
    "/t.S/Blob",
    {
      codec: codec("/t.S/Blob", true),
      stream: (call) => {
        // `n` responses of 10,000 bytes each.
        const n = Number(call.request);
        for (let i = 0; i < n; i++) call.write(String(i % 10).repeat(10_000));
        call.end();
      },
    },
  ],
]);
const server = new GrpcH2Server(methods, 1 << 20, (e) => ({ code: 2, details: String(e) }), "wire");
const port = await server.listen("127.0.0.1", 0);
t.teardown(() => server.tryShutdown(100));

/** A gRPC message: 5-byte prefix and payload. */
function grpcMessage(s: string): Buffer {
  const body = Buffer.from(s, "utf8");
  const out = Buffer.alloc(5 + body.length);
  out.writeUInt32BE(body.length, 1);
  body.copy(out, 5);
  return out;
}

/** The gRPC messages in a response body. */
function messages(body: Buffer): string[] {
  const out: string[] = [];
  for (let at = 0; at + 5 <= body.length; ) {
    const n = body.readUInt32BE(at + 1);
    out.push(body.subarray(at + 5, at + 5 + n).toString("utf8"));
    at += 5 + n;
  }
  return out;
}

/** One call over node:http2's client; resolves with the status, trailers' grpc-status and body. */
function call(
  session: ReturnType<typeof connect>,
  path: string,
  arg: string,
): Promise<{ status: number; grpcStatus: string | undefined; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ":method": "POST", ":path": path, "content-type": "application/grpc" });
    const chunks: Buffer[] = [];
    let status = 0;
    let grpcStatus: string | undefined;
    req.on("response", (h) => {
      status = Number(h[":status"]);
      grpcStatus = h["grpc-status"] as string | undefined;
    });
    req.on("trailers", (h) => {
      grpcStatus = h["grpc-status"] as string | undefined;
    });
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve({ status, grpcStatus, body: Buffer.concat(chunks) }));
    req.on("error", reject);
    req.end(grpcMessage(arg));
  });
}

t.test("a client with a 1,000-byte window gets a 2 MB stream whole (flow control)", async (t) => {
  const session = connect(`http://127.0.0.1:${port}`, { settings: { initialWindowSize: 1000 } });
  t.teardown(() => session.close());
  const r = await call(session, "/t.S/Blob", "200");
  t.equal(r.status, 200);
  t.equal(r.grpcStatus, "0");
  const got = messages(r.body);
  t.equal(got.length, 200, "200 responses");
  t.ok(
    got.every((m, i) => m === String(i % 10).repeat(10_000)),
    "each one intact and in order",
  );
});

t.test("PING is answered, and 200 calls at once on one connection all succeed", async (t) => {
  const session = connect(`http://127.0.0.1:${port}`);
  t.teardown(() => session.close());
  // (node:http2's client cancels a PING sent before its connection is up, whatever the server.)
  await new Promise((resolve) => session.once("connect", resolve));
  const pinged = await new Promise<boolean>((resolve) => session.ping((err) => resolve(err === null)));
  t.ok(pinged, "PING acknowledged");
  const results = await Promise.all(
    Array.from({ length: 200 }, (_, i) => call(session, "/t.S/Echo", String(i))),
  );
  t.ok(
    results.every((r, i) => r.grpcStatus === "0" && messages(r.body)[0] === `echo ${i}`),
    "every call answered with its own response",
  );
});

/** A raw TCP client that writes frames by hand and reads the server's frames. */
class RawClient {
  readonly frames: { type: number; flags: number; stream: number; payload: Buffer }[] = [];
  closed = false;
  private buf = Buffer.alloc(0);
  private readonly waiters: (() => void)[] = [];

  constructor(readonly socket: Socket) {
    socket.on("data", (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      while (this.buf.length >= 9) {
        const n = this.buf.readUIntBE(0, 3);
        if (this.buf.length < 9 + n) break;
        this.frames.push({
          type: this.buf[3] as number,
          flags: this.buf[4] as number,
          stream: this.buf.readUInt32BE(5) & 0x7fffffff,
          payload: this.buf.subarray(9, 9 + n),
        });
        this.buf = this.buf.subarray(9 + n);
      }
      for (const w of this.waiters.splice(0)) w();
    });
    socket.on("error", () => undefined);
    socket.on("close", () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w();
    });
  }

  static async open(): Promise<RawClient> {
    const socket = connectTcp(port, "127.0.0.1");
    await new Promise((resolve) => socket.once("connect", resolve));
    return new RawClient(socket);
  }

  /**
   * Waits until `pred` holds of what arrived (or the connection closed); the assertions after it
   * say what was missing. The deadline only ends a test that would hang.
   */
  async until(pred: () => boolean, ms = 30_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!pred() && !this.closed && Date.now() < deadline)
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
  }

  goaway(): number | undefined {
    const f = this.frames.find((x) => x.type === FrameType.GOAWAY);
    return f?.payload.readUInt32BE(4);
  }
}

const requestBlock = (path: string) =>
  Buffer.concat([
    encodeLiteral(":method", "POST"),
    encodeLiteral(":scheme", "http"),
    encodeLiteral(":path", path),
    encodeLiteral(":authority", "x"),
    encodeLiteral("content-type", "application/grpc"),
  ]);

t.test("a unary reply overtakes a stream's backlog on a connection short of window", async (t) => {
  // The connection's send window is shared by every stream; a 2 MB backlog on one stream must not
  // hold a small reply until the backlog is through. The client grants window by hand, so the
  // order does not depend on timing: the backlog is queued on the server (it used up the window
  // it had) before the unary call is made, and the reply is queued (its HEADERS, which flow
  // control does not hold, arrived) before the next grant.
  const c = await RawClient.open();
  t.teardown(() => c.socket.destroy());
  const dataOf = (id: number) => c.frames.filter((f) => f.type === FrameType.DATA && f.stream === id);
  const bytesOf = (id: number) => dataOf(id).reduce((n, f) => n + f.payload.length, 0);
  const endOf = (id: number) =>
    c.frames.findIndex((f) => f.stream === id && (f.flags & Flag.END_STREAM) !== 0);
  const request = (id: number, path: string, arg: string) =>
    Buffer.concat([
      frame(FrameType.HEADERS, Flag.END_HEADERS, id, requestBlock(path)),
      frame(FrameType.DATA, Flag.END_STREAM, id, grpcMessage(arg)),
    ]);
  // Each stream may take 4 MiB; the connection keeps its initial 65,535 bytes until a grant.
  c.socket.write(
    Buffer.concat([
      clientPreface,
      settingsFrame([[Setting.INITIAL_WINDOW_SIZE, 4 << 20]]),
      request(1, "/t.S/Blob", "200"),
    ]),
  );
  await c.until(() => bytesOf(1) >= 65_535);
  t.equal(bytesOf(1), 65_535, "the blob used the connection's whole window; the rest is queued");
  c.socket.write(request(3, "/t.S/Echo", "hi"));
  await c.until(() => c.frames.some((f) => f.type === FrameType.HEADERS && f.stream === 3));
  t.equal(bytesOf(3), 0, "the reply's DATA waits for window");
  c.socket.write(windowUpdateFrame(0, 16_384));
  await c.until(() => bytesOf(1) + bytesOf(3) >= 65_535 + 16_384);
  c.socket.write(windowUpdateFrame(0, 2 << 20)); // enough for the rest of both
  await c.until(() => endOf(1) >= 0 && endOf(3) >= 0);
  t.same(messages(Buffer.concat(dataOf(3).map((f) => f.payload))), ["echo hi"]);
  t.equal(
    messages(Buffer.concat(dataOf(1).map((f) => f.payload))).length,
    200,
    "the backlog still arrives whole",
  );
  const ended = (
    [
      ["echo", endOf(3)],
      ["blob", endOf(1)],
    ] as const
  )
    .filter(([, at]) => at >= 0)
    .sort((x, y) => x[1] - y[1])
    .map(([name]) => name);
  t.same(ended, ["echo", "blob"], "the reply came before the end of the backlog");
});

t.test("padded HEADERS and DATA frames written by hand get a whole gRPC response", async (t) => {
  const c = await RawClient.open();
  t.teardown(() => c.socket.destroy());
  const block = requestBlock("/t.S/Echo");
  // HEADERS: pad length 3, the block, 3 bytes of padding.
  const headers = Buffer.concat([Buffer.from([3]), block, Buffer.alloc(3)]);
  const body = grpcMessage("padded");
  const data = Buffer.concat([Buffer.from([4]), body, Buffer.alloc(4)]);
  c.socket.write(
    Buffer.concat([
      clientPreface,
      settingsFrame([]),
      frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.PADDED, 1, headers),
      frame(FrameType.DATA, Flag.END_STREAM | Flag.PADDED, 1, data),
    ]),
  );
  const ended = () => c.frames.some((f) => f.stream === 1 && (f.flags & Flag.END_STREAM) !== 0);
  await c.until(ended);
  t.ok(
    c.frames.some((f) => f.type === FrameType.SETTINGS && (f.flags & Flag.ACK) !== 0),
    "our SETTINGS acknowledged",
  );
  const dataFrames = c.frames.filter((f) => f.type === FrameType.DATA && f.stream === 1);
  t.same(messages(Buffer.concat(dataFrames.map((f) => f.payload))), ["echo padded"]);
  const last = c.frames.filter((f) => f.stream === 1).at(-1);
  t.equal(last?.type, FrameType.HEADERS, "the stream ends with trailers");
  t.ok(((last?.flags ?? 0) & Flag.END_STREAM) !== 0);
});

t.test("a PING alone on an idle connection is answered with its payload", async (t) => {
  const c = await RawClient.open();
  t.teardown(() => c.socket.destroy());
  c.socket.write(Buffer.concat([clientPreface, settingsFrame([])]));
  const acked = () => c.frames.some((f) => f.type === FrameType.SETTINGS && (f.flags & Flag.ACK) !== 0);
  await c.until(acked);
  t.ok(acked(), "SETTINGS acknowledged");
  c.socket.write(frame(FrameType.PING, 0, 0, Buffer.from("12345678")));
  const pong = () => c.frames.find((f) => f.type === FrameType.PING && (f.flags & Flag.ACK) !== 0);
  await c.until(() => pong() !== undefined);
  t.equal(pong()?.payload.toString(), "12345678");
});

t.test("malformed input ends that connection with GOAWAY and its code; others go on", async (t) => {
  const cases: [string, Buffer, number][] = [
    ["a bad preface", Buffer.from("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), ErrorCode.PROTOCOL_ERROR],
    [
      "a frame above the maximum frame size",
      Buffer.concat([clientPreface, frame(FrameType.DATA, 0, 1, Buffer.alloc(20_000))]),
      ErrorCode.FRAME_SIZE_ERROR,
    ],
    [
      "HEADERS opening an even (server) stream id",
      Buffer.concat([
        clientPreface,
        frame(FrameType.HEADERS, Flag.END_HEADERS, 2, requestBlock("/t.S/Echo")),
      ]),
      ErrorCode.PROTOCOL_ERROR,
    ],
    [
      "an undecodable header block",
      Buffer.concat([clientPreface, frame(FrameType.HEADERS, Flag.END_HEADERS, 1, Buffer.from([0x80]))]),
      ErrorCode.COMPRESSION_ERROR,
    ],
    [
      "a frame other than CONTINUATION inside a header block",
      Buffer.concat([
        clientPreface,
        frame(FrameType.HEADERS, 0, 1, requestBlock("/t.S/Echo")),
        frame(FrameType.PING, 0, 0, Buffer.alloc(8)),
      ]),
      ErrorCode.PROTOCOL_ERROR,
    ],
    [
      // One literal with incremental indexing puts a 4,000-byte value in the table; 300 one-byte
      // references to it (index 62) then decode to 1.2 MB of header list.
      "a header list that decodes past its limit (a few bytes indexing a large entry often)",
      Buffer.concat([
        clientPreface,
        frame(
          FrameType.HEADERS,
          Flag.END_HEADERS,
          1,
          Buffer.concat([
            Buffer.from([0x40, 0x01, 0x78, 0x7f, 0xa1, 0x1e]), // name "x", value length 127+3873
            Buffer.alloc(4000, 0x79),
            Buffer.alloc(300, 0xbe), // indexed field 62: the newest dynamic entry
          ]),
        ),
      ]),
      ErrorCode.ENHANCE_YOUR_CALM,
    ],
    [
      "a connection WINDOW_UPDATE of 0",
      Buffer.concat([clientPreface, frame(FrameType.WINDOW_UPDATE, 0, 0, Buffer.alloc(4))]),
      ErrorCode.PROTOCOL_ERROR,
    ],
  ];
  for (const [what, bytes, code] of cases) {
    const c = await RawClient.open();
    c.socket.write(bytes);
    await c.until(() => c.closed);
    t.ok(c.closed, `${what}: the server closed the connection`);
    t.equal(c.goaway(), code, `${what}: GOAWAY code ${code}`);
  }
  const session = connect(`http://127.0.0.1:${port}`);
  t.teardown(() => session.close());
  const r = await call(session, "/t.S/Echo", "still here");
  t.same(messages(r.body), ["echo still here"], "a new connection is served");
});

t.test("a client RST_STREAM ends only that stream", async (t) => {
  const session = connect(`http://127.0.0.1:${port}`);
  t.teardown(() => session.close());
  const req = session.request({
    ":method": "POST",
    ":path": "/t.S/Blob",
    "content-type": "application/grpc",
  });
  req.on("error", () => undefined);
  req.end(grpcMessage("500"));
  await new Promise((resolve) => req.once("data", resolve));
  req.close(constants.NGHTTP2_CANCEL);
  const r = await call(session, "/t.S/Echo", "after reset");
  t.same(messages(r.body), ["echo after reset"], "the connection still serves");
});
