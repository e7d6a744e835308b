/**
 * A durable Raft member as its own process: LevelDB log, TCP peer transport, wall clock, and the
 * test key-value machine behind a small HTTP API. The multi-process tests and `pnpm bench
 * raft-node` run it (`@skiff/store/member`); `skiff store` builds the same RaftNode
 * (cluster/durable-node.ts) under the etcd v3 API.
 *
 *   node member/main.js --name a --data-dir DIR --listen-peer-urls http://127.0.0.1:2380 \
 *     --listen-client-urls http://127.0.0.1:2379 --initial-cluster a=http://127.0.0.1:2380,...
 *
 * It takes `skiff store`'s flags (server/flags.ts), with their defaults, and uses those that build
 * the node (cluster/durable-node.ts) plus the first --listen-client-urls, where its HTTP API
 * listens; it accepts the others and ignores them.
 *
 * Prints one JSON line {"event":"ready",...} on stdout once it serves. SIGTERM stops it gracefully
 * (a leader hands over leadership first).
 */
import { Registry } from "prom-client";
import { listenAddress } from "../cluster/config.js";
import { openDurableNode } from "../cluster/durable-node.js";
import { parseStoreFlags } from "../server/flags.js";
import { KvStateMachine } from "./kv.js";
import { memberApi } from "./server.js";

export async function runMember(argv: readonly string[]): Promise<void> {
  const flags = parseStoreFlags(argv);
  const kv = new KvStateMachine();
  const { node, logger: log } = await openDurableNode(flags, kv, new Registry());
  await node.start();
  let stopping = false;
  const api = memberApi(node, kv, flags.name, () => stopping);
  const clientUrl = flags.listenClientUrls[0] ?? "http://localhost:2379";
  const client = listenAddress(clientUrl);
  await new Promise<void>((resolve, reject) => {
    api.once("error", reject);
    api.listen(client.port, client.host, () => resolve());
  });
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    log.info({ term: node.term() }, "received SIGTERM: stopping");
    // Stop taking connections, hand leadership over, let in-flight requests finish, then go.
    const closed = new Promise<void>((resolve) => api.close(() => resolve()));
    await node.stop({ transfer: true });
    api.closeAllConnections();
    await closed;
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown());
  process.on("SIGINT", () => void shutdown());
  process.stdout.write(
    `${JSON.stringify({ event: "ready", name: flags.name, id: node.id, client: clientUrl })}\n`,
  );
}

const isMain = process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/\\/g, "/"));
if (isMain) {
  runMember(process.argv.slice(2)).catch((e: unknown) => {
    process.stderr.write(`member: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
