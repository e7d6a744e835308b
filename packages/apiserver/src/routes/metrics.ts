/** `/metrics`, and the per-request observation that feeds it (kube: apiserver_request_*). */
import type { FastifyInstance } from "fastify";
import { ApiMetrics } from "../metrics.js";

export function installMetrics(app: FastifyInstance): void {
  const metrics = new ApiMetrics();
  app.addHook("onResponse", async (req, reply) => {
    metrics.observe(req.method, req.routeOptions.url ?? "", reply.statusCode, reply.elapsedTime / 1000);
  });
  app.get("/metrics", async (_req, reply) => reply.type(metrics.contentType).send(await metrics.text()));
}
