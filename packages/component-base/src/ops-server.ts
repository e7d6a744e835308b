/**
 * The operations endpoint of a component that has no HTTP server of its own (etcd's
 * --listen-metrics-urls, kube-scheduler's and kube-controller-manager's secure port): `/metrics` in
 * Prometheus text, the health endpoints of health.ts, and any extra routes the component adds
 * (etcd's `/health`).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";
import { type Health, healthPath } from "./health.js";

export type OpsRoute = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export interface OpsServerOptions {
  health: Health;
  metrics: Registry;
  /** Extra routes by exact path. */
  routes?: ReadonlyMap<string, OpsRoute>;
}

export interface OpsServer {
  /** host:port of each listener, in the order given. */
  readonly addresses: readonly string[];
  close(): Promise<void>;
}

export function opsHandler(o: OpsServerOptions): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const url = new URL(req.url ?? "/", "http://ops");
    const route = o.routes?.get(url.pathname);
    const answer = async (): Promise<void> => {
      if (route !== undefined) return route(req, res);
      if (url.pathname === "/metrics") {
        const text = await o.metrics.metrics();
        res.writeHead(200, { "content-type": o.metrics.contentType });
        res.end(text);
        return;
      }
      const h = healthPath(url.pathname);
      if (h === undefined) {
        res.writeHead(404, { "content-type": "text/plain; charset=utf-8" });
        res.end("404 page not found\n");
        return;
      }
      const a = await o.health.serve(h.endpoint, h.check, url.searchParams);
      res.writeHead(a.code, {
        "content-type": "text/plain; charset=utf-8",
        "x-content-type-options": "nosniff",
      });
      res.end(a.body);
    };
    answer().catch((e: unknown) => {
      if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain; charset=utf-8" });
      res.end(`internal server error: ${e instanceof Error ? e.message : String(e)}\n`);
    });
  };
}

/** Serves the ops endpoints on every `listen` address (host and port; port 0 picks one). */
export async function serveOps(
  listen: readonly { host: string; port: number }[],
  o: OpsServerOptions,
): Promise<OpsServer> {
  const servers: Server[] = [];
  const addresses: string[] = [];
  try {
    for (const { host, port } of listen) {
      const srv = createServer(opsHandler(o));
      await new Promise<void>((resolve, reject) => {
        srv.once("error", reject);
        srv.listen(port, host, () => resolve());
      });
      servers.push(srv);
      const a = srv.address() as AddressInfo;
      addresses.push(`${a.family === "IPv6" ? `[${a.address}]` : a.address}:${a.port}`);
    }
  } catch (e) {
    for (const s of servers) s.close();
    throw e;
  }
  return {
    addresses,
    async close() {
      await Promise.all(
        servers.map(
          (s) =>
            new Promise<void>((resolve) => {
              s.close(() => resolve());
              s.closeAllConnections();
            }),
        ),
      );
    },
  };
}
