/**
 * Port forwarding over SPDY (kube's kubelet portforward/httpstream.go, protocol
 * `portforward.k8s.io`), what kubectl port-forward speaks, plain or tunneled in a WebSocket.
 * One connection carries every local connection kubectl accepts: for each it opens an error
 * stream and then a data stream, both with headers `streamType` (error|data), `port` and
 * `requestID` (lower case on the wire). Streams are checked as they come (a bad port or type
 * is reset), paired by request id, and once a pair is complete the kubelet dials the pod's port
 * and copies bytes between it and the data stream. A failure is written as text on the error
 * stream ("error forwarding port 8080 to pod ..."), which kubectl prints; then both streams close.
 */
import type { Duplex } from "node:stream";
import type { Pod } from "@skiff/api";
import type { KubeletServerDeps } from "./deps.js";
import { forwardError } from "./portforward.js";
import { SpdyConnection, type SpdyStream } from "./spdy/connection.js";

/** kube's portforward.ProtocolV1Name, offered in X-Stream-Protocol-Version. */
export const PORT_FORWARD_PROTOCOL_V1 = "portforward.k8s.io";
/** The WebSocket subprotocol of SPDY tunneled in WebSocket (apimachinery's WebsocketsSPDYTunnelingPortForwardV1). */
export const SPDY_TUNNELING_PORT_FORWARD = `SPDY/3.1+${PORT_FORWARD_PROTOCOL_V1}`;

/** kube's DefaultStreamCreationTimeout: how long the first stream of a pair waits for the other. */
const STREAM_CREATION_TIMEOUT_MS = 30_000;
/** Once one direction of a forwarded connection ends, how long the other may go on (containerd's PortForward: 1 s). */
const CLOSE_GRACE_MS = 1_000;

interface StreamPair {
  requestID: string;
  data?: SpdyStream;
  error?: SpdyStream;
  timer?: NodeJS.Timeout;
}

export interface SpdyPortForwardOptions {
  /** How the SPDY bytes travel, for the log: "upgrade" (plain) or "websocket" (tunneled). */
  transport?: "upgrade" | "websocket";
  streamCreationTimeoutMs?: number;
}

/** Serves port forwarding on `transport` (already upgraded); resolves when the connection ends. */
export function servePortForwardSpdy(
  deps: KubeletServerDeps,
  transport: Duplex,
  pod: Pod,
  opts: SpdyPortForwardOptions = {},
): Promise<void> {
  const conn = new SpdyConnection(transport);
  const pairs = new Map<string, StreamPair>();
  const forwarded = new Set<Duplex>();
  const timeout = opts.streamCreationTimeoutMs ?? STREAM_CREATION_TIMEOUT_MS;
  deps.logger.debug(
    { namespace: pod.metadata.namespace, pod: pod.metadata.name, transport: opts.transport ?? "upgrade" },
    "port-forward over SPDY",
  );

  conn.on("stream", (s: SpdyStream) => {
    // httpStreamReceived: a valid port and stream type, else the stream is reset.
    const portText = s.header("port") ?? "";
    const port = Number(portText);
    const type = s.header("streamType") ?? "";
    if (!/^\d+$/.test(portText) || port < 1 || port > 65535 || (type !== "data" && type !== "error")) {
      deps.logger.debug({ port: portText, streamType: type }, "port-forward stream refused");
      s.reset();
      return;
    }
    s.reply();
    s.on("error", () => undefined);
    // Nothing comes in on an error stream (kubectl closes its half at once): drain it.
    if (type === "error") s.resume();
    const requestID = requestIDOf(s, type);
    let p = pairs.get(requestID);
    if (p === undefined) {
      const created: StreamPair = { requestID };
      p = created;
      pairs.set(requestID, created);
      created.timer = setTimeout(() => {
        pairs.delete(requestID);
        writeError(created, `(request=${requestID}) timed out waiting for streams`);
        created.error?.end();
        created.data?.end();
      }, timeout);
      created.timer.unref();
    }
    if (p[type] !== undefined) {
      writeError(p, `error processing stream for request ${requestID}: ${type} stream already assigned`);
      s.reset();
      return;
    }
    p[type] = s;
    if (p.data !== undefined && p.error !== undefined) {
      clearTimeout(p.timer);
      pairs.delete(requestID);
      void forward(deps, pod, port, p.data, p.error, forwarded);
    }
  });

  return new Promise((resolve) => {
    conn.once("close", () => {
      for (const p of pairs.values()) clearTimeout(p.timer);
      for (const c of forwarded) c.destroy();
      resolve();
    });
  });
}

/**
 * The pair a stream belongs to: its requestID header; without one (clients older than kube
 * 1.5) the error stream's id, which the data stream that follows it has plus 2.
 */
function requestIDOf(s: SpdyStream, type: string): string {
  const id = s.header("requestID");
  if (id !== undefined && id !== "") return id;
  return String(type === "error" ? s.id : s.id - 2);
}

function writeError(p: StreamPair, message: string): void {
  if (p.error !== undefined && !p.error.writableEnded && !p.error.destroyed) p.error.write(message);
}

async function forward(
  deps: KubeletServerDeps,
  pod: Pod,
  port: number,
  data: SpdyStream,
  error: SpdyStream,
  forwarded: Set<Duplex>,
): Promise<void> {
  const done = () => {
    if (!data.writableEnded && !data.destroyed) data.end();
    if (!error.writableEnded && !error.destroyed) error.end();
  };
  let target: Duplex;
  try {
    target = await deps.dial(pod, port);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    deps.logger.info({ port, pod: pod.metadata.name, err: why }, "port-forward dial failed");
    error.write(forwardError(pod, port, why));
    done();
    return;
  }
  if (data.destroyed) {
    target.destroy();
    return;
  }
  forwarded.add(target);
  let ended = 0;
  let grace: NodeJS.Timeout | undefined;
  const finish = () => {
    clearTimeout(grace);
    forwarded.delete(target);
    target.destroy();
    done();
  };
  // containerd's PortForward: copy both ways; when one direction ends, give the other a moment.
  const directionEnded = () => {
    ended++;
    if (ended === 2) return finish();
    grace = setTimeout(finish, CLOSE_GRACE_MS);
    grace.unref();
  };
  target.on("error", (e: Error) => {
    if (!error.writableEnded && !error.destroyed) error.write(forwardError(pod, port, e.message));
    finish();
  });
  target.once("end", () => {
    if (!data.writableEnded && !data.destroyed) data.end();
    directionEnded();
  });
  data.once("end", () => {
    target.end();
    directionEnded();
  });
  data.once("close", () => {
    // Reset by the client, or the connection went away.
    if (data.abortReason !== undefined) finish();
  });
  target.pipe(data, { end: false });
  data.pipe(target, { end: false });
}
