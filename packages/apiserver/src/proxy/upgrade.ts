/**
 * Upgraded requests (kube's UpgradeAwareHandler in k8s.io/apiserver/pkg/util/proxy): kubectl's
 * exec, attach and port-forward, and nodes/proxy with an Upgrade header. Node's server hands
 * these to its 'upgrade' event, outside fastify: the request goes through the same filters as
 * every other (request info, shutdown, authentication, authorization), its location is checked
 * (location.ts), then a TLS connection to the kubelet gets the request line and headers with the
 * kubelet's path, and the two sockets are piped both ways: the kubelet's 101 and the WebSocket
 * frames pass through untouched.
 *
 * SPDY upgrades (kubectl's fallback after a failed WebSocket upgrade: a POST with
 * `Upgrade: SPDY/3.1`) pass through the same way, as does port-forward's SPDY tunneled in a
 * WebSocket (`SPDY/3.1+portforward.k8s.io`): the kubelet answers them (it serves SPDY
 * port-forward and refuses SPDY exec and attach with a Status that says so). Upstream's API
 * server translates the tunnel to plain SPDY instead; passing bytes keeps this proxy one pipe.
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { connect } from "node:tls";
import type { Filter, FilterRequest } from "../filters/filter.js";
import { runFilters } from "../filters/filter.js";
import { badRequest, internalError, StatusError } from "../status.js";
import { clientConfig, type KubeletProxyConfig } from "./http.js";
import { kubeletTls } from "./kubelet.js";
import { isKubeletSubresource, type Location, nodeProxyLocation, podLocation } from "./location.js";

/** Headers not passed to the kubelet: the caller's credentials and the Host of the API server. */
const DROPPED = new Set(["host", "authorization"]);

export function handleUpgrade(
  c: KubeletProxyConfig,
  filters: readonly Filter[],
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
): void {
  socket.on("error", () => undefined);
  serve(c, filters, req, socket, head).catch((e: unknown) => {
    const err = e instanceof StatusError ? e : internalError(e instanceof Error ? e.message : String(e));
    writeStatus(socket, err);
  });
}

async function serve(
  c: KubeletProxyConfig,
  filters: readonly Filter[],
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
): Promise<void> {
  const url = req.url ?? "/";
  const query = new URL(url, "https://apiserver").searchParams;
  const r: FilterRequest = {
    method: req.method ?? "GET",
    url,
    query: Object.fromEntries(query),
    raw: req,
    onDone: (f) => socket.once("close", f),
  };
  runFilters(filters, r);
  const path = r.info?.target;
  if (path === undefined || !isKubeletSubresource(path) || path.subresource === "log")
    throw badRequest(
      "an upgrade is served only for pods/exec, pods/attach, pods/portforward and nodes/proxy",
    );
  let loc: Location | undefined;
  if (path.kind.kind === "Node") loc = await nodeProxyLocation(c.scope, path, url);
  else loc = await podLocation(c.scope, path, query);
  if (loc === undefined) throw badRequest("no location");
  const kubeletClient = clientConfig(c);
  const upstream = await new Promise<Duplex>((resolve, reject) => {
    const s = connect(kubeletTls(kubeletClient, loc.kubelet));
    s.once("secureConnect", () => resolve(s));
    s.once("error", (e) => reject(internalError(`error dialing backend: ${e.message}`)));
  });
  upstream.on("error", () => socket.destroy());
  socket.on("close", () => upstream.destroy());
  upstream.on("close", () => socket.destroy());
  const lines = [`${req.method} ${loc.path} HTTP/1.1`, `Host: ${loc.kubelet.host}:${loc.kubelet.port}`];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i] as string;
    if (!DROPPED.has(name.toLowerCase())) lines.push(`${name}: ${req.rawHeaders[i + 1]}`);
  }
  upstream.write(`${lines.join("\r\n")}\r\n\r\n`);
  if (head.length > 0) upstream.write(head);
  socket.pipe(upstream);
  upstream.pipe(socket);
}

const TEXT: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  422: "Unprocessable Entity",
  429: "Too Many Requests",
  503: "Service Unavailable",
};

/** An error answer on a socket no HTTP response object owns. */
function writeStatus(socket: Duplex, e: StatusError): void {
  const body = JSON.stringify(e.toStatus());
  socket.end(
    `HTTP/1.1 ${e.code} ${TEXT[e.code] ?? "Internal Server Error"}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
