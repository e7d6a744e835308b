/**
 * kube-proxy in nftables mode, the running part (pkg/proxy/nftables Proxier with
 * cmd/kube-proxy's informers): Service and EndpointSlice informers feed a change tracker; a
 * BoundedFrequencyRunner (--min-sync-period, burst 2, --sync-period) calls syncProxyRules, which
 * builds the whole Ruleset from the caches (rules/, a pure function; unchanged Services' parts
 * are reused from a RulesetCache), and loads either all of it (a full sync: the table replaced
 * atomically) or only what changed since the last applied Ruleset (a partial sync). As kube 1.32's nftables proxier, the first sync is full, so is the
 * one after a failure, and one each FullSyncPeriod (proxyutil.FullSyncPeriod, an hour); the rest
 * are partial. Stale UDP conntrack entries are cleared after each sync. On stop the table is left
 * in place (kube-proxy leaves its rules on exit: traffic keeps flowing across a restart);
 * cleanup() removes it (kube-proxy --cleanup).
 */
import { type ClientInterface, type Clock, Informer, realClock } from "@skiff/client";
import { type Component, Health, type Logger, once, Readiness, silentLogger } from "@skiff/component-base";
import { Registry } from "prom-client";
import type { EndpointSlice, Service } from "../api-types.js";
import { buildRuleset } from "../rules/build.js";
import { RulesetCache } from "../rules/cache.js";
import { renderPartialSync } from "../rules/partial.js";
import { renderFullSync } from "../rules/render.js";
import type { ProxyRulesInput, Ruleset } from "../rules/types.js";
import { ChangeTracker, type TakenChanges } from "./changes.js";
import { Conntrack, type ConntrackInterface, staleConntrackFlows } from "./conntrack.js";
import { ProxierHealthServer } from "./healthz.js";
import { type ProxierMetrics, proxierMetrics } from "./metrics.js";
import { Nft, type NftInterface } from "./nft.js";
import type { ProxyConfig } from "./options.js";
import { BoundedFrequencyRunner } from "./runner.js";

/** The rule generation: src/rules/'s buildRuleset, renderFullSync, renderPartialSync by default. */
export interface ProxyRules {
  build(input: ProxyRulesInput): Ruleset;
  renderFull(rs: Ruleset): string;
  /** The text that turns `prev` (live) into `next`; undefined: nothing to change. */
  renderPartial(prev: Ruleset, next: Ruleset): string | undefined;
}

export interface SyncInfo {
  full: boolean;
  durationMs: number;
  /** When `nft` returned: the rules are live from then on (ms since the epoch). */
  liveAtMs: number;
  /** Trigger times (ms since the epoch) of the EndpointSlice changes this sync made live. */
  triggerTimesMs: number[];
}

export interface ProxierOptions {
  client: ClientInterface;
  /** The node this proxy runs on (--hostname-override wins when set in config). */
  nodeName: string;
  /** The rule generation; default src/rules/ (tests inject a stand-in). */
  rules?: ProxyRules;
  config?: Partial<ProxyConfig>;
  /** The node's network namespace; unset: the agent's own (--host-network). */
  netns?: string;
  /** The nftables table (family ip); default "kube-proxy", kube's. */
  table?: string;
  logger?: Logger;
  nft?: NftInterface;
  conntrack?: ConntrackInterface;
  clock?: Clock;
  /** proxyutil.FullSyncPeriod: a full sync at least this often (default one hour). */
  fullSyncPeriodMs?: number;
  /** Called after each successful sync (the benchmark's hook). */
  onSynced?: (info: SyncInfo) => void;
}

/** Label selector of both informers, as cmd/kube-proxy: no other proxy's, no headless. */
export const PROXY_LABEL_SELECTOR =
  "!service.kubernetes.io/service-proxy-name,!service.kubernetes.io/headless";
/** Field selector of the Services informer, as cmd/kube-proxy: headless Services are DNS's. */
export const PROXY_SERVICE_FIELD_SELECTOR = "spec.clusterIP!=None";

