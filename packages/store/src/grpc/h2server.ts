/**
 * A gRPC server for the etcd services, on Skiff's own HTTP/2 (h2wire/, the default) or on
 * node:http2: the wire protocol of grpc/doc/PROTOCOL-HTTP2.md (length-prefixed messages, status in trailers, trailers-only error
 * responses, percent-encoded grpc-message), with the messages encoded and decoded by the same
 * proto-loader definitions grpc-js uses. grpc-js's own server costs much more CPU per unary call
 * (interceptor chain, metadata objects, per-call filters); docs/benchmarks.md has the figures.
 *
 * Not implemented, as etcd's clients do not use them: message compression (a compressed message
 * is answered with UNIMPLEMENTED), server-side deadlines (grpc-timeout is left to the client),
 * TLS (skiff store listens on http:// URLs only).
 */
import { EventEmitter } from "node:events";
import { constants, createServer as createHttp2Server } from "node:http2";
import { type AddressInfo, createServer as createNetServer, type Server } from "node:net";
import { status as Status } from "@grpc/grpc-js";
import { H2Connection } from "./h2wire/connection.js";

/** What a method needs of its proto-loader definition. */
export interface MethodCodec {
  readonly path: string;
  readonly requestStream: boolean;
  readonly responseStream: boolean;
  requestDeserialize(b: Buffer): unknown;
  responseSerialize(v: unknown): Buffer;
}

/** A status to end a call with (what errors.ts's toGrpcStatus gives). */
export interface CallStatus {
  readonly code: number;
  readonly details: string;
}

export type UnaryHandler = (req: unknown) => Promise<unknown>;
export type StreamHandler = (call: H2Call) => void;

export interface RegisteredMethod {
  readonly codec: MethodCodec;
  readonly unary?: UnaryHandler;
  readonly stream?: StreamHandler;
}

const messageHeaderBytes = 5;

/**
 * The part of an HTTP/2 server stream a call uses: node:http2's ServerHttp2Stream, or the stream
 * of Skiff's own HTTP/2 connection (h2wire/), which costs a fraction of node:http2's CPU per call.
 */
export interface H2Stream {
  readonly destroyed: boolean;
  readonly closed: boolean;
  // biome-ignore lint/suspicious/noExplicitAny: node:http2's listener signature
  on(event: string, listener: (...args: any[]) => void): unknown;
  // biome-ignore lint/suspicious/noExplicitAny: node:http2's listener signature
  once(event: string, listener: (...args: any[]) => void): unknown;
  respond(
    headers: Record<string, string | number>,
    opts?: { endStream?: boolean; waitForTrailers?: boolean },
  ): void;
  write(data: Buffer, cb?: () => void): boolean;
  /** The HTTP/2 connection the stream belongs to (node:http2's Http2Session, or h2wire's). */
  readonly session?: object;
  end(): void;
  sendTrailers(headers: Record<string, string>): void;
  close(code?: number): void;
}

/** Which HTTP/2 implementation serves the calls: Skiff's own (default) or node:http2. */
export type H2Transport = "wire" | "node";

/** One listening socket and its connections, whatever the HTTP/2 implementation. */
interface Listener {
  /** Stops accepting; resolves when every connection has closed. */
  close(): Promise<void>;
  /** GOAWAY on every connection: each closes when its streams have ended. */
  closeSessions(): void;
  destroySessions(): void;
}

/** The Listener of a server and the set of its open connections (h2wire's or node:http2's). */
function listenerOf(
  server: { close(cb: () => void): unknown },
  conns: Set<{ close(): void; destroy(): void }>,
): Listener {
  return {
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    closeSessions: () => {
      for (const c of conns) c.close();
    },
    destroySessions: () => {
      for (const c of conns) c.destroy();
      conns.clear();
    },
  };
}

