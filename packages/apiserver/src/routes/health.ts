/**
 * kube-apiserver's health endpoints: /livez, /readyz, /healthz and /<endpoint>/<check>, with
 * ?verbose and ?exclude (component-base's Health). Open to anyone (no credentials), as
 * kube-apiserver serves them to anonymous probes.
 */
import { type Health, healthPath } from "@skiff/component-base";
import type { FastifyInstance } from "fastify";

/** Whether a path is one of the health endpoints (the filters let these through unauthenticated). */
export function isHealthPath(path: string): boolean {
  return healthPath(path) !== undefined;
}

export function installHealth(app: FastifyInstance, health: Health): void {
  const serve = async (path: string, search: string) => {
    const h = healthPath(path);
    if (h === undefined) throw new Error(`not a health path: ${path}`);
    return health.serve(h.endpoint, h.check, new URLSearchParams(search));
  };
  for (const endpoint of ["/livez", "/readyz", "/healthz"]) {
    const handler = async (req: { url: string }, reply: import("fastify").FastifyReply) => {
      const q = req.url.indexOf("?");
      const path = q < 0 ? req.url : req.url.slice(0, q);
      const a = await serve(path, q < 0 ? "" : req.url.slice(q + 1));
      return reply
        .code(a.code)
        .header("x-content-type-options", "nosniff")
        .type("text/plain; charset=utf-8")
        .send(a.body);
    };
    app.get(endpoint, handler);
    app.get(`${endpoint}/:check`, handler);
  }
}
