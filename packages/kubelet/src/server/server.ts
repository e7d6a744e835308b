/**
 * The kubelet's HTTPS API (kube's pkg/kubelet/server/server.go, port 10250): what the API server
 * proxies `kubectl logs`, `exec`, `attach` and `port-forward` to, and GET /pods and /healthz.
 * Clients authenticate with a certificate signed by the client CA (auth.ts). Streaming calls
 * (exec, attach, portForward) are WebSocket upgrades in kube's channel protocols (channels.ts).
 * portForward also speaks SPDY (portforward-spdy.ts), as kubectl port-forward does: plain
 * (POST with `Upgrade: SPDY/3.1`) or tunneled in a WebSocket (`SPDY/3.1+portforward.k8s.io`,
 * which upstream's API server translates to plain SPDY before the kubelet; Skiff's API server
 * passes upgrades through untouched, so its kubelet takes both). SPDY exec and attach are not
 * served. Every error is a Status JSON.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import type { Pod } from "@skiff/api";
import { createWebSocketStream, type WebSocket, WebSocketServer } from "ws";
import { authenticate, authorize, subresourceOf } from "./auth.js";
import { chooseProtocol, PORT_FORWARD_PROTOCOLS, REMOTE_COMMAND_PROTOCOLS } from "./channels.js";
import type { KubeletServerDeps } from "./deps.js";
import { containerLogs } from "./logs.js";
import { checkContainer, findPod, podPath } from "./pods.js";
import { parsePorts, servePortForward } from "./portforward.js";
import {
  PORT_FORWARD_PROTOCOL_V1,
  SPDY_TUNNELING_PORT_FORWARD,
  servePortForwardSpdy,
} from "./portforward-spdy.js";
import { finish, parseStreamOptions, serveAttach, serveExec } from "./remotecommand.js";
import { badRequest, failureStatus, KubeletError, notFound, writeError } from "./status.js";

export interface KubeletServerOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 10250 (kube's --port); 0 picks a free one (see `port` once listening). */
  port?: number;
  /** The serving certificate and key (PEM); the integrator signs it with the cluster CA. */
  tls: { cert: string; key: string };
  /** PEM of the CA whose client certificates are accepted (kube's --client-ca-file). */
  clientCA: string;
  deps: KubeletServerDeps;
}

const STREAMING = new Set(["exec", "attach", "portForward"]);

/** The WebSocket subprotocols of portForward: kube's channel ones, then SPDY tunneled in WebSocket. */
const PORT_FORWARD_WS_PROTOCOLS = [...PORT_FORWARD_PROTOCOLS, SPDY_TUNNELING_PORT_FORWARD];

/**
 * ws accepts only RFC 7230 tokens as subprotocols, and `SPDY/3.1+portforward.k8s.io` has a
 * '/' (gorilla/websocket, kubectl's side, does not check): the request names this stand-in
 * instead when it reaches ws, and handleProtocols answers with the real name.
 */
const TUNNEL_ALIAS = "skiff-spdy-portforward-tunnel";

const SPDY_REFUSED =
  "Skiff does not speak SPDY for exec and attach: they are served over WebSocket (v5.channel.k8s.io, v4.channel.k8s.io)";

export class KubeletServer {
  private readonly server: Server;
  private readonly wss = new WebSocketServer({
    noServer: true,
    // The client's first protocol we speak (kube's wsstream handshake); validated before upgrade.
    handleProtocols: (offered, req) =>
      offered.has(TUNNEL_ALIAS)
        ? SPDY_TUNNELING_PORT_FORWARD
        : chooseProtocol(
            offered,
            routeOf(req) === "portForward" ? PORT_FORWARD_WS_PROTOCOLS : REMOTE_COMMAND_PROTOCOLS,
          ),
  });
  private readonly sockets = new Set<Duplex>();

