/**
 * Dial errors worded as Go's net package words them (`dial tcp 10.244.0.5:8080: connect:
 * connection refused`), since kube's probe messages embed them. An error the dialer already
 * words that way is kept as it is.
 */
import type { Duplex } from "node:stream";
import { type Dialer, joinHostPort } from "./types.js";

/** errno codes -> the syscall error text Go prints. */
const ERRNO_TEXT: Record<string, string> = {
  ECONNREFUSED: "connect: connection refused",
  EHOSTUNREACH: "connect: no route to host",
  ENETUNREACH: "connect: network is unreachable",
  ECONNRESET: "read: connection reset by peer",
  ETIMEDOUT: "i/o timeout",
  ENOTFOUND: "no such host",
  EAI_AGAIN: "no such host",
};

export function dialErrorMessage(err: unknown, host: string, port: number): string {
  const e = err as { code?: string; message?: string } | undefined;
  const message = e?.message ?? String(err);
  if (message.startsWith("dial tcp ")) return message;
  const prefix = `dial tcp ${joinHostPort(host, port)}: `;
  const known = e?.code === undefined ? undefined : ERRNO_TEXT[e.code];
  if (known !== undefined) return prefix + known;
  if (/timed? ?out/i.test(message)) return `${prefix}i/o timeout`;
  return prefix + message;
}

/**
 * dial with a deadline of its own, in case the dialer does not keep `timeoutMs`: past it the
 * promise rejects with ETIMEDOUT and a connection that still arrives is closed.
 */
export function dialWithin(dial: Dialer, host: string, port: number, timeoutMs: number): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    let done = false;
    const timer = setTimeout(
      () => {
        done = true;
        reject(Object.assign(new Error("i/o timeout"), { code: "ETIMEDOUT" }));
      },
      Math.max(0, timeoutMs),
    );
    dial(host, port, Math.max(1, timeoutMs)).then(
      (conn) => {
        if (done) conn.destroy();
        else {
          done = true;
          clearTimeout(timer);
          resolve(conn);
        }
      },
      (err: unknown) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}
