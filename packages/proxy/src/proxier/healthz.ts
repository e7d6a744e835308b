/**
 * kube-proxy's healthz server (pkg/proxy/healthcheck ProxierHealthServer, --healthz-bind-address,
 * default 0.0.0.0:10256): the proxier reports each queued update and each finished sync; it is
 * healthy unless an update has been waiting longer than healthTimeout (kube-proxy passes twice
 * --sync-period). GET /livez says that; GET /healthz also fails while the node is being deleted
 * (nodeEligible false), so load balancers drain it. Both answer kube's JSON:
 * `{"lastUpdated": "...","currentTime": "...", "nodeEligible": true}` (livez without
 * nodeEligible), times in Go's time.Time.String() form as kube prints them.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Clock } from "@skiff/client";
import type { ProxierMetrics } from "./metrics.js";

export interface ProxierHealthServerOptions {
  /** How long an update may wait for a sync before the proxier is unhealthy. */
  healthTimeoutMs: number;
  clock: Clock;
  metrics?: Pick<ProxierMetrics, "proxyHealthzTotal" | "proxyLivezTotal">;
}

export interface ProxierHealth {
  healthy: boolean;
  /** When the last sync finished (ms since the epoch); undefined before the first. */
  lastUpdated: number | undefined;
  currentTime: number;
}

/** Go's time.Time.String() for a UTC time ("2006-01-02 15:04:05.999999999 +0000 UTC"). */
export function goTimeString(ms: number | undefined): string {
  if (ms === undefined) return "0001-01-01 00:00:00 +0000 UTC";
  const iso = new Date(ms).toISOString(); // 2006-01-02T15:04:05.123Z
  const [date, rest] = iso.split("T") as [string, string];
  const [hms, frac] = rest.replace("Z", "").split(".") as [string, string];
  const fraction = frac.replace(/0+$/, "");
  return `${date} ${hms}${fraction === "" ? "" : `.${fraction}`} +0000 UTC`;
}

export class ProxierHealthServer {
  private lastUpdatedAt: number | undefined;
  /** The oldest update queued and not yet synced; undefined when every update is synced. */
  private oldestPendingQueued: number | undefined;
  private eligible = true;
  private server: Server | undefined;

  constructor(private readonly opts: ProxierHealthServerOptions) {}

  /** An update (a Service or EndpointSlice change) waits for a sync (kube's QueuedUpdate). */
  queuedUpdate(): void {
    this.oldestPendingQueued ??= this.opts.clock.now();
  }

  /** A sync finished and covered every queued update (kube's Updated). */
  updated(): void {
    this.oldestPendingQueued = undefined;
    this.lastUpdatedAt = this.opts.clock.now();
  }

  /** The node object's state (kube's SyncNode): a node being deleted is not eligible. */
  syncNode(node: { metadata: { deletionTimestamp?: string | null } } | undefined): void {
    this.eligible = node === undefined || node.metadata.deletionTimestamp == null;
  }

  get nodeEligible(): boolean {
    return this.eligible;
  }

  /** Healthy while starting up and while synced; unhealthy once an update waits too long. */
  health(): ProxierHealth {
    const now = this.opts.clock.now();
    const waiting = this.oldestPendingQueued === undefined ? 0 : now - this.oldestPendingQueued;
    return {
      healthy: waiting < this.opts.healthTimeoutMs,
      lastUpdated: this.lastUpdatedAt,
      currentTime: now,
    };
  }

  /** The answer of GET /healthz or /livez: status code and JSON body. */
  answer(path: "/healthz" | "/livez"): { code: number; body: string } {
    const h = this.health();
    const healthz = path === "/healthz";
    const healthy = h.healthy && (!healthz || this.eligible);
    // As kube: a healthy answer reports lastUpdated as now (older releases synced periodically).
    const lastUpdated = goTimeString(healthy ? h.currentTime : h.lastUpdated);
    const currentTime = goTimeString(h.currentTime);
    const code = healthy ? 200 : 503;
    (healthz ? this.opts.metrics?.proxyHealthzTotal : this.opts.metrics?.proxyLivezTotal)?.inc({
      code: String(code),
    });
    const body = healthz
      ? `{"lastUpdated": ${JSON.stringify(lastUpdated)},"currentTime": ${JSON.stringify(currentTime)}, "nodeEligible": ${this.eligible}}`
      : `{"lastUpdated": ${JSON.stringify(lastUpdated)},"currentTime": ${JSON.stringify(currentTime)}}`;
    return { code, body };
  }

  /** Serves /healthz and /livez on host:port (port 0: any free port); resolves to the address. */
  async listen(host: string, port: number): Promise<{ host: string; port: number }> {
    if (this.server !== undefined) throw new Error("healthz server already listening");
    const server = createServer((req, res) => {
      const path = new URL(req.url ?? "/", "http://x").pathname;
      if (req.method !== "GET" && req.method !== "HEAD") {
        res.writeHead(405).end();
        return;
      }
      if (path !== "/healthz" && path !== "/livez") {
        res.writeHead(404, { "Content-Type": "text/plain; charset=utf-8" }).end("404 page not found\n");
        return;
      }
      const { code, body } = this.answer(path);
      res
        .writeHead(code, { "Content-Type": "application/json", "X-Content-Type-Options": "nosniff" })
        .end(body);
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    const a = server.address() as AddressInfo;
    return { host: a.address, port: a.port };
  }

  /** Stops listening and closes open connections. */
  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (s === undefined) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
