/**
 * The API server as a fastify application, assembled from its parts: the filter chain in kube's
 * order (filters/), the non-resource routes (routes/: version, health, metrics, discovery,
 * OpenAPI), and the resource routes, which hand each request to its verb's handler (handlers/),
 * through admission (admission/) to the storage (registry/, storage/). Bodies are taken as raw
 * bytes (at most 3 MiB) and decoded by Content-Type in handlers/content.ts; every error is a Status.
 */
import type { KeyObject } from "node:crypto";
import { setMaxListeners } from "node:events";
import type { IncomingMessage } from "node:http";
import { decodeKubernetesProtobuf, Registry } from "@skiff/api";
import { Health, type Logger, silentLogger } from "@skiff/component-base";
import Fastify, { type FastifyInstance } from "fastify";
import { Registry as MetricsRegistry } from "prom-client";
import { newAdmissionChain } from "./admission/plugins.js";
import { type Authenticator, type Authorizer, allowAll, isPublicInfoPath } from "./auth.js";
import { type ControllerOptions, InProcessControllers } from "./controllers/manager.js";
import { defaultHandlerChain, installFilters } from "./filters/chain.js";
import { MAX_BODY_BYTES, setProtobufDecoder } from "./handlers/content.js";
import type { RequestScope } from "./handlers/scope.js";
import type { KubeletClientConfig } from "./proxy/kubelet.js";
import { handleUpgrade } from "./proxy/upgrade.js";
import { ServiceAllocator } from "./registry/core/service-allocator.js";
import { QuotaUsage } from "./registry/quota-usage.js";
import { bootstrapPriorityClasses } from "./registry/scheduling/priorityclass.js";
import { StorageMap } from "./registry/storage.js";
import { installDiscovery } from "./routes/discovery.js";
import { installErrorHandlers } from "./routes/errors.js";
import { installHealth } from "./routes/health.js";
import { installMetrics } from "./routes/metrics.js";
import { installOpenApi } from "./routes/openapi.js";
import { installResources } from "./routes/resources.js";
import { installVersion } from "./routes/version.js";
import { newSigningKey } from "./serviceaccount/keys.js";
import { cacheLookup } from "./serviceaccount/lookup.js";
import { ServiceAccountTokens } from "./serviceaccount/tokens.js";
import type { EtcdKV } from "./storage/etcd.js";
import { LeaseManager } from "./storage/leases.js";
import { RegistryStore } from "./storage/registry-store.js";
import { WatchCache } from "./storage/watch-cache.js";

export { KUBERNETES_VERSION } from "./routes/version.js";

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
  /** Where internal errors (500s) are logged; silent by default. */
  log?: Logger;
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
  /** The checks behind /livez, /readyz, /healthz; the server adds its own (etcd, shutdown). */
  health?: Health;
  /** Where apiserver_request_* are registered and /metrics reads from. */
  metrics?: MetricsRegistry;
  /**
   * The `default/kubernetes` Service reconciler (controllers/): its clock and interval, or false
   * for none (default: on). The namespace, quota, service account and root CA controllers are
   * the controller manager's, as in kube.
   */
  controllers?: false | Omit<ControllerOptions, "scope" | "kubernetesServiceIP" | "log">;
  /** Admission plugins left out (kube-apiserver's --disable-admission-plugins). */
  disableAdmissionPlugins?: readonly string[];
  /** Signs ServiceAccount tokens (kube: --service-account-signing-key-file); a new key if unset. */
  serviceAccountKey?: KeyObject;
  /** DefaultTolerationSeconds' --default-not-ready-toleration-seconds and --default-unreachable-toleration-seconds (300). */
  defaultNotReadyTolerationSeconds?: number;
  defaultUnreachableTolerationSeconds?: number;
  /**
   * How to reach kubelets for pods/log, exec, attach, portforward and nodes/proxy (kube's
   * --kubelet-client-certificate, --kubelet-client-key, --kubelet-certificate-authority);
   * unset: those answer 503.
   */
  kubeletClient?: KubeletClientConfig;
}

export interface ApiServer {
  app: FastifyInstance;
  /** The in-process `kubernetes` Service reconciler, unless turned off; advertise() starts it. */
  controllers: InProcessControllers | undefined;
  /** Stops accepting, ends watch streams, waits for in-flight requests. */
  close(): Promise<void>;
}

