/**
 * The API server as a fastify application: authentication, in-flight limits, metrics, the
 * discovery and OpenAPI documents, and the resource verbs (rest/). Bodies are taken as raw bytes
 * (at most 3 MiB) and decoded by Content-Type in rest/content.ts; every error is a Status.
 */
import { createHash } from "node:crypto";
import { setMaxListeners } from "node:events";
import {
  decodeKubernetesProtobuf,
  type GroupVersion,
  type KubeObject,
  openApiDocument,
  openApiIndex,
  Registry,
} from "@skiff/api";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { stringify as toYaml } from "yaml";
import { LimitRangeAdmission } from "./admission/limitrange.js";
import { QuotaAdmission } from "./admission/quota.js";
import { type Authenticator, type Authorizer, allowAll, type UserInfo } from "./auth.js";
import {
  AGGREGATED_TYPE,
  aggregated,
  apiGroupList,
  apiResourceList,
  apiVersions,
  wantsAggregated,
} from "./discovery.js";
import { ApiMetrics } from "./metrics.js";
import { NamespaceLifecycle } from "./namespaces.js";
import { MAX_BODY_BYTES, negotiate, setProtobufDecoder } from "./rest/content.js";
import { handle, type RestContext } from "./rest/handlers.js";
import { parseResourcePath } from "./rest/path.js";
import { toTable } from "./rest/table.js";
import { serveWatch } from "./rest/watch.js";
import { ServiceAllocator } from "./services.js";
import {
  forbidden,
  internalError,
  pathNotFound,
  StatusError,
  tooLarge,
  tooManyRequests,
  unauthorized,
} from "./status.js";
import type { EtcdKV } from "./storage/etcd.js";
import { LeaseManager } from "./storage/leases.js";
import { RegistryStore } from "./storage/registry-store.js";
import { WatchCache } from "./storage/watch-cache.js";

export const KUBERNETES_VERSION = {
  major: "1",
  minor: "32",
  gitVersion: "v1.32.4-skiff",
  gitCommit: "0000000000000000000000000000000000000000",
  gitTreeState: "clean",
  buildDate: "2026-11-28T00:00:00Z",
  goVersion: "go1.23.0",
  compiler: "gc",
  platform: "linux/amd64",
};

export interface ApiServerOptions {
  kv: EtcdKV;
  authenticate: Authenticator;
  authorizer?: Authorizer;
  registry?: Registry;
  tls?: { key: string; cert: string; ca: string };
  /** kube-apiserver's --max-requests-inflight and --max-mutating-requests-inflight. */
  maxRequestsInflight?: number;
  maxMutatingRequestsInflight?: number;
  now?: () => Date;
  logger?: boolean;
  /** --service-cluster-ip-range (default 10.96.0.0/12) and --service-node-port-range (30000-32767). */
  serviceClusterIPRange?: string;
  serviceNodePortRange?: [number, number];
  /** Events kept per resource type for watchers resuming from a revision (kube: --default-watch-cache-size). */
  watchCacheSize?: number;
  /** kube-apiserver's --event-ttl, in seconds (default 1 h): Events expire through store leases. */
  eventTtlSeconds?: number;
  /** How often watches with allowWatchBookmarks get a BOOKMARK (default 60 s). */
  watchBookmarkIntervalMs?: number;
  /** How long start-up waits for the store (default 30 s). */
  startTimeoutMs?: number;
}

export interface ApiServer {
  app: FastifyInstance;
  /** Stops accepting, ends watch streams, waits for in-flight requests. */
  close(): Promise<void>;
}

const PUBLIC_PATHS = new Set(["/healthz", "/livez", "/readyz"]);
const MUTATING = new Set(["POST", "PUT", "PATCH", "DELETE"]);

declare module "fastify" {
  interface FastifyRequest {
    user?: UserInfo;
  }
}

function sendStatus(reply: FastifyReply, e: StatusError): void {
  if (e.details?.retryAfterSeconds !== undefined)
    reply.header("retry-after", String(e.details.retryAfterSeconds));
  // A Buffer, so the content type stays exactly application/json (as kube-apiserver's).
  reply
    .code(e.code)
    .header("content-type", "application/json")
    .send(Buffer.from(JSON.stringify(e.toStatus())));
}