const HOUR_MS = 3_600_000;

/**
 * src/rules/: the pure rule generation and its two renderings, with a RulesetCache of its own
 * (one per Proxier), so that a sync recomputes only the Services whose object or EndpointSlices
 * the informers replaced since the last one (kube's nftables proxier likewise rewrites only the
 * chains of changed Services). The informers' objects are frozen, as the cache requires.
 */
export function nftablesRules(): ProxyRules {
  const cache = new RulesetCache();
  return {
    build: (input) => buildRuleset(input, cache),
    renderFull: renderFullSync,
    renderPartial: renderPartialSync,
  };
}

export class Proxier implements Component {
  readonly name = "kube-proxy";
  private readonly rules: ProxyRules;
  readonly health = new Health();
  readonly metrics = new Registry();
  readonly healthServer: ProxierHealthServer;
  private readonly m: ProxierMetrics;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly config: ProxyConfig;
  private readonly nodeName: string;
  private readonly table: string;
  private readonly nft: NftInterface;
  private readonly conntrack: ConntrackInterface;
  private readonly runner: BoundedFrequencyRunner;
  private readonly changes: ChangeTracker;
  private readonly readiness = new Readiness();
  private services: Informer<Service> | undefined;
  private slices: Informer<EndpointSlice> | undefined;
  private node: Informer | undefined;
  /** Both caches have synced: syncs may run (kube's isInitialized). */
  private initialized = false;
  /** Invariant: true until a sync succeeds, and again after any failed one. */
  private needFullSync = true;
  private lastFullSyncAt = 0;
  /** The Ruleset live in the table: the base of partial syncs; undefined before the first. */
  private applied: Ruleset | undefined;
  private healthzAddress: { host: string; port: number } | undefined;
  private stopped = false;

  constructor(private readonly opts: ProxierOptions) {
    this.log = opts.logger ?? silentLogger;
    this.rules = opts.rules ?? nftablesRules();
    this.clock = opts.clock ?? realClock;
    this.config = {
      mode: "nftables",
      masqueradeBit: 14,
      minSyncPeriodMs: 1000,
      syncPeriodMs: 30_000,
      ...opts.config,
    };
    this.nodeName = this.config.hostnameOverride ?? opts.nodeName;
    this.table = opts.table ?? "kube-proxy";
    this.nft = opts.nft ?? new Nft({ netns: opts.netns, logger: this.log });
    this.conntrack = opts.conntrack ?? new Conntrack({ netns: opts.netns, logger: this.log });
    this.m = proxierMetrics(this.metrics);
    this.changes = new ChangeTracker(this.clock.now());
    // kube-proxy's healthz timeout is twice --sync-period (cmd/kube-proxy/app/server.go).
    this.healthServer = new ProxierHealthServer({
      healthTimeoutMs: 2 * this.config.syncPeriodMs,
      clock: this.clock,
      metrics: this.m,
    });
    this.runner = new BoundedFrequencyRunner("sync-runner", () => this.syncProxyRules(), {
      minIntervalMs: this.config.minSyncPeriodMs,
      maxIntervalMs: this.config.syncPeriodMs,
      burstRuns: 2,
      clock: this.clock,
      onError: (e) => this.log.error({ err: String(e) }, "sync failed"),
    });
    this.health.addLivez("proxier", () =>
      this.healthServer.health().healthy ? undefined : "an update waited longer than the health timeout",
    );
    this.health.addReadyz("informers-synced", () => (this.initialized ? undefined : "caches not synced"));
  }

  get ready(): Promise<void> {
    return this.readiness.promise;
  }

  describe(): Record<string, unknown> {
    const h = this.healthzAddress;
    return {
      nodeName: this.nodeName,
      table: this.table,
      ...(this.opts.netns === undefined ? {} : { netns: this.opts.netns }),
      ...(h === undefined ? {} : { healthz: `http://${h.host}:${h.port}/healthz` }),
    };
  }

