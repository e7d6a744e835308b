/**
 * OpenAPI v3 (`kubectl explain`, client-side validation): an index, and one document per
 * group-version generated from packages/api once at start, each with its hash as ETag.
 */
import { createHash } from "node:crypto";
import { type GroupVersion, openApiDocument, openApiIndex, type Registry } from "@skiff/api";
import type { FastifyInstance } from "fastify";
import { pathNotFound } from "../status.js";
import { KUBERNETES_VERSION } from "./version.js";

const gvKey = (gv: GroupVersion) =>
  gv.group === "" ? `api/${gv.version}` : `apis/${gv.group}/${gv.version}`;

export function installOpenApi(app: FastifyInstance, registry: Registry): void {
  const openapi = new Map<string, { doc: string; hash: string }>();
  for (const gv of registry.groupVersions()) {
    const doc = JSON.stringify(openApiDocument(gv, KUBERNETES_VERSION.gitVersion));
    openapi.set(gvKey(gv), {
      doc,
      hash: createHash("sha512").update(doc).digest("hex").slice(0, 128).toUpperCase(),
    });
  }
  app.get("/openapi/v3", async () =>
    openApiIndex(registry.groupVersions(), (gv) => openapi.get(gvKey(gv))?.hash ?? ""),
  );
  app.get("/openapi/v3/*", async (req, reply) => {
    const key = (req.params as { "*": string })["*"];
    const d = openapi.get(key);
    if (d === undefined) throw pathNotFound();
    return reply.type("application/json").header("etag", `"${d.hash}"`).send(d.doc);
  });
}
