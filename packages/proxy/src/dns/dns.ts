/**
 * ClusterDns: the cluster DNS of one node, run by every agent for its own node's pods (in place
 * of a CoreDNS Deployment with the kubernetes plugin). Informers on Services and EndpointSlices
 * (all namespaces) feed the answers (cache.ts, records.ts); queries arrive through the node
 * gateway's unix sockets (transport.ts) or, with `listen`, on a plain host and port; the
 * `kube-dns` Service and this node's EndpointSlice are kept as they should be (kube-dns.ts), on
 * start, on any change to them, and every resync period. Metrics carry CoreDNS's names.
 */
import { type ClientInterface, Informer } from "@skiff/client";
import { type Component, Health, type Logger, Readiness, silentLogger } from "@skiff/component-base";
import { Counter, Histogram, Registry } from "prom-client";
import type { EndpointSlice, Service } from "../api-types.js";
import { DnsCache } from "./cache.js";
import type { ClientAddress } from "./framing.js";
import { KUBE_DNS_NAMESPACE, KUBE_DNS_SERVICE, kubeDnsSliceName, syncKubeDns } from "./kube-dns.js";
import { type DnsTransport, serveQuery } from "./server.js";
import { type DnsListener, DnsSocketServer, listenTcp, listenUdp } from "./transport.js";

export interface ClusterDnsOptions {
  client: ClientInterface;
  /** This node: its EndpointSlice is kube-dns-<nodeName>. */
  nodeName: string;
  /** The zone served; default cluster.local (the kubelet's --cluster-domain). */
  clusterDomain?: string;
  /** The kube-dns Service's ClusterIP; default 10.96.0.10 (the kubelet's --cluster-dns). */
  clusterDNS?: string;
  /** The node gateway's UDP frame socket. */
  udpSocketPath?: string;
  /** The node gateway's TCP socket (PROXY v1 line first). */
  tcpSocketPath?: string;
  /** Plain DNS over UDP and TCP on this address (--host-network, tests); port 0: any free one. */
  listen?: { host: string; port: number };
  /** The node IP for the EndpointSlice; default the Node's InternalIP (waited for). */
  nodeIP?: () => string | undefined;
  /** Whether to keep the kube-dns Service and this node's EndpointSlice; default true. */
  manageKubeDns?: boolean;
  logger?: Logger;
  /** Level-triggered re-check of the kube-dns objects; default 30 s. */
  resyncPeriodMs?: number;
  /** First retry delay after a failed or waiting sync, doubling up to the resync period; default 1 s. */
  retryPeriodMs?: number;
}

export const DEFAULT_CLUSTER_DOMAIN = "cluster.local";
export const DEFAULT_CLUSTER_DNS = "10.96.0.10";
/** The server label of CoreDNS's metrics (its listen address). */
const SERVER_LABEL = "dns://:53";

export class ClusterDns implements Component {
  readonly name = "dns";
  readonly health = new Health();
  readonly metrics = new Registry();
  private readonly readiness = new Readiness();
  readonly ready = this.readiness.promise;
  private readonly log: Logger;
  private readonly clusterDomain: string;
  private readonly clusterDNS: string;
  private readonly services: Informer<Service>;
  private readonly slices: Informer<EndpointSlice>;
  private readonly cache: DnsCache;
  private readonly sockets: DnsSocketServer;
  private listeners: DnsListener[] = [];
  private readonly requests: Counter;
  private readonly responses: Counter;
  private readonly duration: Histogram;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private timerDue = 0;
  private syncing: Promise<void> | undefined;
  private syncAgain = false;
  private retryMs: number;

  constructor(private readonly opts: ClusterDnsOptions) {
    this.log = opts.logger ?? silentLogger;
    this.clusterDomain = (opts.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN).replace(/\.$/, "");
    this.clusterDNS = opts.clusterDNS ?? DEFAULT_CLUSTER_DNS;
    this.retryMs = opts.retryPeriodMs ?? 1000;
    const onError = (e: unknown) => this.log.warn({ err: String(e) }, "DNS informer error");
    this.services = new Informer<Service>(opts.client.resource<Service>("v1", "services"), { onError });
    this.slices = new Informer<EndpointSlice>(
      opts.client.resource<EndpointSlice>("discovery.k8s.io/v1", "endpointslices"),
      { onError },
    );
    this.cache = new DnsCache(this.services, this.slices, {
      clusterDomain: this.clusterDomain,
      nameserverIP: this.clusterDNS,
    });
    this.sockets = new DnsSocketServer({
      udpSocketPath: opts.udpSocketPath,
      tcpSocketPath: opts.tcpSocketPath,
      handler: (q, t, c) => this.handle(q, t, c),
      logger: this.log,
    });
    this.requests = new Counter({
      name: "coredns_dns_requests_total",
      help: "Counter of DNS requests made per zone, protocol and family.",
      labelNames: ["server", "zone", "proto", "family", "type"],
      registers: [this.metrics],
    });
    this.responses = new Counter({
      name: "coredns_dns_responses_total",
      help: "Counter of response status codes.",
      labelNames: ["server", "zone", "rcode"],
      registers: [this.metrics],
    });
    this.duration = new Histogram({
      name: "coredns_dns_request_duration_seconds",
      help: "Histogram of the time (in seconds) each request took per zone.",
      labelNames: ["server", "zone", "type"],
      // CoreDNS's buckets: prometheus.ExponentialBuckets(0.00025, 2, 16).
      buckets: Array.from({ length: 16 }, (_, i) => 0.00025 * 2 ** i),
      registers: [this.metrics],
    });
    this.health.addReadyz("informer-sync", () =>
      this.services.hasSynced() && this.slices.hasSynced()
        ? undefined
        : "Service and EndpointSlice caches not synced",
    );
  }