  /** Where the healthz server listens (after start), if it does. */
  healthzURL(): string | undefined {
    const h = this.healthzAddress;
    return h === undefined ? undefined : `http://${h.host.includes(":") ? `[${h.host}]` : h.host}:${h.port}`;
  }

  async start(): Promise<void> {
    const bind = this.config.healthzBindAddress;
    if (bind !== undefined) this.healthzAddress = await this.healthServer.listen(bind.host, bind.port);
    const { client } = this.opts;
    const onError = (what: string) => (e: unknown) => this.log.warn({ err: String(e) }, `${what} informer`);
    this.services = new Informer<Service>(client.resource<Service>("v1", "services"), {
      labelSelector: PROXY_LABEL_SELECTOR,
      fieldSelector: PROXY_SERVICE_FIELD_SELECTOR,
      onAdd: (s) => this.onServiceChange(s),
      onUpdate: (o, s) => {
        if (o.metadata.resourceVersion !== s.metadata.resourceVersion) this.onServiceChange(s);
      },
      onDelete: (s) => this.onServiceChange(s),
      onError: onError("services"),
    });
    this.slices = new Informer<EndpointSlice>(
      client.resource<EndpointSlice>("discovery.k8s.io/v1", "endpointslices"),
      {
        labelSelector: PROXY_LABEL_SELECTOR,
        onAdd: (s, initial) => this.onEndpointSliceChange(s, s, initial),
        onUpdate: (o, s) => {
          if (o.metadata.resourceVersion !== s.metadata.resourceVersion) this.onEndpointSliceChange(s, s);
        },
        // A deleted slice's annotation tells when it last changed, not when it was deleted.
        onDelete: (s) => this.onEndpointSliceChange(s, undefined),
        onError: onError("endpointslices"),
      },
    );
    this.node = new Informer(client.resource("v1", "nodes"), {
      fieldSelector: `metadata.name=${this.nodeName}`,
      onAdd: (n) => this.healthServer.syncNode(n),
      onUpdate: (_, n) => this.healthServer.syncNode(n),
      onDelete: () => this.healthServer.syncNode({ metadata: { deletionTimestamp: "deleted" } }),
      onError: onError("nodes"),
    });
    this.services.start();
    this.slices.start();
    this.node.start();
    this.runner.loop();
    void Promise.all([this.services.waitForSync(), this.slices.waitForSync()]).then(([a, b]) => {
      if (!a || !b || this.stopped) return;
      this.initialized = true;
      this.log.info({ node: this.nodeName, table: this.table }, "caches synced, syncing proxy rules");
      // kube: OnServicesSynced/OnEndpointSlicesSynced sync unconditionally, once per lifetime.
      this.runner.run();
    });
  }

  /** Asks for a sync (kube's Proxier.Sync): the health server and the queued-time gauge note it. */
  private sync(): void {
    this.healthServer.queuedUpdate();
    this.m.syncProxyRulesLastQueuedTimestamp.set(this.clock.now() / 1000);
    if (this.initialized) this.runner.run();
  }

  private onServiceChange(s: Service): void {
    this.changes.serviceChanged(`${s.metadata.namespace}/${s.metadata.name}`);
    this.m.serviceChangesTotal.inc();
    this.m.serviceChangesPending.set(this.changes.pendingServices);
    this.sync();
  }

  private onEndpointSliceChange(s: EndpointSlice, current: EndpointSlice | undefined, initial = false): void {
    const key = `${s.metadata.namespace}/${s.metadata.name}`;
    this.changes.endpointSliceChanged(key, current, this.clock.now(), initial);
    this.m.endpointChangesTotal.inc();
    this.m.endpointChangesPending.set(this.changes.pendingEndpointSlices);
    this.sync();
  }

