/**
 * The resource API: /api/v1/... and /apis/<group>/<version>/... for every verb. The filters have
 * resolved the RequestInfo; this serves it: a watch as a long-running stream, anything else
 * through the verb handlers (handlers/dispatch.ts).
 */
import type { KubeObject } from "@skiff/api";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { type Negotiated, negotiate } from "../handlers/content.js";
import { dispatch } from "../handlers/dispatch.js";
import { asPartialObjectMetadata } from "../handlers/metadata.js";
import { writeAnswer } from "../handlers/response.js";
import type { RequestScope } from "../handlers/scope.js";
import { toTable } from "../handlers/table.js";
import { planWatch, serveWatch, type WatchPlan } from "../handlers/watch.js";
import { serveKubeletProxy } from "../proxy/http.js";
import type { KubeletClientConfig } from "../proxy/kubelet.js";
import { isKubeletSubresource } from "../proxy/location.js";
import { methodNotAllowed, pathNotFound } from "../status.js";

export interface ResourceRoutes {
  scope: RequestScope;
  /** Aborted at shutdown: every watch stream ends. */
  stopping: AbortSignal;
  /** Watch streams until their last chunk is flushed, so that shutdown can wait for them. */
  openWatches: Set<Promise<void>>;
  watchBookmarkIntervalMs?: number;
  /** How to reach kubelets for the subresources they serve (pods/log, nodes/proxy, ...). */
  kubeletClient?: KubeletClientConfig;
}

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;

/** A chunked stream of JSON lines, written outside fastify's reply cycle (hijacked). */
async function streamWatch(c: ResourceRoutes, reply: FastifyReply, plan: WatchPlan, negotiated: Negotiated) {
  const path = plan.path;
  reply.hijack();
  const finished = new Promise<void>((resolve) => {
    reply.raw.once("finish", resolve);
    reply.raw.once("close", resolve);
  });
  c.openWatches.add(finished);
  void finished.then(() => c.openWatches.delete(finished));
  reply.raw.writeHead(200, { "content-type": "application/json", "cache-control": "no-cache, private" });
  reply.raw.flushHeaders();
  const now = c.scope.now;
  const render = negotiated.table
    ? (obj: KubeObject) => toTable(path.kind, [obj], {}, now())
    : negotiated.metadata !== undefined
      ? asPartialObjectMetadata
      : undefined;
  await serveWatch(
    c.scope.cache,
    c.scope.store.kv,
    plan,
    {
      write: (line) => reply.raw.write(line),
      end: () => reply.raw.end(),
      onClose: (f) => reply.raw.once("close", f),
    },
    {
      render,
      renderBookmark: negotiated.metadata !== undefined ? asPartialObjectMetadata : undefined,
      bookmarkIntervalMs: c.watchBookmarkIntervalMs,
    },
    c.stopping,
  );
}

export function installResources(app: FastifyInstance, c: ResourceRoutes): void {
  const serve = async (req: FastifyRequest, reply: FastifyReply) => {
    const info = req.requestInfo;
    const path = info?.target;
    if (info === undefined || path === undefined) throw pathNotFound();
    // kube's resource routes serve no HEAD (fastify adds one for every GET route).
    if (req.method === "HEAD") throw methodNotAllowed();
    if (isKubeletSubresource(path))
      return serveKubeletProxy({ scope: c.scope, kubeletClient: c.kubeletClient }, req, reply);
    const query = req.query as Record<string, string | undefined>;
    const negotiated = negotiate(req.headers.accept);
    // A watch's query is checked before its stream starts: errors are plain answers. Kinds that
    // serve only some verbs (the create-only reviews) get their 405 from dispatch.
    if (info.verb === "watch" && (path.kind.verbs?.includes("watch") ?? true))
      return streamWatch(c, reply, planWatch(path, query), negotiated);
    const answer = await dispatch(c.scope, {
      method: req.method,
      verb: info.verb,
      path,
      query,
      contentType: req.headers["content-type"],
      body: req.body as Buffer | undefined,
      user: req.user,
      userAgent: req.headers["user-agent"],
      plainJson: !negotiated.table && !negotiated.yaml && negotiated.metadata === undefined,
    });
    return writeAnswer(reply, answer, path.kind, negotiated, c.scope.now());
  };
  app.route({ method: [...METHODS], url: "/api/v1/*", handler: serve });
  app.route({ method: [...METHODS], url: "/apis/:group/:version/*", handler: serve });
}
