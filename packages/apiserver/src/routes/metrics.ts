/** `/metrics`, and the per-request observation that feeds it (kube: apiserver_request_*). */
import type { FastifyInstance } from "fastify";
import type { Registry } from "prom-client";
import { ApiMetrics } from "../metrics.js";

export function installMetrics(app: FastifyInstance, registry: Registry): void {
  const metrics = new ApiMetrics(registry);
  app.addHook("onResponse", async (req, reply) => {
    metrics.observe(req.method, req.routeOptions.url ?? "", reply.statusCode, reply.elapsedTime / 1000);
  });
  app.get("/metrics", async (_req, reply) => reply.type(metrics.contentType).send(await metrics.text()));
}