  /** The whole sync; never throws (a failure is counted, logged, and retried by a full sync). */
  private async syncProxyRules(): Promise<void> {
    if (!this.initialized || this.stopped) return;
    const start = this.clock.now();
    const full =
      this.needFullSync ||
      this.applied === undefined ||
      start - this.lastFullSyncAt >= (this.opts.fullSyncPeriodMs ?? HOUR_MS);
    const taken = this.changes.take();
    this.m.serviceChangesPending.set(0);
    this.m.endpointChangesPending.set(0);
    try {
      await this.apply(full, start, taken);
    } catch (e) {
      this.m.nftablesSyncFailuresTotal.inc();
      this.needFullSync = true;
      this.changes.restoreTriggerTimes(taken.triggerTimes);
      this.log.error({ err: String(e), full, retryInMs: this.config.syncPeriodMs }, "sync failed");
      // kube: a failed sync retries after --sync-period, as a full one.
      this.runner.retryAfter(this.config.syncPeriodMs);
    } finally {
      const seconds = (this.clock.now() - start) / 1000;
      this.m.syncProxyRulesLatency.observe(seconds);
      (full ? this.m.syncFullProxyRulesLatency : this.m.syncPartialProxyRulesLatency).observe(seconds);
    }
  }

  private async apply(full: boolean, start: number, taken: TakenChanges): Promise<void> {
    const services = (this.services?.list() ?? []).filter((s) => s.spec?.clusterIP !== "None");
    const next = this.rules.build({
      nodeName: this.nodeName,
      services,
      endpointSlices: this.slices?.list() ?? [],
      options: {
        table: this.table,
        masqueradeBit: this.config.masqueradeBit,
        ...(this.config.clusterCIDR === undefined ? {} : { clusterCIDR: this.config.clusterCIDR }),
      },
    });
    const prev = this.applied;
    if (full || prev === undefined) await this.nft.load(this.rules.renderFull(next));
    else {
      const text = this.rules.renderPartial(prev, next);
      // Through Nft's nft session; a failure fails the sync, so the next one is a full `nft -f`.
      if (text !== undefined) await (this.nft.loadPartial?.(text) ?? this.nft.load(text));
    }
    const liveAt = this.clock.now();
    this.applied = next;
    this.needFullSync = false;
    if (full) this.lastFullSyncAt = start;
    for (const t of taken.triggerTimes)
      this.m.networkProgrammingLatency.observe(Math.max(0, liveAt - t) / 1000);
    this.m.syncProxyRulesLastTimestamp.set(liveAt / 1000);
    this.healthServer.updated();
    // Changes that came in while this sync ran still wait for the next one.
    if (!this.changes.empty) this.healthServer.queuedUpdate();
    this.log.debug(
      { full, services: taken.services, endpointSlices: taken.endpointSlices, ms: liveAt - start },
      "proxy rules synced",
    );
    this.readiness.resolve();
    const flows = staleConntrackFlows(prev?.servicePorts ?? [], next.servicePorts);
    if (flows.length > 0) await this.conntrack.clearFlows(flows);
    this.opts.onSynced?.({
      full,
      durationMs: this.clock.now() - start,
      liveAtMs: liveAt,
      triggerTimesMs: taken.triggerTimes,
    });
  }

  /**
   * Stops the informers and the runner (waiting for a sync in progress), the healthz server and
   * the nft session.
   * The table stays: the node keeps forwarding Service traffic until a new proxy takes over.
   */
  readonly stop = once(async (): Promise<void> => {
    this.stopped = true;
    if (!this.readiness.settled) this.readiness.reject(new Error("kube-proxy stopped before its first sync"));
    await Promise.all([this.services?.stop(), this.slices?.stop(), this.node?.stop()]);
    await this.runner.stop();
    await Promise.all([this.healthServer.close(), this.nft.close?.()]);
  });

  /** Removes the proxy's table (kube-proxy --cleanup); idempotent. */
  async cleanup(): Promise<void> {
    try {
      await this.nft.deleteTable("ip", this.table);
    } catch (e) {
      this.m.nftablesCleanupFailuresTotal.inc();
      throw e;
    }
  }
}
