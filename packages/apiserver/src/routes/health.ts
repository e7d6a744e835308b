/** kube-apiserver's health checks: open to anyone (no credentials), plain "ok". */
import type { FastifyInstance } from "fastify";

export const HEALTH_PATHS: ReadonlySet<string> = new Set(["/healthz", "/livez", "/readyz"]);

export function installHealth(app: FastifyInstance): void {
  for (const p of HEALTH_PATHS) app.get(p, async (_req, reply) => reply.type("text/plain").send("ok"));
}
