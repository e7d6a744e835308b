/**
 * The httpGet probe (pkg/probe/http) and the HTTP client it shares with lifecycle hooks, run
 * with node:http over connections from the node network's dialer (never the host's network).
 * As kube's probe transport: no keep-alive, no compression, TLS without verification,
 * redirects followed only to the same host name (RedirectChecker(false)), at most 10; a body is
 * read up to 10 KiB; client errors are worded as Go's (`Get "<url>": <cause>`).
 */
import * as http from "node:http";
import { isIP } from "node:net";
import type { Duplex } from "node:stream";
import * as tls from "node:tls";
import type { HTTPGetAction, KubeletContainer } from "../api-types.js";
import { dialErrorMessage, dialWithin } from "./dial.js";
import { resolveContainerPort } from "./port.js";
import type { Dialer, ProbeReply } from "./types.js";
import { goQuote, joinHostPort, KUBE_VERSION } from "./types.js";

/** pkg/probe/http maxRespBodyLength. */
export const MAX_RESP_BODY = 10 * 1024;
const MAX_REDIRECTS = 10;

export interface HTTPGetRequest {
  /** As kube's formatURL prints it (the path kept as the spec wrote it). */
  url: string;
  scheme: "http" | "https";
  host: string;
  port: number;
  /** The request target, at least "/". */
  path: string;
  /** Canonical header names, values in order (Go's http.Header). */
  headers: Map<string, string[]>;
}

export interface HTTPResponse {
  status: number;
  body: Buffer;
}

/** Go's client error, message `Get "<url>": <cause>`. */
export class HTTPClientError extends Error {}
/** The body could not be read: a prober error in kube, not a probe failure. */
export class BodyReadError extends Error {}

/** textproto.CanonicalMIMEHeaderKey. */
export function canonicalHeaderKey(name: string): string {
  return name.toLowerCase().replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase());
}

/**
 * httpprobe.NewRequestForHTTPGetAction: host defaults to the pod IP, the port may name a
 * container port, User-Agent `kube-<purpose>/<version>` and Accept `*\/*` unless the spec sets
 * them (an empty Accept removes the header).
 */
export function newRequestForHTTPGetAction(
  action: HTTPGetAction,
  container: KubeletContainer,
  podIP: string,
  purpose: "probe" | "lifecycle",
): HTTPGetRequest {
  const scheme = (action.scheme ?? "HTTP").toLowerCase() === "https" ? "https" : "http";
  const host = action.host !== undefined && action.host !== "" ? action.host : podIP;
  const port = resolveContainerPort(action.port, container);
  const rawPath = action.path ?? "";
  const shownPath = rawPath === "" || rawPath.startsWith("/") ? rawPath : `/${rawPath}`;
  const headers = new Map<string, string[]>();
  for (const h of action.httpHeaders ?? []) {
    const key = canonicalHeaderKey(h.name);
    headers.set(key, [...(headers.get(key) ?? []), h.value]);
  }
  if (!headers.has("User-Agent")) headers.set("User-Agent", [`kube-${purpose}/${KUBE_VERSION}`]);
  if (!headers.has("Accept")) headers.set("Accept", ["*/*"]);
  else if (headers.get("Accept")?.[0] === "") headers.delete("Accept");
  return {
    url: `${scheme}://${joinHostPort(host, port)}${shownPath}`,
    scheme,
    host,
    port,
    path: shownPath === "" ? "/" : shownPath,
    headers,
  };
}

/** DoHTTPProbe: 200-399 success (300-399 left unfollowed: a warning), else a failure. */
export async function doHTTPProbe(dial: Dialer, req: HTTPGetRequest, timeoutMs: number): Promise<ProbeReply> {
  let res: HTTPResponse;
  try {
    res = await httpGet(dial, req, timeoutMs);
  } catch (err) {
    // Client errors (refused, timeouts) are failures; a body read error is the prober's.
    if (err instanceof HTTPClientError) return { result: "failure", output: err.message };
    throw err;
  }
  const body = res.body.toString("utf8");
  if (res.status >= 200 && res.status < 400) {
    if (res.status >= 300)
      return { result: "warning", output: `Probe terminated redirects, Response body: ${body}` };
    return { result: "success", output: body };
  }
  // kube keeps the body out of this message on purpose (kubernetes issue 99425).
  return { result: "failure", output: `HTTP probe failed with statuscode: ${res.status}` };
}

interface Target {
  shown: string;
  scheme: "http" | "https";
  host: string;
  port: number;
  path: string;
}

