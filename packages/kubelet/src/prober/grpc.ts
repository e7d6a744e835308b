/**
 * The grpc probe (pkg/probe/grpc): the gRPC health checking protocol
 * (grpc.health.v1.Health/Check) over HTTP/2 cleartext on a connection from the node network's
 * dialer. The two messages are one field each, so they are encoded by hand:
 * HealthCheckRequest{string service = 1}, HealthCheckResponse{ServingStatus status = 1}.
 * Messages are kube's (`service unhealthy (responded with "NOT_SERVING")`, ...).
 */
import * as http2 from "node:http2";
import type { Duplex } from "node:stream";
import { dialWithin } from "./dial.js";
import type { Dialer, ProbeReply } from "./types.js";
import { goDuration, goQuote, joinHostPort, KUBE_VERSION } from "./types.js";

/** grpc.health.v1.HealthCheckResponse.ServingStatus names. */
const SERVING_STATUS = ["UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"];
const SERVING = 1;

/** google.golang.org/grpc/codes names, as `rpc error: code = <Name>` prints them. */
const CODE_NAMES = [
  "OK",
  "Canceled",
  "Unknown",
  "InvalidArgument",
  "DeadlineExceeded",
  "NotFound",
  "AlreadyExists",
  "PermissionDenied",
  "ResourceExhausted",
  "FailedPrecondition",
  "Aborted",
  "OutOfRange",
  "Unimplemented",
  "Internal",
  "Unavailable",
  "DataLoss",
  "Unauthenticated",
];
const DEADLINE_EXCEEDED = 4;
const UNIMPLEMENTED = 12;

export function encodeHealthCheckRequest(service: string): Buffer {
  const s = Buffer.from(service, "utf8");
  const msg = s.length === 0 ? Buffer.alloc(0) : Buffer.concat([Buffer.from([0x0a]), varint(s.length), s]);
  const frame = Buffer.alloc(5);
  frame.writeUInt32BE(msg.length, 1);
  return Buffer.concat([frame, msg]);
}

/** The status of a length-prefixed HealthCheckResponse; unknown fields are skipped. */
export function decodeHealthCheckResponse(frame: Buffer): number {
  if (frame.length < 5) throw new Error("grpc: short message frame");
  if (frame[0] !== 0) throw new Error("grpc: compressed response not supported");
  const msg = frame.subarray(5, 5 + frame.readUInt32BE(1));
  let status = 0;
  for (let i = 0; i < msg.length; ) {
    const [key, afterKey] = readVarint(msg, i);
    const field = key >>> 3;
    const wire = key & 7;
    i = afterKey;
    if (wire === 0) {
      const [v, next] = readVarint(msg, i);
      if (field === 1) status = v;
      i = next;
    } else if (wire === 2) {
      const [len, next] = readVarint(msg, i);
      i = next + len;
    } else if (wire === 1) i += 8;
    else if (wire === 5) i += 4;
    else throw new Error(`grpc: unsupported wire type ${wire}`);
  }
  return status;
}