function newFastify(o: ApiServerOptions): FastifyInstance {
  const app = Fastify({
    logger: false,
    bodyLimit: MAX_BODY_BYTES,
    // Requests arriving while we stop get our own 503 Status (filters/retry-after.ts), not fastify's.
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
  return app;
}

export async function createApiServer(o: ApiServerOptions): Promise<ApiServer> {
  setProtobufDecoder(decodeKubernetesProtobuf);
  const registry = o.registry ?? new Registry();
  const store = new RegistryStore(o.kv);
  const cache = new WatchCache(store, o.watchCacheSize);
  const now = o.now ?? (() => new Date());
  const quotaUsage = new QuotaUsage(registry, store, cache, () => now().getTime());
  const services = new ServiceAllocator(o.serviceClusterIPRange, o.serviceNodePortRange);
  const storage = new StorageMap({
    registry,
    store,
    cache,
    quotaUsage,
    now,
    services,
    eventLeases: new LeaseManager(o.kv, o.eventTtlSeconds ?? 3600),
  });
  const serviceAccountTokens = new ServiceAccountTokens(o.serviceAccountKey ?? newSigningKey(), now);
  const scope: RequestScope = {
    registry,
    store,
    cache,
    storage: (kind) => storage.for(kind),
    admission: newAdmissionChain(
      {
        registry,
        store,
        cache,
        quotaUsage,
        defaultNotReadyTolerationSeconds: o.defaultNotReadyTolerationSeconds,
        defaultUnreachableTolerationSeconds: o.defaultUnreachableTolerationSeconds,
      },
      o.disableAdmissionPlugins,
    ),
    now,
    serviceAccountTokens,
    authorizer: o.authorizer ?? allowAll,
    otherTokens: (token) =>
      o.authenticate({ headers: { authorization: `Bearer ${token}` }, socket: {} } as IncomingMessage),
  };
  const stopping = new AbortController();
  setMaxListeners(0, stopping.signal); // every watch listens for shutdown
  const openWatches = new Set<Promise<void>>();

  const app = newFastify(o);
  const metrics = o.metrics ?? new MetricsRegistry();
  const filters = defaultHandlerChain({
    registry,
    authenticate: withServiceAccountTokens(o.authenticate, serviceAccountTokens),
    authorizer: o.authorizer ?? allowAll,
    alwaysAllow: isPublicInfoPath,
    maxRequestsInflight: o.maxRequestsInflight ?? 400,
    maxMutatingRequestsInflight: o.maxMutatingRequestsInflight ?? 200,
    notAcceptingNewRequests: stopping.signal,
    metrics,
  });
  installFilters(app, filters);
  // Upgrades (exec, attach, port-forward, proxy) bypass fastify: same filters, then a raw pipe.
  const kubeletProxy = { scope, kubeletClient: o.kubeletClient };
  app.server.on("upgrade", (req, socket, head) => handleUpgrade(kubeletProxy, filters, req, socket, head));
  installMetrics(app, metrics);
  installErrorHandlers(app, o.log ?? silentLogger);
  installVersion(app);
  const health = o.health ?? new Health();
  // kube-apiserver's etcd check (livez and readyz) and its readyz "shutdown" check.
  health.addLivez("etcd", () => storeReachable(o.kv));
  health.addReadyz("shutdown", () =>
    stopping.signal.aborted ? "the API server is shutting down" : undefined,
  );
  installHealth(app, health);
  installDiscovery(app, registry);
  installOpenApi(app, registry);
  installResources(app, {
    scope,
    stopping: stopping.signal,
    openWatches,
    watchBookmarkIntervalMs: o.watchBookmarkIntervalMs,
    kubeletClient: o.kubeletClient,
  });

  // One store watch per resource type from the start (kube-apiserver's cacher), so watchers can
  // resume from any recent revision. A remote store may be electing a leader: retry for a while.
  const deadline = Date.now() + (o.startTimeoutMs ?? 30_000);
  for (;;) {
    try {
      // Create-only kinds (the reviews) are never stored: nothing to watch.
      await Promise.all(registry.kinds.filter((k) => k.verbs === undefined).map((k) => cache.for(k)));
      await storage.namespaces.bootstrap();
      await bootstrapPriorityClasses(registry, store, now());
      serviceAccountTokens.lookup = await cacheLookup(registry, cache);
      break;
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  const controllers =
    o.controllers === false
      ? undefined
      : new InProcessControllers({
          ...o.controllers,
          scope,
          kubernetesServiceIP: services.firstIP,
          log: o.log,
        });
  return {
    app,
    controllers,
    async close() {
      await controllers?.stop(); // no controller writes once the server stops
      stopping.abort(); // ends every watch stream (sink.end)
      cache.stop();
      // Let the ended streams flush their last chunk before connections are closed.
      await Promise.race([Promise.all(openWatches), new Promise((r) => setTimeout(r, 2000).unref())]);
      await app.close();
    },
  };
}

/** Bearer tokens the given authenticator does not know may be ServiceAccount tokens. */
function withServiceAccountTokens(authenticate: Authenticator, tokens: ServiceAccountTokens): Authenticator {
  return (req) => {
    const user = authenticate(req);
    if (user !== undefined) return user;
    const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? "");
    return m === null ? undefined : tokens.authenticate(m[1] as string)?.user;
  };
}

/** How long the etcd health check waits for the store (kube-apiserver: 2 s). */
const etcdCheckTimeoutMs = 2000;

/** undefined once the store answers a read, or why not. */
async function storeReachable(kv: EtcdKV): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve("the store did not answer in time"), etcdCheckTimeoutMs);
  });
  try {
    return await Promise.race([
      kv.range("/registry/health", { countOnly: true }).then(() => undefined),
      late,
    ]);
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  } finally {
    clearTimeout(timer);
  }
}