/** grpc-message: percent-encoded outside printable ASCII, and '%' itself (PROTOCOL-HTTP2.md). */
export function encodeGrpcMessage(s: string): string {
  return s.replace(/[^\x20-\x24\x26-\x7e]+/g, (run) =>
    [...Buffer.from(run, "utf8")].map((b) => `%${b.toString(16).toUpperCase().padStart(2, "0")}`).join(""),
  );
}

/** INTERNAL, for a message the method's codec could not decode or encode. */
function codecFailure(what: "deserializing request" | "serializing response", err: unknown): CallStatus {
  return { code: Status.INTERNAL, details: `Error ${what}: ${(err as Error).message}` };
}

/**
 * One call: requests arrive as 'data' events ('end' when the client half-closes, 'cancelled' when
 * it goes away first); write() sends a response, end() ends with OK, emit('error', status) ends
 * with that status. The same surface grpc-js's server streams offered the handlers.
 */
export class H2Call extends EventEmitter {
  cancelled = false;
  /** The request of a server-streaming call (Snapshot). */
  request: unknown;
  private headersSent = false;
  private finished = false;
  private buffered: Buffer | undefined;

  constructor(
    readonly stream: H2Stream,
    private readonly codec: MethodCodec,
    private readonly maxReceiveBytes: number,
    private readonly onRequest: (req: unknown) => void,
    private readonly onHalfClose: () => void,
  ) {
    super();
    stream.on("data", (chunk: Buffer) => this.receive(chunk));
    stream.on("end", () => {
      if (!this.finished) this.onHalfClose();
    });
    stream.on("close", () => {
      if (this.finished) return;
      this.finished = true;
      this.cancelled = true;
      super.emit("cancelled");
    });
    stream.on("error", () => undefined); // a reset stream also closes: handled above
  }

  private receive(chunk: Buffer): void {
    if (this.finished) return;
    let buf = this.buffered === undefined ? chunk : Buffer.concat([this.buffered, chunk]);
    while (buf.length >= messageHeaderBytes) {
      const compressed = buf[0] !== 0;
      const length = buf.readUInt32BE(1);
      if (length > this.maxReceiveBytes) {
        this.fail({
          code: Status.RESOURCE_EXHAUSTED,
          details: `Received message larger than max (${length} vs. ${this.maxReceiveBytes})`,
        });
        return;
      }
      if (buf.length < messageHeaderBytes + length) break;
      const body = buf.subarray(messageHeaderBytes, messageHeaderBytes + length);
      buf = buf.subarray(messageHeaderBytes + length);
      if (compressed) {
        this.fail({ code: Status.UNIMPLEMENTED, details: "compressed messages are not supported" });
        return;
      }
      let req: unknown;
      try {
        req = this.codec.requestDeserialize(body);
      } catch (err) {
        this.fail(codecFailure("deserializing request", err));
        return;
      }
      this.onRequest(req);
      if (this.finished) return;
    }
    this.buffered = buf.length === 0 ? undefined : buf;
  }

  private sendHeaders(): void {
    if (this.headersSent) return;
    this.headersSent = true;
    this.stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
  }

  /** The HTTP/2 connection of the call: the same object for every call on it. */
  get connection(): object | undefined {
    return this.stream.session;
  }

  /** Sends one response (an encoded Buffer is sent as it is). False once the stream is backed up. */
  write(res: unknown, cb?: () => void): boolean {
    if (this.gone(cb)) return false;
    return this.writeMany([Buffer.isBuffer(res) ? res : this.codec.responseSerialize(res)], cb);
  }

  /** Sends several already-encoded responses in one write (one HTTP/2 DATA frame). */
  writeMany(responses: readonly Buffer[], cb?: () => void): boolean {
    if (this.gone(cb)) return false;
    let total = 0;
    for (const r of responses) total += messageHeaderBytes + r.length;
    const out = Buffer.allocUnsafe(total);
    let at = 0;
    for (const r of responses) {
      out[at] = 0;
      out.writeUInt32BE(r.length, at + 1);
      r.copy(out, at + messageHeaderBytes);
      at += messageHeaderBytes + r.length;
    }
    return this.writeFramed(out, cb);
  }

