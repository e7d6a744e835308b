/**
 * The API servers a client may talk to, and when a failed request may go to the next one. The
 * client sticks to the endpoint that last answered; a request that could not reach it moves on.
 * A request is retried only when doing it twice cannot do harm: when it never left (the
 * connection was not established: refused, unreachable, connect timeout, TLS handshake cut), or
 * when it is a read (GET, HEAD) whose connection broke before an answer came. A write whose
 * connection broke after it was sent may have been applied: its error is surfaced, as client-go
 * retries a reset connection only for GETs.
 */
import diagnostics from "node:diagnostics_channel";

export interface Endpoint {
  /** scheme://host:port */
  readonly origin: string;
  /** The URL's path, for a server behind a path prefix ("" usually). */
  readonly prefix: string;
}

/**
 * Errors undici reported from connecting (its `undici:client:connectError` channel): the
 * request waiting for that connection was never written. The same error object rejects it.
 */
const connectErrors = new WeakSet<object>();
diagnostics.subscribe("undici:client:connectError", (message) => {
  const err = (message as { error?: unknown }).error;
  if (typeof err === "object" && err !== null) connectErrors.add(err);
});

/** Codes that only connecting produces. */
const connectCodes = new Set([
  "ECONNREFUSED",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EADDRNOTAVAIL",
  "UND_ERR_CONNECT_TIMEOUT",
]);
/** A connection that broke: the request may or may not have reached the server. */
const brokenCodes = new Set(["ECONNRESET", "EPIPE", "ECONNABORTED", "UND_ERR_SOCKET"]);

const codeOf = (e: unknown): string | undefined => {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
};

/** Whether a request that failed with `err` may be sent again (to another endpoint). */
export function mayRetryElsewhere(err: unknown, method: string): boolean {
  if (typeof err !== "object" || err === null) return false;
  const code = codeOf(err);
  if (connectErrors.has(err) || (code !== undefined && connectCodes.has(code))) return true;
  const read = method === "GET" || method === "HEAD";
  return read && code !== undefined && brokenCodes.has(code);
}

export class Endpoints {
  readonly list: readonly Endpoint[];
  /** Index of the endpoint that last answered (the first one until a failover). */
  private current = 0;

  constructor(server: string, servers: readonly string[] = []) {
    const urls = [server, ...servers.filter((s) => s !== server)];
    this.list = urls.map((u) => {
      const url = new URL(u);
      return { origin: url.origin, prefix: url.pathname.replace(/\/+$/, "") };
    });
  }

  /** The endpoints to try, in order: the current one first, then the others round the ring. */
  order(): { index: number; endpoint: Endpoint }[] {
    const n = this.list.length;
    return Array.from({ length: n }, (_, i) => {
      const index = (this.current + i) % n;
      return { index, endpoint: this.list[index] as Endpoint };
    });
  }

  /** `index` answered: later requests start there. */
  answered(index: number): void {
    this.current = index;
  }

  get currentEndpoint(): Endpoint {
    return this.list[this.current] as Endpoint;
  }
}