export async function createApiServer(o: ApiServerOptions): Promise<ApiServer> {
  setProtobufDecoder(decodeKubernetesProtobuf);
  const registry = o.registry ?? new Registry();
  const store = new RegistryStore(o.kv);
  const watchCache = new WatchCache(store, o.watchCacheSize);
  const now = o.now ?? (() => new Date());
  const lifecycle = new NamespaceLifecycle(registry, store, now, watchCache);
  const quotas = new QuotaAdmission(registry, store, watchCache);
  const limitRanges = new LimitRangeAdmission(registry, store, watchCache);
  const authorizer = o.authorizer ?? allowAll;
  const metrics = new ApiMetrics();
  const stopping = new AbortController();
  const openWatches = new Set<Promise<void>>();
  setMaxListeners(0, stopping.signal); // every watch listens for shutdown
  const ctx: RestContext = {
    services: new ServiceAllocator(o.serviceClusterIPRange, o.serviceNodePortRange),
    cache: watchCache,
    eventLeases: new LeaseManager(o.kv, o.eventTtlSeconds ?? 3600),
    registry,
    store,
    now,
    admit: async (op, k, obj) => {
      if (op !== "create") return;
      await lifecycle.admitCreate(k, obj);
      if (k.kind === "Pod") await limitRanges.admitPod(obj);
      if (k.kind === "ResourceQuota") await quotas.initialize(obj);
    },
    charge: (k, obj, sign) => quotas.charge(k, obj, sign),
  };
  const app = Fastify({
    logger: o.logger ?? false,
    bodyLimit: MAX_BODY_BYTES,
    // Requests arriving while we stop get our own 503 Status (hook below), not fastify's.
    return503OnClosing: false,
    ...(o.tls === undefined
      ? {}
      : {
          https: {
            key: o.tls.key,
            cert: o.tls.cert,
            ca: o.tls.ca,
            requestCert: true,
            rejectUnauthorized: false,
          },
        }),
  }) as unknown as FastifyInstance;
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_req, body, done) => done(null, body));

  const limits = { all: o.maxRequestsInflight ?? 400, mutating: o.maxMutatingRequestsInflight ?? 200 };
  const inflight = { all: 0, mutating: 0 };
  app.addHook("onRequest", async (req, reply) => {
    if (stopping.signal.aborted)
      throw new StatusError(503, "ServiceUnavailable", "the API server is shutting down", {
        retryAfterSeconds: 1,
      });
    const path = req.url.split("?")[0] as string;
    if (!PUBLIC_PATHS.has(path)) {
      const user = o.authenticate(req.raw);
      if (user === undefined) throw unauthorized();
      req.user = user;
    }
    // Watches are long-running and do not count (kube-apiserver's max-in-flight filter).
    if (/[?&]watch=(true|1)/.test(req.url)) return;
    const mutating = MUTATING.has(req.method);
    if (mutating ? inflight.mutating >= limits.mutating : inflight.all >= limits.all)
      throw tooManyRequests(1);
    if (mutating) inflight.mutating++;
    else inflight.all++;
    reply.raw.once("close", () => {
      if (mutating) inflight.mutating--;
      else inflight.all--;
    });
  });
  app.addHook("onResponse", async (req, reply) => {
    metrics.observe(req.method, req.routeOptions.url ?? "", reply.statusCode, reply.elapsedTime / 1000);
  });
  app.setErrorHandler((err: Error, _req, reply) => {
    if (err instanceof StatusError) return sendStatus(reply, err);
    const code = (err as { statusCode?: number }).statusCode;
    if (code === 413) return sendStatus(reply, tooLarge());
    if (code !== undefined && code >= 400 && code < 500)
      return sendStatus(reply, new StatusError(code, "BadRequest", err.message));
    app.log.error(err);
    return sendStatus(reply, internalError(err.message));
  });
  app.setNotFoundHandler((_req, reply) => sendStatus(reply, pathNotFound()));

  app.get("/version", async () => KUBERNETES_VERSION);
  for (const p of PUBLIC_PATHS) app.get(p, async (_req, reply) => reply.type("text/plain").send("ok"));
  app.get("/metrics", async (_req, reply) => reply.type(metrics.contentType).send(await metrics.text()));

  const discovery = (legacy: boolean) => async (req: FastifyRequest, reply: FastifyReply) => {
    if (wantsAggregated(req.headers.accept))
      return reply
        .type(AGGREGATED_TYPE)
        .header("vary", "Accept")
        .send(Buffer.from(JSON.stringify(aggregated(registry, legacy)))); // a Buffer: fastify keeps the type as is
    return legacy ? apiVersions() : apiGroupList(registry);
  };
  app.get("/api", discovery(true));
  app.get("/apis", discovery(false));
  app.get("/api/v1", async () => apiResourceList(registry, "", "v1") ?? Promise.reject(pathNotFound()));
  app.get<{ Params: { group: string; version: string } }>("/apis/:group/:version", async (req) => {
    const doc = apiResourceList(registry, req.params.group, req.params.version);
    if (doc === undefined) throw pathNotFound();
    return doc;
  });

  const openapi = new Map<string, { doc: string; hash: string }>();
  const gvKey = (gv: GroupVersion) =>
    gv.group === "" ? `api/${gv.version}` : `apis/${gv.group}/${gv.version}`;
  for (const gv of registry.groupVersions()) {
    const doc = JSON.stringify(openApiDocument(gv, KUBERNETES_VERSION.gitVersion));
    openapi.set(gvKey(gv), {
      doc,
      hash: createHash("sha512").update(doc).digest("hex").slice(0, 128).toUpperCase(),
    });
  }
  app.get("/openapi/v3", async () =>
    openApiIndex(registry.groupVersions(), (gv) => openapi.get(gvKey(gv))?.hash ?? ""),
  );
  app.get("/openapi/v3/*", async (req, reply) => {
    const key = (req.params as { "*": string })["*"];
    const d = openapi.get(key);
    if (d === undefined) throw pathNotFound();
    return reply.type("application/json").header("etag", `"${d.hash}"`).send(d.doc);
  });

  const resource = async (
    req: FastifyRequest,
    reply: FastifyReply,
    group: string,
    version: string,
    rest: string,
  ) => {
    const path = parseResourcePath(registry, group, version, rest);
    const query = req.query as Record<string, string | undefined>;
    const user = req.user as UserInfo;
    const verb =
      req.method === "GET"
        ? path.name === undefined
          ? query.watch === "true" || query.watch === "1"
            ? "watch"
            : "list"
          : "get"
        : req.method.toLowerCase();
    const decision = authorizer.authorize({
      user,
      verb,
      group,
      resource: path.kind.resource,
      subresource: path.subresource,
      namespace: path.namespace,
      name: path.name,
      path: req.url,
    });
    if (!decision.allowed)
      throw forbidden(
        `${path.kind.resource} is forbidden: User "${user.name}" cannot ${verb} resource "${path.kind.resource}"${decision.reason ? `: ${decision.reason}` : ""}`,
      );
    const negotiated = negotiate(req.headers.accept);
    if (verb === "watch") {
      reply.hijack();
      // Tracked until its last chunk is flushed, so that shutdown ends it cleanly.
      const finished = new Promise<void>((resolve) => {
        reply.raw.once("finish", resolve);
        reply.raw.once("close", resolve);
      });
      openWatches.add(finished);
      void finished.then(() => openWatches.delete(finished));
      reply.raw.writeHead(200, { "content-type": "application/json", "cache-control": "no-cache, private" });
      reply.raw.flushHeaders();
      const render = negotiated.table ? (obj: KubeObject) => toTable(path.kind, [obj], {}, now()) : undefined;
      await serveWatch(
        watchCache,
        path,
        {
          write: (line) => reply.raw.write(line),
          end: () => reply.raw.end(),
          onClose: (f) => reply.raw.once("close", f),
        },
        { query, render, bookmarkIntervalMs: o.watchBookmarkIntervalMs },
        stopping.signal,
      );
      return;
    }
    let answer: Awaited<ReturnType<typeof handle>>;
    if (
      req.method === "DELETE" &&
      path.kind.kind === "Namespace" &&
      path.name !== undefined &&
      path.subresource === undefined
    )
      answer = { code: 200, body: await lifecycle.delete(path.name) };
    else
      answer = await handle(ctx, {
        method: req.method,
        path,
        query,
        contentType: req.headers["content-type"],
        body: req.body as Buffer | undefined,
        plainJson: !negotiated.table && !negotiated.yaml,
      });
    // RFC 7234 warn-text: a quoted string, backslash-escaped, as kube-apiserver writes it.
    const warnings = (answer.warnings ?? []).map(
      (w) => `299 - "${w.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`,
    );
    if (warnings.length > 0) reply.header("warning", warnings);
    if (answer.rawBody !== undefined)
      return reply.code(answer.code).type("application/json").send(answer.rawBody);
    let body = answer.body;
    if (negotiated.table) {
      body =
        answer.list !== undefined
          ? toTable(path.kind, answer.list.items, answer.list.meta, now())
          : toTable(path.kind, [answer.body as KubeObject], {}, now());
    }
    reply.code(answer.code);
    if (negotiated.yaml) return reply.type("application/yaml").send(toYaml(body));
    return reply.type("application/json").send(JSON.stringify(body));
  };
  const methods = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;
  app.route({
    method: [...methods],
    url: "/api/v1/*",
    handler: (req, reply) => resource(req, reply, "", "v1", (req.params as { "*": string })["*"]),
  });
  app.route({
    method: [...methods],
    url: "/apis/:group/:version/*",
    handler: (req, reply) => {
      const p = req.params as { group: string; version: string; "*": string };
      return resource(req, reply, p.group, p.version, p["*"]);
    },
  });

  // One store watch per resource type from the start (kube-apiserver's cacher), so watchers can
  // resume from any recent revision.
  // A remote store may be electing a leader: retry for a while before giving up.
  const deadline = Date.now() + (o.startTimeoutMs ?? 30_000);
  for (;;) {
    try {
      await Promise.all(registry.kinds.map((k) => watchCache.for(k)));
      await lifecycle.bootstrap();
      break;
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return {
    app,
    async close() {
      stopping.abort(); // ends every watch stream (sink.end)
      watchCache.stop();
      // Let the ended streams flush their last chunk before connections are closed.
      await Promise.race([Promise.all(openWatches), new Promise((r) => setTimeout(r, 2000).unref())]);
      await app.close();
    },
  };
}