  /** Writes already-framed messages (length-prefixed, see writeMany) as they are. */
  writeFramed(framed: Buffer, cb?: () => void): boolean {
    if (this.gone(cb)) return false;
    this.sendHeaders();
    return this.stream.write(framed, cb);
  }

  /** The call has ended: nothing more is written, and a write's callback still runs. */
  private gone(cb: (() => void) | undefined): boolean {
    if (!this.finished && !this.stream.destroyed) return false;
    if (cb !== undefined) queueMicrotask(cb);
    return true;
  }

  /** Hands a client-streamed request to the handler. */
  emitRequest(req: unknown): void {
    super.emit("data", req);
  }

  /** The client half-closed its side of a bidirectional call. */
  emitEnd(): void {
    super.emit("end");
  }

  /** Ends the call with OK. */
  end(): void {
    this.finish({ code: Status.OK, details: "" });
  }

  /** Ends the call with a status (the handler's error). */
  fail(status: CallStatus): void {
    this.finish(status);
  }

  /** grpc-js's convention, kept for the handlers: emit('error', status) ends the call with it. */
  override emit(event: string | symbol, ...args: unknown[]): boolean {
    if (event === "error") {
      const s = args[0] as Partial<CallStatus> | undefined;
      this.finish({ code: s?.code ?? Status.UNKNOWN, details: s?.details ?? String(s) });
      return this.listenerCount("error") > 0 ? super.emit(event, ...args) : true;
    }
    return super.emit(event, ...args);
  }

  private finish(status: CallStatus): void {
    if (this.finished) return;
    this.finished = true;
    const stream = this.stream;
    if (stream.destroyed || stream.closed) return;
    const trailers: Record<string, string> = { "grpc-status": String(status.code) };
    if (status.details !== "") trailers["grpc-message"] = encodeGrpcMessage(status.details);
    if (!this.headersSent) {
      // Trailers-only response: one HEADERS frame that ends the stream.
      this.headersSent = true;
      stream.respond(
        { ":status": 200, "content-type": "application/grpc", ...trailers },
        { endStream: true },
      );
      return;
    }
    stream.once("wantTrailers", () => stream.sendTrailers(trailers));
    stream.end();
  }
}

/** An HTTP/2 server answering the registered gRPC methods, by path. */
export class GrpcH2Server {
  private readonly listeners: Listener[] = [];

  constructor(
    private readonly methods: ReadonlyMap<string, RegisteredMethod>,
    private readonly maxReceiveBytes: number,
    /** Turns anything a handler throws into a status. */
    private readonly toStatus: (err: unknown) => CallStatus,
    private readonly transport: H2Transport = "wire",
  ) {}

  /** Listens on host:port (0: any free port); resolves with the port. */
  async listen(host: string, port: number): Promise<number> {
    const { server, listener } = this.transport === "node" ? this.nodeListener() : this.wireListener();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    this.listeners.push(listener);
    return (server.address() as AddressInfo).port;
  }

  private wireListener(): { server: Server; listener: Listener } {
    const conns = new Set<H2Connection>();
    const server = createNetServer((socket) => {
      const c: H2Connection = new H2Connection(
        socket,
        (stream, headers) => this.onStream(stream, headers),
        () => conns.delete(c),
      );
      conns.add(c);
    });
    return { server, listener: listenerOf(server, conns) };
  }

  private nodeListener(): { server: Server; listener: Listener } {
    // As grpc-js's server: no per-connection memory cap (Node's default, 10 MB, refuses new
    // streams on a connection past it; grpc-js saw Node degrade badly there and disabled it).
    const server = createHttp2Server({
      maxSessionMemory: Number.MAX_SAFE_INTEGER,
      maxSendHeaderBlockLength: Number.MAX_SAFE_INTEGER,
    });
    const sessions = new Set<import("node:http2").Http2Session>();
    server.on("session", (s) => {
      sessions.add(s);
      s.on("close", () => sessions.delete(s));
      s.on("error", () => undefined); // a broken connection closes the session: nothing else to do
    });
    server.on("stream", (stream, headers) =>
      this.onStream(stream as unknown as H2Stream, headers as Record<string, string>),
    );
    return { server: server as unknown as Server, listener: listenerOf(server, sessions) };
  }

