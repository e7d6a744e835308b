/**
 * Plain (not upgraded) requests to a kubelet: pods/log (kube's LocationStreamer with its
 * response checker: a non-2xx kubelet answer becomes an error Status with the kubelet's code and
 * message) and nodes/proxy (kube's UpgradeAwareHandler without an upgrade: the kubelet's answer
 * as it is). exec, attach and portforward need an upgrade (upgrade.ts).
 */
import type { IncomingMessage } from "node:http";
import { request } from "node:https";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { RequestScope } from "../handlers/scope.js";
import { badRequest, internalError, methodNotAllowed, StatusError, type StatusReason } from "../status.js";
import { type KubeletClientConfig, kubeletTls } from "./kubelet.js";
import { type Location, nodeProxyLocation, podLocation } from "./location.js";

export interface KubeletProxyConfig {
  scope: RequestScope;
  /** Unset: the API server has no kubelet client certificate and cannot reach kubelets. */
  kubeletClient: KubeletClientConfig | undefined;
}

export function clientConfig(c: KubeletProxyConfig): KubeletClientConfig {
  if (c.kubeletClient === undefined)
    throw new StatusError(
      503,
      "ServiceUnavailable",
      "the API server has no kubelet client certificate (--kubelet-client-certificate, --kubelet-client-key)",
    );
  return c.kubeletClient;
}

/** Headers a proxy does not pass on (RFC 9110 hop-by-hop, plus the caller's credentials). */
const DROPPED = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "te",
  "trailer",
  "host",
  "authorization",
  "content-length",
]);

function kubeletRequest(
  c: KubeletClientConfig,
  loc: Location,
  method: string,
  headers: Record<string, string | string[] | undefined>,
  body: Buffer | undefined,
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const h: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(headers)) if (v !== undefined && !DROPPED.has(k)) h[k] = v;
    if (body !== undefined && body.length > 0) h["content-length"] = String(body.length);
    const req = request({ ...kubeletTls(c, loc.kubelet), method, path: loc.path, headers: h });
    req.once("response", resolve);
    req.once("error", (e) => reject(internalError(`error trying to reach the kubelet: ${e.message}`)));
    req.end(body !== undefined && body.length > 0 ? body : undefined);
  });
}

const REASONS: Record<number, StatusReason> = {
  400: "BadRequest",
  401: "Unauthorized",
  403: "Forbidden",
  404: "NotFound",
  405: "MethodNotAllowed",
};

/** kube's GenericHttpResponseChecker: the kubelet's error as a Status (its message when it sent one). */
async function kubeletError(res: IncomingMessage): Promise<StatusError> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString().trim();
  let message = text;
  try {
    const s = JSON.parse(text) as { kind?: string; message?: string };
    if (s.kind === "Status" && typeof s.message === "string") message = s.message;
  } catch {
    // plain text, as upstream's kubelet often answers
  }
  const code = res.statusCode ?? 500;
  return new StatusError(code, REASONS[code] ?? "InternalError", message);
}

export async function serveKubeletProxy(c: KubeletProxyConfig, req: FastifyRequest, reply: FastifyReply) {
  const path = req.requestInfo?.target;
  if (path === undefined) throw methodNotAllowed();
  if (path.kind.kind === "Node") {
    const loc = await nodeProxyLocation(c.scope, path, req.url);
    const res = await kubeletRequest(
      clientConfig(c),
      loc,
      req.method,
      req.headers,
      req.body as Buffer | undefined,
    );
    reply.code(res.statusCode ?? 502);
    for (const [k, v] of Object.entries(res.headers))
      if (v !== undefined && !DROPPED.has(k)) reply.header(k, v);
    return reply.send(res);
  }
  if (path.subresource !== "log")
    throw badRequest(
      `Upgrade request required: pods/${path.subresource} is served over WebSocket (v5.channel.k8s.io, v4.channel.k8s.io)`,
    );
  if (req.method !== "GET") throw methodNotAllowed();
  const loc = await podLocation(c.scope, path, new URL(req.url, "https://apiserver").searchParams);
  reply.header("content-type", "text/plain");
  // A pod on no node has no log yet: an empty answer, as kube's LocationStreamer without a location.
  if (loc === undefined) return reply.code(200).send("");
  const res = await kubeletRequest(clientConfig(c), loc, "GET", {}, undefined);
  if ((res.statusCode ?? 500) >= 300) throw await kubeletError(res);
  // kube's log streams are not buffered: each chunk goes out as the kubelet writes it.
  reply.header("cache-control", "no-cache, private");
  return reply.code(200).send(res);
}
