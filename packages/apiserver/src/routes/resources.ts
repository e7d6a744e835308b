/**
 * The resource API: /api/v1/... and /apis/<group>/<version>/... for every verb. The filters have
 * resolved the RequestInfo; this serves it: a watch as a long-running stream, anything else
 * through the verb handlers (handlers/dispatch.ts).
 */
import type { KubeObject } from "@skiff/api";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { negotiate } from "../handlers/content.js";
import { dispatch } from "../handlers/dispatch.js";
import { writeAnswer } from "../handlers/response.js";
import type { RequestScope } from "../handlers/scope.js";
import { toTable } from "../handlers/table.js";
import { serveWatch } from "../handlers/watch.js";
import type { ResourcePath } from "../request/requestinfo.js";
import { methodNotAllowed, pathNotFound } from "../status.js";

export interface ResourceRoutes {
  scope: RequestScope;
  /** Aborted at shutdown: every watch stream ends. */
  stopping: AbortSignal;
  /** Watch streams until their last chunk is flushed, so that shutdown can wait for them. */
  openWatches: Set<Promise<void>>;
  watchBookmarkIntervalMs?: number;
}

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;

/** A chunked stream of JSON lines, written outside fastify's reply cycle (hijacked). */
async function streamWatch(
  c: ResourceRoutes,
  reply: FastifyReply,
  path: ResourcePath,
  query: Record<string, string | undefined>,
  table: boolean,
) {
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
  const render = table ? (obj: KubeObject) => toTable(path.kind, [obj], {}, now()) : undefined;
  await serveWatch(
    c.scope.cache,
    path,
    {
      write: (line) => reply.raw.write(line),
      end: () => reply.raw.end(),
      onClose: (f) => reply.raw.once("close", f),
    },
    { query, render, bookmarkIntervalMs: c.watchBookmarkIntervalMs },
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
    const query = req.query as Record<string, string | undefined>;
    const negotiated = negotiate(req.headers.accept);
    // Kinds that serve only some verbs (the create-only reviews) get their 405 from dispatch.
    if (info.verb === "watch" && (path.kind.verbs?.includes("watch") ?? true))
      return streamWatch(c, reply, path, query, negotiated.table);
    const answer = await dispatch(c.scope, {
      method: req.method,
      verb: info.verb,
      path,
      query,
      contentType: req.headers["content-type"],
      body: req.body as Buffer | undefined,
      user: req.user,
      plainJson: !negotiated.table && !negotiated.yaml,
    });
    return writeAnswer(reply, answer, path.kind, negotiated, c.scope.now());
  };
  app.route({ method: [...METHODS], url: "/api/v1/*", handler: serve });
  app.route({ method: [...METHODS], url: "/apis/:group/:version/*", handler: serve });
}
