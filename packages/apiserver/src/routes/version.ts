/** `/version`: the machine's kubectl picks its bundled version by it, so Skiff says 1.32. */
import type { FastifyInstance } from "fastify";

export const KUBERNETES_VERSION = {
  major: "1",
  minor: "32",
  gitVersion: "v1.32.4-skiff",
  gitCommit: "0000000000000000000000000000000000000000",
  gitTreeState: "clean",
  buildDate: "2026-11-28T00:00:00Z",
  goVersion: "go1.23.0",
  compiler: "gc",
  platform: "linux/amd64",
};

export function installVersion(app: FastifyInstance): void {
  app.get("/version", async () => KUBERNETES_VERSION);
}
