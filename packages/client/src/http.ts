/**
 * The HTTP layer: one undici Agent (keep-alive, the kubeconfig's TLS material) and the request
 * helpers every verb uses. Non-watch requests time out after `timeoutMs`; watches have no body
 * timeout (a quiet watch may go minutes without a byte). With several API servers, a request that
 * cannot reach one goes to the next (endpoints.ts says when that is safe); the write guard is
 * asked before every request that is not a read.
 */
import { createSecureContext } from "node:tls";
import { Agent, type Dispatcher } from "undici";
import type { ClientConfig } from "./config.js";
import { Endpoints, mayRetryElsewhere } from "./endpoints.js";
import { ApiError } from "./errors.js";

export type Query = Record<string, string | number | boolean | undefined>;

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

const DEFAULT_TIMEOUT_MS = 30_000;
/** Connections per API server for requests other than watches. */
const DEFAULT_MAX_CONNECTIONS = 32;

export function withQuery(path: string, query: Query | undefined): string {
  if (query === undefined) return path;
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== "") params.set(k, String(v));
  const qs = params.toString();
  return qs === "" ? path : `${path}${path.includes("?") ? "&" : "?"}${qs}`;
}

function flatHeaders(h: Dispatcher.ResponseData["headers"]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(", ") : v;
  return out;
}

