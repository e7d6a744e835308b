/**
 * The discovery documents kubectl reads first: /api and /apis (aggregated discovery v2 when the
 * client asks for it), /api/v1 and /apis/<group>/<version> (APIResourceList). Built by discovery.ts.
 */
import type { Registry } from "@skiff/api";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import {
  AGGREGATED_TYPE,
  aggregated,
  apiGroupList,
  apiResourceList,
  apiVersions,
  wantsAggregated,
} from "../discovery.js";
import { pathNotFound } from "../status.js";

export function installDiscovery(app: FastifyInstance, registry: Registry): void {
  const root = (legacy: boolean) => async (req: FastifyRequest, reply: FastifyReply) => {
    if (wantsAggregated(req.headers.accept))
      return reply
        .type(AGGREGATED_TYPE)
        .header("vary", "Accept")
        .send(Buffer.from(JSON.stringify(aggregated(registry, legacy)))); // a Buffer: fastify keeps the type as is
    return legacy ? apiVersions() : apiGroupList(registry);
  };
  app.get("/api", root(true));
  app.get("/apis", root(false));
  app.get("/api/v1", async () => apiResourceList(registry, "", "v1") ?? Promise.reject(pathNotFound()));
  app.get<{ Params: { group: string; version: string } }>("/apis/:group/:version", async (req) => {
    const doc = apiResourceList(registry, req.params.group, req.params.version);
    if (doc === undefined) throw pathNotFound();
    return doc;
  });
}
