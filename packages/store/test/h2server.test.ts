/**
 * Skiff's gRPC server (h2server.ts), over both HTTP/2 implementations (its own, h2wire/, and
 * node:http2), at the protocol level, with grpc-js as the
 * client: unary calls, statuses and their messages (percent-encoded on the wire), unknown methods,
 * oversized messages, bidirectional and server streams, a client that cancels, a non-gRPC request.
 * etcdctl against it is in grpc-etcdctl.test.ts and store-etcdctl.test.ts.
 */
import { connect } from "node:http2";
import * as grpc from "@grpc/grpc-js";
import { waitFor, withDeadline } from "@skiff/testkit";
import t from "tap";
import {
  encodeGrpcMessage,
  GrpcH2Server,
  type MethodCodec,
  type RegisteredMethod,
} from "../src/grpc/h2server.js";

const text = (path: string, requestStream: boolean, responseStream: boolean): MethodCodec => ({
  path,
  requestStream,
  responseStream,
  requestDeserialize: (b) => b.toString("utf8"),
  responseSerialize: (v) => {
    if (v === "unencodable") throw new Error("cannot encode this");
    return Buffer.from(String(v), "utf8");
  },
});

const toStatus = (err: unknown) => ({
  code: grpc.status.FAILED_PRECONDITION,
  details: (err as Error).message,
});
let cancelledStreams = 0;
/** What each /t.S/Conn call said its connection was. */
const callConnections: (object | undefined)[] = [];
const methods = new Map<string, RegisteredMethod>([
  [
    "/t.S/Echo",
    {
      codec: text("/t.S/Echo", false, false),
      unary: async (req) => {
        if (req === "fail") throw new Error("déjà vu: 100% failed");
        if (req === "unencodable") return "unencodable";
        if (typeof req === "string" && req.startsWith("big ")) return "y".repeat(Number(req.slice(4)));
        return `echo ${req}`;
      },
    },
  ],
  [
    "/t.S/Chat",
    {
      codec: text("/t.S/Chat", true, true),
      stream: (call) => {
        call.on("data", (req: unknown) => {
          if (req === "bye") call.end();
          else if (req === "boom") call.emit("error", { code: grpc.status.ABORTED, details: "boom" });
          else call.write(`re: ${req}`);
        });
        call.on("cancelled", () => cancelledStreams++);
      },
    },
  ],
  [
    "/t.S/Conn",
    {
      codec: text("/t.S/Conn", true, true),
      stream: (call) => {
        callConnections.push(call.connection);
        call.on("data", () => call.end());
      },
    },
  ],
  [
    "/t.S/Many",
    {
      codec: text("/t.S/Many", false, true),
      stream: (call) => {
        const n = Number(call.request);
        call.writeMany(
          Array.from({ length: n }, (_, i) => Buffer.from(`m${i}`)),
          () => call.end(),
        );
      },
    },
  ],
  [
    "/t.S/Count",
    {
      codec: text("/t.S/Count", false, true),
      stream: (call) => {
        const n = Number(call.request);
        for (let i = 1; i <= n; i++) call.write(String(i));
        call.end();
      },
    },
  ],
]);