/** The body as JSON when it says so (or looks like it), as text otherwise; undefined when empty. */
async function readBody(res: Dispatcher.ResponseData): Promise<unknown> {
  const text = await res.body.text();
  if (text === "") return undefined;
  const type = String(res.headers["content-type"] ?? "");
  if (type.includes("json") || /^\s*[{[]/.test(text)) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
  return text;
}

/** What views of one Http share: the connection pool and the endpoints. */
interface HttpShared {
  readonly agent: Agent;
  /** Watches only: one connection each, however many. */
  readonly watchAgent: Agent;
  readonly endpoints: Endpoints;
}

const isRead = (method: string) => method === "GET" || method === "HEAD";

export class Http {
  private readonly shared: HttpShared;
  private readonly timeoutMs: number;
  private readonly baseHeaders: Record<string, string>;
  private readonly writeGuard: (() => void) | undefined;

  constructor(cfg: ClientConfig, shared?: HttpShared) {
    this.timeoutMs = cfg.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.writeGuard = cfg.writeGuard;
    this.baseHeaders = {
      accept: "application/json",
      "user-agent": "skiff-client/0.1.0",
      ...(cfg.token === undefined ? {} : { authorization: `Bearer ${cfg.token}` }),
    };
    if (shared !== undefined) {
      this.shared = shared;
      return;
    }
    // One TLS context for every connection: building it (parsing the key and certificates) per
    // connection cost more CPU than the requests themselves under load.
    const tlsOpts: Record<string, string> = {};
    if (cfg.ca !== undefined) tlsOpts.ca = cfg.ca;
    if (cfg.cert !== undefined) tlsOpts.cert = cfg.cert;
    if (cfg.key !== undefined) tlsOpts.key = cfg.key;
    const connect = { secureContext: createSecureContext(tlsOpts) };
    const common = {
      connect,
      keepAliveTimeout: 30_000,
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
    };
    // Requests share a bounded pool per server (as HTTP/2's one connection bounds client-go):
    // a burst queues instead of opening (and TLS-handshaking) a connection per request. Watches
    // hold their connection for minutes, so they get their own unbounded pool and can never
    // starve requests of connections.
    const agent = new Agent({
      ...common,
      connections: cfg.maxConnectionsPerServer ?? DEFAULT_MAX_CONNECTIONS,
    });
    const watchAgent = new Agent(common);
    this.shared = { agent, watchAgent, endpoints: new Endpoints(cfg.server, cfg.servers) };
  }

  get agent(): Agent {
    return this.shared.agent;
  }

  /** The same connections and endpoints, with no write guard (e.g. for a leader's own Lease). */
  unguarded(cfg: ClientConfig): Http {
    return new Http({ ...cfg, writeGuard: undefined }, this.shared);
  }

  /** The API server requests go to first (the one that last answered). */
  get currentServer(): string {
    const e = this.shared.endpoints.currentEndpoint;
    return `${e.origin}${e.prefix}`;
  }

  private async dispatch(
    method: string,
    path: string,
    body: unknown,
    headers: Record<string, string> | undefined,
    extra: { signal?: AbortSignal; watch?: boolean } = {},
  ): Promise<Dispatcher.ResponseData> {
    if (!isRead(method)) this.writeGuard?.();
    const h: Record<string, string> = { ...this.baseHeaders };
    for (const [k, v] of Object.entries(headers ?? {})) h[k.toLowerCase()] = v;
    let payload: string | Uint8Array | undefined;
    if (body !== undefined) {
      if (typeof body === "string" || body instanceof Uint8Array) payload = body;
      else payload = JSON.stringify(body);
      h["content-type"] ??= "application/json";
    }
    const { endpoints } = this.shared;
    const agent = extra.watch === true ? this.shared.watchAgent : this.shared.agent;
    let lastError: unknown;
    for (const { index, endpoint } of endpoints.order()) {
      try {
        const res = await agent.request({
          origin: endpoint.origin,
          path: `${endpoint.prefix}${path}`,
          method: method as Dispatcher.HttpMethod,
          headers: h,
          body: payload ?? null,
          ...(extra.signal === undefined ? {} : { signal: extra.signal }),
          headersTimeout: this.timeoutMs,
          bodyTimeout: extra.watch === true ? 0 : this.timeoutMs,
        });
        endpoints.answered(index);
        return res;
      } catch (e) {
        if (extra.signal?.aborted === true || !mayRetryElsewhere(e, method)) throw e;
        lastError = e;
      }
    }
    throw lastError;
  }

  /** Any request; the answer whatever its status. */
  async raw(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<RawResponse> {
    const res = await this.dispatch(method, path, body, headers);
    return { status: res.statusCode, headers: flatHeaders(res.headers), body: await readBody(res) };
  }

  /** A request whose non-2xx answer throws ApiError. */
  async call<T>(
    method: string,
    path: string,
    opts: { query?: Query; body?: unknown; contentType?: string; accept?: string; what?: string } = {},
  ): Promise<T> {
    const headers: Record<string, string> = {};
    if (opts.contentType !== undefined) headers["content-type"] = opts.contentType;
    if (opts.accept !== undefined) headers.accept = opts.accept;
    const res = await this.dispatch(method, withQuery(path, opts.query), opts.body, headers);
    const body = await readBody(res);
    if (res.statusCode < 200 || res.statusCode > 299)
      throw new ApiError(res.statusCode, body, opts.what ?? `${method} ${path}`);
    return body as T;
  }

  /**
   * A streaming GET: calls onLine for each newline-terminated line (split correctly across chunk
   * and UTF-8 boundaries) until the server ends the stream or the signal aborts (both resolve).
   */
  async stream(
    path: string,
    query: Query,
    signal: AbortSignal,
    onLine: (line: string) => void,
    headers?: Record<string, string>,
  ): Promise<void> {
    let res: Dispatcher.ResponseData;
    try {
      res = await this.dispatch("GET", withQuery(path, query), undefined, headers, { signal, watch: true });
    } catch (e) {
      if (signal.aborted) return;
      throw e;
    }
    if (res.statusCode < 200 || res.statusCode > 299) {
      const body = await readBody(res).catch(() => undefined);
      throw new ApiError(res.statusCode, body, `watch ${path}`);
    }
    const decoder = new TextDecoder();
    let buf = "";
    const drain = () => {
      let start = 0;
      for (let nl = buf.indexOf("\n"); nl >= 0 && !signal.aborted; nl = buf.indexOf("\n", start)) {
        const line = buf.slice(start, nl);
        start = nl + 1;
        if (line.trim() !== "") onLine(line);
      }
      buf = buf.slice(start);
    };
    try {
      for await (const chunk of res.body) {
        buf += decoder.decode(chunk as Uint8Array, { stream: true });
        drain();
        if (signal.aborted) return;
      }
      buf += `${decoder.decode()}\n`;
      drain();
    } catch (e) {
      if (signal.aborted) return;
      throw e;
    } finally {
      if (!res.body.destroyed) res.body.destroy();
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.shared.agent.close(), this.shared.watchAgent.close()]);
  }

  async destroy(): Promise<void> {
    await Promise.all([this.shared.agent.destroy(), this.shared.watchAgent.destroy()]);
  }
}