/** One GET with redirects as the probe client follows them; throws HTTPClientError. */
export async function httpGet(dial: Dialer, req: HTTPGetRequest, timeoutMs: number): Promise<HTTPResponse> {
  const deadline = Date.now() + timeoutMs;
  const first: Target = {
    shown: req.url,
    scheme: req.scheme,
    host: req.host,
    port: req.port,
    path: req.path,
  };
  const customHost = req.headers.get("Host")?.[0];
  let target = first;
  let hostHeader = customHost ?? joinHostPort(req.host, req.port);
  for (let hops = 0; ; hops++) {
    const res = await roundTrip(dial, target, req.headers, hostHeader, deadline);
    const location = res.location;
    if (![301, 302, 303, 307, 308].includes(res.status) || location === undefined) return res;
    let next: URL;
    try {
      next = new URL(location, `${target.scheme}://${joinHostPort(target.host, target.port)}${target.path}`);
    } catch {
      throw new HTTPClientError(
        `Get ${goQuote(target.shown)}: failed to parse Location header ${goQuote(location)}`,
      );
    }
    const nextHost = next.hostname.replace(/^\[(.*)\]$/, "$1");
    // RedirectChecker(false): another host name ends the chain with this response.
    if (nextHost !== first.host) return res;
    if (hops + 1 >= MAX_REDIRECTS)
      throw new HTTPClientError(`Get ${goQuote(next.href)}: stopped after 10 redirects`);
    const scheme = next.protocol === "https:" ? "https" : "http";
    // As net/http: a custom Host survives only a relative Location.
    const relative = !/^[a-z][a-z0-9+.-]*:/i.test(location);
    target = {
      shown: next.href,
      scheme,
      host: nextHost,
      port: next.port === "" ? (scheme === "https" ? 443 : 80) : Number(next.port),
      path: `${next.pathname}${next.search}`,
    };
    hostHeader =
      customHost !== undefined && relative
        ? customHost
        : next.port === ""
          ? nextHost
          : joinHostPort(nextHost, target.port);
  }
}

interface RawResponse extends HTTPResponse {
  location?: string;
}

function roundTrip(
  dial: Dialer,
  t: Target,
  headers: ReadonlyMap<string, string[]>,
  hostHeader: string,
  deadline: number,
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    let settled = false;
    let conn: Duplex | undefined;
    let creq: http.ClientRequest | undefined;
    let readingBody = false;
    const clientError = (cause: string) => new HTTPClientError(`Get ${goQuote(t.shown)}: ${cause}`);
    const finish = (err: Error | undefined, res?: RawResponse) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      creq?.destroy();
      conn?.destroy();
      if (err !== undefined) reject(err);
      else if (res !== undefined) resolve(res);
    };
    const timer = setTimeout(
      () =>
        finish(
          readingBody
            ? new BodyReadError(
                "context deadline exceeded (Client.Timeout or context cancellation while reading body)",
              )
            : clientError("context deadline exceeded (Client.Timeout exceeded while awaiting headers)"),
        ),
      Math.max(0, deadline - Date.now()),
    );
    connect(dial, t, deadline).then(
      (c) => {
        if (settled) {
          c.destroy();
          return;
        }
        conn = c;
        send(c);
      },
      (err: unknown) =>
        finish(
          clientError(err instanceof HTTPClientError ? err.message : dialErrorMessage(err, t.host, t.port)),
        ),
    );

    function send(c: Duplex): void {
      const out: http.OutgoingHttpHeaders = { Host: hostHeader, Connection: "close" };
      for (const [k, v] of headers) if (k !== "Host") out[k] = v.length === 1 ? v[0] : v;
      creq = http.request({
        method: "GET",
        path: t.path,
        headers: out,
        createConnection: () => c,
      });
      creq.on("error", (err: NodeJS.ErrnoException) =>
        finish(clientError(err.message === "socket hang up" ? "EOF" : err.message)),
      );
      creq.on("response", (res) => {
        readingBody = true;
        const chunks: Buffer[] = [];
        let size = 0;
        const done = () =>
          finish(undefined, {
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).subarray(0, MAX_RESP_BODY),
            location: res.headers.location,
          });
        res.on("data", (chunk: Buffer) => {
          chunks.push(chunk);
          size += chunk.length;
          // Past the limit the rest is not read (utilio.ReadAtMost): a truncated body is fine.
          if (size >= MAX_RESP_BODY) done();
        });
        res.on("end", done);
        res.on("error", (err) => finish(new BodyReadError(err.message)));
        res.on("aborted", () => finish(new BodyReadError("unexpected EOF")));
      });
      creq.end();
    }
  });
}

/** A connection to the target through the dialer, wrapped in TLS (unverified) for https. */
async function connect(dial: Dialer, t: Target, deadline: number): Promise<Duplex> {
  const raw = await dialWithin(dial, t.host, t.port, deadline - Date.now());
  if (t.scheme === "http") return raw;
  return new Promise((resolve, reject) => {
    const s = tls.connect({
      socket: raw,
      // kube's probe transport sets InsecureSkipVerify: probes cannot know the pod's CA.
      rejectUnauthorized: false,
      servername: isIP(t.host) === 0 ? t.host : undefined,
      ALPNProtocols: ["http/1.1"],
    });
    s.once("secureConnect", () => resolve(s));
    s.once("error", (err: NodeJS.ErrnoException) => {
      raw.destroy();
      reject(Object.assign(new HTTPClientError(tlsMessage(err)), { code: err.code }));
    });
  });
}

/** Go words a plain HTTP answer to a TLS hello this way; lifecycle hooks retry over http then. */
export const HTTP_RESPONSE_TO_HTTPS = "http: server gave HTTP response to HTTPS client";

function tlsMessage(err: NodeJS.ErrnoException): string {
  if (err.code === "ERR_SSL_WRONG_VERSION_NUMBER" || /wrong version number/i.test(err.message))
    return HTTP_RESPONSE_TO_HTTPS;
  return err.message;
}