function varint(n: number): Buffer {
  const bytes: number[] = [];
  let v = n;
  while (v >= 0x80) {
    bytes.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  bytes.push(v);
  return Buffer.from(bytes);
}

function readVarint(b: Buffer, start: number): [number, number] {
  let v = 0;
  let mul = 1;
  for (let i = start; i < b.length && i < start + 10; i++) {
    const byte = b[i] as number;
    v += (byte & 0x7f) * mul;
    mul *= 128;
    if ((byte & 0x80) === 0) return [v, i + 1];
  }
  throw new Error("grpc: bad varint");
}

/** grpc-go's mapping of a non-200 HTTP status to a code (http_util.go HTTPStatusConvTab). */
function codeForHTTPStatus(status: number): number {
  const table: Record<number, number> = {
    400: 13,
    401: 16,
    403: 7,
    404: 12,
    429: 14,
    502: 14,
    503: 14,
    504: 14,
  };
  return table[status] ?? 2;
}

/**
 * grpcProber.Probe. A dial that fails is retried until the deadline, as grpc.DialContext with
 * WithBlock waits for a ready connection, and then reported as kube does.
 */
export async function doGRPCProbe(
  dial: Dialer,
  host: string,
  service: string,
  port: number,
  timeoutMs: number,
): Promise<ProbeReply> {
  const addr = joinHostPort(host, port);
  const within = goDuration(Math.round(timeoutMs / 1000));
  const deadline = Date.now() + timeoutMs;
  const conn = await dialUntil(dial, host, port, deadline);
  if (conn === undefined)
    return {
      result: "failure",
      output: `timeout: failed to connect service ${goQuote(addr)} within ${within}: context deadline exceeded`,
    };
  let rpc: { code: number; message: string; status?: number };
  try {
    rpc = await check(conn, addr, service, deadline);
  } catch (err) {
    return { result: "failure", output: `error: health rpc probe failed: ${(err as Error).message}` };
  }
  if (rpc.code === UNIMPLEMENTED)
    return {
      result: "failure",
      output: `error: this server does not implement the grpc health protocol (grpc.health.v1.Health): ${rpc.message}`,
    };
  if (rpc.code === DEADLINE_EXCEEDED)
    return { result: "failure", output: `timeout: health rpc did not complete within ${within}` };
  if (rpc.code !== 0)
    return {
      result: "failure",
      output: `error: health rpc probe failed: rpc error: code = ${CODE_NAMES[rpc.code] ?? `Code(${rpc.code})`} desc = ${rpc.message}`,
    };
  if (rpc.status !== SERVING) {
    const name = SERVING_STATUS[rpc.status ?? 0] ?? String(rpc.status);
    return { result: "failure", output: `service unhealthy (responded with ${goQuote(name)})` };
  }
  return { result: "success", output: "service is healthy" };
}

async function dialUntil(
  dial: Dialer,
  host: string,
  port: number,
  deadline: number,
): Promise<Duplex | undefined> {
  // grpc-go's connection backoff starts at 1 s and grows by 1.6.
  let backoff = 1000;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) return undefined;
    try {
      return await dialWithin(dial, host, port, left);
    } catch {
      const wait = Math.min(backoff, deadline - Date.now());
      if (wait <= 0) return undefined;
      await new Promise((r) => setTimeout(r, wait));
      backoff *= 1.6;
    }
  }
}

/** One unary Check call; resolves with the grpc-status and, when OK, the serving status. */
function check(
  conn: Duplex,
  authority: string,
  service: string,
  deadline: number,
): Promise<{ code: number; message: string; status?: number }> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const session = http2.connect(`http://${authority}`, { createConnection: () => conn });
    const finish = (err: Error | undefined, value?: { code: number; message: string; status?: number }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      session.destroy();
      conn.destroy();
      if (err !== undefined) reject(err);
      else if (value !== undefined) resolve(value);
    };
    const timer = setTimeout(
      () => finish(undefined, { code: DEADLINE_EXCEEDED, message: "context deadline exceeded" }),
      Math.max(0, deadline - Date.now()),
    );
    session.on("error", (err) => finish(new Error(`rpc error: code = Unavailable desc = ${err.message}`)));
    const left = Math.max(1, deadline - Date.now());
    const stream = session.request({
      ":method": "POST",
      ":path": "/grpc.health.v1.Health/Check",
      "content-type": "application/grpc",
      te: "trailers",
      "grpc-timeout": `${left}m`,
      "user-agent": `kube-probe/${KUBE_VERSION}`,
    });
    const chunks: Buffer[] = [];
    let httpStatus = 0;
    let code: number | undefined;
    let message = "";
    const takeStatus = (h: http2.IncomingHttpHeaders) => {
      if (h["grpc-status"] !== undefined) {
        code = Number(h["grpc-status"]);
        message = decodeURIComponent(String(h["grpc-message"] ?? ""));
      }
    };
    stream.on("response", (h) => {
      httpStatus = Number(h[":status"]);
      takeStatus(h);
    });
    stream.on("trailers", takeStatus);
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("error", (err) => finish(new Error(`rpc error: code = Unavailable desc = ${err.message}`)));
    stream.on("end", () => {
      if (httpStatus !== 200) {
        finish(undefined, {
          code: codeForHTTPStatus(httpStatus),
          message: `unexpected HTTP status code received from server: ${httpStatus}`,
        });
        return;
      }
      if (code === undefined) {
        finish(undefined, { code: 13, message: "server closed the stream without sending trailers" });
        return;
      }
      if (code !== 0) {
        finish(undefined, { code, message });
        return;
      }
      try {
        finish(undefined, { code, message, status: decodeHealthCheckResponse(Buffer.concat(chunks)) });
      } catch (err) {
        finish(undefined, { code: 13, message: (err as Error).message });
      }
    });
    stream.end(encodeHealthCheckRequest(service));
  });
}