  constructor(private readonly o: KubeletServerOptions) {
    this.server = createServer({
      cert: o.tls.cert,
      key: o.tls.key,
      ca: o.clientCA,
      requestCert: true,
      rejectUnauthorized: false,
    });
    this.server.on("request", (req, res) => {
      this.serve(req, res).catch((e: unknown) => writeError(res, e));
    });
    this.server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      this.sockets.add(socket);
      socket.once("close", () => this.sockets.delete(socket));
      socket.on("error", () => undefined);
      this.upgrade(req, socket, head).catch((e: unknown) => rejectUpgrade(socket, e));
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.o.port ?? 10250, this.o.host ?? "127.0.0.1", () => {
        this.server.off("error", reject);
        resolve();
      });
    });
  }

  /** The port it listens on (the chosen one when options.port was 0). */
  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Stops listening and ends every open connection and stream. */
  async close(): Promise<void> {
    for (const ws of this.wss.clients) ws.terminate();
    for (const s of this.sockets) s.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "https://kubelet");
    // /healthz answers without credentials, as the kubelet's healthz port (10248) does.
    if (url.pathname === "/healthz") {
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("ok");
      return;
    }
    const user = authenticate(req);
    const verb = req.method === "GET" || req.method === "HEAD" ? "get" : "create";
    authorize(user, verb, subresourceOf(url.pathname));
    const [route, ...segments] = url.pathname
      .split("/")
      .filter((s) => s !== "")
      .map(decodeURIComponent);
    if (route === "pods" && segments.length === 0) {
      if (req.method !== "GET") throw new KubeletError(405, "MethodNotAllowed", "method not allowed");
      const body = JSON.stringify({
        kind: "PodList",
        apiVersion: "v1",
        metadata: {},
        items: this.o.deps.listPods(),
      });
      res.writeHead(200, { "content-type": "application/json" });
      res.end(body);
      return;
    }
    if (route === "containerLogs") {
      if (req.method !== "GET") throw new KubeletError(405, "MethodNotAllowed", "method not allowed");
      return containerLogs(this.o.deps, req, res, segments, url.searchParams);
    }
    // kube's kubelet answers a streaming call without an upgrade with 400 (httpstream handshake).
    if (route !== undefined && STREAMING.has(route))
      throw badRequest(
        "Upgrade request required: Skiff's kubelet serves exec, attach and portForward over WebSocket, and portForward over SPDY",
      );
    throw notFound("the server could not find the requested resource");
  }

  /** Checks the call fully before switching protocols, so that errors are plain HTTP answers. */
  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(req.url ?? "/", "https://kubelet");
    const user = authenticate(req);
    authorize(user, "create", subresourceOf(url.pathname));
    const route = routeOf(req);
    const segments = url.pathname
      .split("/")
      .filter((s) => s !== "")
      .slice(1)
      .map(decodeURIComponent);
    const deps = this.o.deps;
    const q = url.searchParams;
    const websocket = (req.headers.upgrade ?? "").toLowerCase() === "websocket";
    const offered = (req.headers["sec-websocket-protocol"] ?? "").split(",").map((s) => s.trim());
    let start: (ws: WebSocket) => Promise<void>;
    if (route === "exec" || route === "attach") {
      const p = podPath(segments, true);
      const opts = parseStreamOptions(q, route === "exec");
      const pod = findPod(deps, p.namespace, p.name, p.uid);
      checkContainer(pod, p.container);
      if (!websocket) throw badRequest(SPDY_REFUSED);
      const id = deps.containerID(pod.metadata.uid as string, p.container, { previous: false });
      // Past the upgrade, so that kubectl prints it (a refused upgrade sends it to SPDY instead).
      if (id === undefined)
        start = (ws) =>
          finish(ws, failureStatus(`container "${p.container}" in pod "${p.name}" is not running`));
      else if (route === "exec") start = (ws) => serveExec(deps, ws, id, opts);
      else {
        const files = deps.logFiles(pod, p.container, false) ?? [];
        start = (ws) => serveAttach(deps, ws, files, id, opts);
      }
    } else if (route === "portForward") {
      const p = podPath(segments, false);
      if (!websocket) {
        const pod = findPod(deps, p.namespace, p.name, p.uid);
        return this.upgradeSpdy(req, socket, head, pod);
      }
      const tunneled =
        chooseProtocol(new Set(offered), PORT_FORWARD_WS_PROTOCOLS) === SPDY_TUNNELING_PORT_FORWARD;
      // The tunneled protocol names its ports in stream headers, not in the query.
      const ports = tunneled ? [] : parsePorts(q);
      const pod = findPod(deps, p.namespace, p.name, p.uid);
      start = tunneled
        ? (ws) => servePortForwardSpdy(deps, createWebSocketStream(ws), pod, { transport: "websocket" })
        : (ws) => servePortForward(deps, ws, pod, ports);
      if (tunneled) req.headers["sec-websocket-protocol"] = TUNNEL_ALIAS;
    } else throw notFound("the server could not find the requested resource");
    const supported = route === "portForward" ? PORT_FORWARD_WS_PROTOCOLS : REMOTE_COMMAND_PROTOCOLS;
    if (chooseProtocol(new Set(offered), supported) === false)
      throw badRequest(
        `requested protocol(s) are not supported: [${offered.join(" ")}]; supports [${supported.join(" ")}]`,
      );
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      start(ws).catch((e: unknown) => {
        deps.logger.warn({ err: String(e), path: url.pathname }, "streaming call failed");
        ws.terminate();
      });
    });
  }

  /** portForward over plain SPDY: the 101 answer, then the socket is the SPDY connection. */
  private upgradeSpdy(req: IncomingMessage, socket: Duplex, head: Buffer, pod: Pod): void {
    const protocol = spdyHandshake(req);
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: ${protocol}\r\n\r\n`,
    );
    if (head.length > 0) socket.unshift(head);
    servePortForwardSpdy(this.o.deps, socket, pod, { transport: "upgrade" }).catch((e: unknown) => {
      this.o.deps.logger.warn({ err: String(e), path: req.url }, "port-forward failed");
      socket.destroy();
    });
  }
}

/**
 * kube's httpstream.Handshake then spdy.ResponseUpgrader: the client must offer
 * portforward.k8s.io in X-Stream-Protocol-Version (else 403 naming both sides) and ask for
 * `Upgrade: SPDY/3.1` (else 400); the answer is 101 with the protocol chosen, and the socket
 * then carries SPDY frames.
 */
function spdyHandshake(req: IncomingMessage): string {
  const raw = req.headers["x-stream-protocol-version"];
  const clientProtocols = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw])
    .flatMap((v) => v.split(","))
    .map((v) => v.trim())
    .filter((v) => v !== "");
  if (clientProtocols.length === 0)
    throw badRequest("unable to upgrade: X-Stream-Protocol-Version is required");
  if (!clientProtocols.includes(PORT_FORWARD_PROTOCOL_V1))
    throw new KubeletError(
      403,
      "Forbidden",
      `unable to upgrade: unable to negotiate protocol: client supports [${clientProtocols.join(" ")}], server accepts [${PORT_FORWARD_PROTOCOL_V1}]`,
    );
  if (!(req.headers.upgrade ?? "").toLowerCase().includes("spdy/3.1"))
    throw badRequest("unable to upgrade: missing upgrade headers in request");
  return PORT_FORWARD_PROTOCOL_V1;
}

function routeOf(req: IncomingMessage): string {
  const path = (req.url ?? "/").split("?")[0] as string;
  return path.split("/")[1] ?? "";
}

/** An error before the upgrade: a plain HTTP answer with a Status body on the raw socket. */
function rejectUpgrade(socket: Duplex, e: unknown): void {
  const err =
    e instanceof KubeletError
      ? e
      : new KubeletError(500, "InternalError", e instanceof Error ? e.message : String(e));
  const body = JSON.stringify(err.toStatus());
  socket.end(
    `HTTP/1.1 ${err.code} ${statusText(err.code)}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

function statusText(code: number): string {
  return (
    {
      400: "Bad Request",
      401: "Unauthorized",
      403: "Forbidden",
      404: "Not Found",
      405: "Method Not Allowed",
    }[code] ?? "Internal Server Error"
  );
}
