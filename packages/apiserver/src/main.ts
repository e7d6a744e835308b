/**
 * `skiff server [flags]`: kube-apiserver as its own process (runComponent: a ready line once it
 * serves, SIGTERM or SIGINT stops it with draining), and `startServer` for callers that run it
 * inside their own process (tests, tools).
 */
import { type Logger, runComponent } from "@skiff/component-base";
import { KubeApiServer } from "./kube-apiserver.js";
import { parseServerFlags } from "./options.js";

/** Starts an API server from its flags and resolves once it serves; `log` gets the ready line. */
export async function startServer(
  argv: readonly string[],
  log: (line: string) => void,
  logger?: Logger,
): Promise<KubeApiServer> {
  const server = new KubeApiServer(parseServerFlags(argv), logger);
  try {
    await server.start();
    await server.ready;
  } catch (e) {
    await server.stop();
    throw e;
  }
  log(JSON.stringify({ event: "ready", component: server.name, ...server.describe() }));
  return server;
}

/** The command: serves until SIGTERM or SIGINT, then stops cleanly; resolves to the exit code. */
export async function runServer(argv: readonly string[]): Promise<number> {
  return runComponent(new KubeApiServer(parseServerFlags(argv)));
}