  /** The DnsStore the answers come from (the informers' caches). */
  get store(): DnsCache {
    return this.cache;
  }

  /** One query, measured as CoreDNS's metrics plugin does. */
  private handle(query: Buffer, transport: DnsTransport, client: ClientAddress): Buffer | undefined {
    const start = performance.now();
    const out = serveQuery(query, this.cache, { transport });
    const type = out.qtype ?? "other";
    const family = client.address.includes(":") ? "2" : "1";
    const zone = `${this.clusterDomain}.`;
    this.requests.inc({ server: SERVER_LABEL, zone, proto: transport, family, type });
    if (out.rcode !== undefined) this.responses.inc({ server: SERVER_LABEL, zone, rcode: out.rcode });
    this.duration.observe({ server: SERVER_LABEL, zone, type }, (performance.now() - start) / 1000);
    return out.reply;
  }

  async start(): Promise<void> {
    if (this.opts.manageKubeDns !== false) this.watchKubeDnsObjects();
    this.services.start();
    this.slices.start();
    await this.sockets.listen();
    const l = this.opts.listen;
    if (l !== undefined) {
      const handler = (q: Buffer, t: DnsTransport, c: ClientAddress) => this.handle(q, t, c);
      this.listeners.push(await listenUdp(l.host, l.port, handler, this.log));
      this.listeners.push(await listenTcp(l.host, l.port, handler, { logger: this.log }));
    }
    void (async () => {
      const synced = (await this.services.waitForSync()) && (await this.slices.waitForSync());
      if (!synced) {
        this.readiness.reject(new Error("DNS stopped before its caches synced"));
        return;
      }
      this.readiness.resolve();
      if (this.opts.manageKubeDns !== false) this.schedule(0);
    })();
  }

  /** The plain listeners' addresses (udp first, then tcp), when `listen` is set. */
  listenAddresses(): { udp?: string; tcp?: string } {
    const [udp, tcp] = this.listeners.map((l) => `${l.address().address}:${l.address().port}`);
    return { udp, tcp };
  }

  describe(): Record<string, unknown> {
    return {
      clusterDomain: this.clusterDomain,
      clusterDNS: this.clusterDNS,
      udpSocket: this.opts.udpSocketPath,
      tcpSocket: this.opts.tcpSocketPath,
      ...this.listenAddresses(),
    };
  }

  /** A change to the kube-dns Service or this node's slice (or their deletion) means a sync now. */
  private watchKubeDnsObjects(): void {
    const sliceKey = `${KUBE_DNS_NAMESPACE}/${kubeDnsSliceName(this.opts.nodeName)}`;
    const serviceKey = `${KUBE_DNS_NAMESPACE}/${KUBE_DNS_SERVICE}`;
    const ours = (o: { metadata: { namespace: string; name: string } }, key: string) =>
      `${o.metadata.namespace}/${o.metadata.name}` === key;
    const onChange = (key: string) => ({
      onUpdate: (_: Service | EndpointSlice, o: Service | EndpointSlice) => {
        if (ours(o, key)) this.schedule(0);
      },
      onDelete: (o: Service | EndpointSlice) => {
        if (ours(o, key)) this.schedule(0);
      },
    });
    this.services.addEventHandler(onChange(serviceKey));
    this.slices.addEventHandler(onChange(sliceKey));
  }

  /** Runs a sync after ms, unless one is already due sooner. */
  private schedule(ms: number): void {
    if (this.stopped) return;
    const due = Date.now() + ms;
    if (this.timer !== undefined && this.timerDue <= due) return;
    clearTimeout(this.timer);
    this.timerDue = due;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.runSync();
    }, ms);
  }

  private runSync(): void {
    if (this.syncing !== undefined) {
      this.syncAgain = true;
      return;
    }
    const resync = this.opts.resyncPeriodMs ?? 30_000;
    this.syncing = (async () => {
      let next: number;
      try {
        const result = await syncKubeDns({
          client: this.opts.client,
          nodeName: this.opts.nodeName,
          clusterDNS: this.clusterDNS,
          nodeIP: this.opts.nodeIP,
          services: this.services,
          slices: this.slices,
          logger: this.log,
        });
        if (result === "synced") {
          this.retryMs = this.opts.retryPeriodMs ?? 1000;
          next = resync;
        } else {
          next = this.retryMs;
          this.retryMs = Math.min(this.retryMs * 2, resync);
        }
      } catch (e) {
        this.log.warn({ err: String(e), node: this.opts.nodeName }, "kube-dns sync failed");
        next = this.retryMs;
        this.retryMs = Math.min(this.retryMs * 2, resync);
      }
      this.syncing = undefined;
      if (this.syncAgain) {
        this.syncAgain = false;
        next = 0;
      }
      this.schedule(next);
    })();
  }

  readonly stop = async (): Promise<void> => {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.syncing;
    await Promise.all([this.services.stop(), this.slices.stop()]);
    await this.sockets.close();
    await Promise.all(this.listeners.map((l) => l.close()));
    this.listeners = [];
    if (!this.readiness.settled) this.readiness.reject(new Error("DNS stopped"));
  };
}