for (const transport of ["wire", "node"] as const) {
  t.test(`over ${transport === "wire" ? "Skiff's own HTTP/2 (h2wire)" : "node:http2"}`, async (t) => {
    const server = new GrpcH2Server(methods, 1024, toStatus, transport);
    const port = await server.listen("127.0.0.1", 0);
    const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    t.teardown(async () => {
      client.close();
      await server.tryShutdown();
    });

    const ser = (s: string) => Buffer.from(s, "utf8");
    const de = (b: Buffer) => b.toString("utf8");

    function unary(path: string, arg: string): Promise<{ res?: string; err?: grpc.ServiceError }> {
      return new Promise((resolve) => {
        client.makeUnaryRequest(path, ser, de, arg, (err, res) =>
          resolve(err ? { err } : { res: res as string }),
        );
      });
    }

    t.test(
      "unary calls: a response, a status with its message, an unknown method, an oversized request",
      async (t) => {
        t.same(await unary("/t.S/Echo", "hi"), { res: "echo hi" });
        const failed = await unary("/t.S/Echo", "fail");
        t.equal(failed.err?.code, grpc.status.FAILED_PRECONDITION);
        t.equal(failed.err?.details, "déjà vu: 100% failed", "the message survives its percent-encoding");
        t.equal(encodeGrpcMessage("déjà 100%"), "d%C3%A9j%C3%A0 100%25");
        const unknown = await unary("/t.S/Nope", "x");
        t.equal(unknown.err?.code, grpc.status.UNIMPLEMENTED);
        t.match(unknown.err?.details, /does not implement the method \/t\.S\/Nope/);
        const big = await unary("/t.S/Echo", "x".repeat(2000));
        t.equal(big.err?.code, grpc.status.RESOURCE_EXHAUSTED);
        t.match(big.err?.details, /larger than max \(2000 vs\. 1024\)/);
        const unencodable = await unary("/t.S/Echo", "unencodable");
        t.equal(unencodable.err?.code, grpc.status.INTERNAL);
        t.match(unencodable.err?.details, /Error serializing response: cannot encode this/);
        t.same(await unary("/t.S/Echo", "again"), { res: "echo again" }, "the connection still serves");
      },
    );

    t.test(
      "a bidirectional stream: responses in order, end() is OK, an emitted error is the status",
      async (t) => {
        const chat = () => client.makeBidiStreamRequest("/t.S/Chat", ser, de);
        const run = (msgs: string[]) =>
          new Promise<{ got: string[]; code: number; details: string }>((resolve) => {
            const call = chat();
            const got: string[] = [];
            call.on("data", (d: string) => got.push(d));
            call.on("error", () => undefined);
            call.on("status", (s: grpc.StatusObject) => resolve({ got, code: s.code, details: s.details }));
            for (const m of msgs) call.write(m);
          });
        t.same(await run(["a", "b", "bye"]), { got: ["re: a", "re: b"], code: grpc.status.OK, details: "" });
        t.same(await run(["a", "boom"]), { got: ["re: a"], code: grpc.status.ABORTED, details: "boom" });
        const before = cancelledStreams;
        const call = chat();
        call.on("error", () => undefined);
        await new Promise<void>((resolve) => {
          call.on("data", () => resolve());
          call.write("x");
        });
        call.cancel();
        await waitFor(() => cancelledStreams > before, { what: "the handler to hear of the cancel" });
        t.equal(cancelledStreams, before + 1, "the handler hears of a client that cancels");
      },
    );

    t.test("large responses at once on one connection are all answered", async (t) => {
      const big = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
        "grpc.max_receive_message_length": -1,
      });
      t.teardown(() => big.close());
      const size = 12 * 1024 * 1024;
      const call = () =>
        new Promise<number | string>((resolve) => {
          big.makeUnaryRequest("/t.S/Echo", ser, de, `big ${size}`, (err, res) =>
            resolve(err ? err.details : (res as string).length),
          );
        });
      t.same(
        await Promise.all([call(), call(), call(), call()]),
        [size, size, size, size],
        "four 12 MiB responses at once on one connection",
      );
    });

    /** The responses of a server-streaming call, once it ends. */
    function serverStream(path: string, arg: string): Promise<string[]> {
      return new Promise((resolve, reject) => {
        const out: string[] = [];
        const call = client.makeServerStreamRequest(path, ser, de, arg);
        call.on("data", (d: string) => out.push(d));
        call.on("error", reject);
        call.on("end", () => resolve(out));
      });
    }

    t.test("a call names its connection: the same for calls on one, another for another", async (t) => {
      // grpc-js shares connections among clients with equal options unless told not to.
      const other = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
        "grpc.use_local_subchannel_pool": 1,
      });
      t.teardown(() => other.close());
      callConnections.length = 0;
      const calls = [client, client, other].map((c) => {
        const call = c.makeBidiStreamRequest("/t.S/Conn", ser, de);
        call.on("error", () => undefined);
        call.on("data", () => undefined);
        return call;
      });
      await waitFor(() => callConnections.length === 3, { what: "three calls" });
      const [a, b, c] = callConnections;
      t.ok(a !== undefined && c !== undefined, "every call names one");
      t.equal(a, b, "two calls on one client's connection name the same one");
      t.not(a, c, "a call on another connection names another");
      for (const call of calls) call.write("bye");
    });

    t.test("a server stream: one request, many responses", async (t) => {
      const got = await serverStream("/t.S/Count", "4");
      t.same(got, ["1", "2", "3", "4"]);
    });

    t.test("writeMany: several responses in one write arrive as separate messages", async (t) => {
      const got = await serverStream("/t.S/Many", "3");
      t.same(got, ["m0", "m1", "m2"]);
    });

    t.test("a request that is not gRPC gets HTTP 415", async (t) => {
      const session = connect(`http://127.0.0.1:${port}`);
      t.teardown(() => session.close());
      const status = await new Promise<number>((resolve, reject) => {
        const req = session.request({
          ":method": "POST",
          ":path": "/t.S/Echo",
          "content-type": "text/plain",
        });
        req.on("response", (h) => resolve(Number(h[":status"])));
        req.on("error", reject);
        req.end("hi");
      });
      t.equal(status, 415);
    });

    t.test("shutting down ends a stream that stays open after the grace period", async (t) => {
      const s2 = new GrpcH2Server(methods, 1024, toStatus, transport);
      const p2 = await s2.listen("127.0.0.1", 0);
      const c2 = new grpc.Client(`127.0.0.1:${p2}`, grpc.credentials.createInsecure());
      t.teardown(() => c2.close());
      const call = c2.makeBidiStreamRequest("/t.S/Chat", ser, de);
      const status = new Promise<number>((resolve) => {
        call.on("error", () => undefined);
        call.on("status", (st: grpc.StatusObject) => resolve(st.code));
      });
      await new Promise<void>((resolve) => {
        call.on("data", () => resolve());
        call.write("x");
      });
      // How long it takes is the machine's business: a figure, not an assertion.
      const started = performance.now();
      await withDeadline(s2.tryShutdown(200), { what: "tryShutdown(200) with a stream still open" });
      t.pass("tryShutdown returns once the grace period is over");
      t.comment(`tryShutdown(200) returned after ${(performance.now() - started).toFixed(0)} ms`);
      t.not(await status, grpc.status.OK, "the open stream was cut off");
    });
  });
}