  private onStream(stream: H2Stream, headers: Record<string, string | undefined>): void {
    stream.on("error", () => undefined);
    const contentType = headers["content-type"] ?? "";
    if (!contentType.startsWith("application/grpc")) {
      stream.respond({ ":status": 415, "content-type": "text/plain" }, { endStream: true });
      return;
    }
    const path = headers[":path"] ?? "";
    const m = this.methods.get(path);
    if (m === undefined) {
      stream.respond(
        {
          ":status": 200,
          "content-type": "application/grpc",
          "grpc-status": String(Status.UNIMPLEMENTED),
          "grpc-message": encodeGrpcMessage(`The server does not implement the method ${path}`),
        },
        { endStream: true },
      );
      return;
    }
    if (m.unary !== undefined) this.unary(stream, m, m.unary);
    else if (m.stream !== undefined) this.streaming(stream, m, m.stream);
  }

  private unary(stream: H2Stream, m: RegisteredMethod, handler: UnaryHandler): void {
    let request: unknown;
    let count = 0;
    const call: H2Call = new H2Call(
      stream,
      m.codec,
      this.maxReceiveBytes,
      (req) => {
        request = req;
        count++;
      },
      () => {
        if (count !== 1) {
          call.fail({
            code: Status.UNIMPLEMENTED,
            details: count === 0 ? "No message received" : "Too many messages received",
          });
          return;
        }
        let pending: Promise<unknown>;
        try {
          pending = handler(request);
        } catch (err) {
          pending = Promise.reject(err);
        }
        pending
          .then(
            (res) => {
              let body: Buffer;
              try {
                body = m.codec.responseSerialize(res);
              } catch (err) {
                call.fail(codecFailure("serializing response", err));
                return;
              }
              call.write(body);
              call.end();
            },
            (err: unknown) => call.fail(this.toStatus(err)),
          )
          // A stream that died between the checks and the write: that call ends, the server goes
          // on (never an unhandled rejection).
          .catch(() => {
            if (!stream.destroyed) stream.close(constants.NGHTTP2_INTERNAL_ERROR);
          });
      },
    );
  }

  private streaming(stream: H2Stream, m: RegisteredMethod, handler: StreamHandler): void {
    const serverStreaming = !m.codec.requestStream;
    let started = false;
    const call: H2Call = new H2Call(
      stream,
      m.codec,
      this.maxReceiveBytes,
      (req) => {
        if (!serverStreaming) {
          call.emitRequest(req);
          return;
        }
        // A server-streaming method (Snapshot) takes one request, then the handler writes.
        if (started) return;
        started = true;
        run(req);
      },
      () => {
        if (!serverStreaming) call.emitEnd();
        else if (!started) call.fail({ code: Status.UNIMPLEMENTED, details: "No message received" });
      },
    );
    const run = (req: unknown) => {
      try {
        call.request = req;
        handler(call);
      } catch (err) {
        call.fail(this.toStatus(err));
      }
    };
    if (!serverStreaming) run(undefined);
  }

  /**
   * Stops listening and lets calls in progress finish (GOAWAY, then each connection closes when its
   * streams end); connections still open after `graceMs` (a watch stream never ends by itself) are
   * closed.
   */
  async tryShutdown(graceMs = 2000): Promise<void> {
    const closed = this.listeners.map((l) => l.close());
    for (const l of this.listeners) l.closeSessions();
    const timer = setTimeout(() => this.forceShutdown(), graceMs);
    await Promise.all(closed);
    clearTimeout(timer);
  }

  /** Closes every connection at once. */
  forceShutdown(): void {
    for (const l of this.listeners) {
      void l.close();
      l.destroySessions();
    }
  }
}
