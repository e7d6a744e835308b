/**
 * A durable Raft member as its own process: LevelDB log, TCP peer transport, wall clock, and the
 * test key-value machine behind a small HTTP API. The multi-process tests and `pnpm bench
 * raft-node` run it; the etcd-compatible `skiff store` builds on the same RaftNode.
 *
 *   node member/main.js --name a --data-dir DIR --listen-peer-urls http://127.0.0.1:2380 \
 *     --listen-client-urls http://127.0.0.1:2379 --initial-cluster a=http://127.0.0.1:2380,...
 *
 * Prints one JSON line {"event":"ready",...} on stdout once it serves. SIGTERM stops it gracefully
 * (a leader hands over leadership first).
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { SeededRand } from "@skiff/raft";
import { Registry } from "prom-client";
import { realClock } from "../raftnode/clock.js";
import { LevelDbLogStore } from "../raftnode/leveldb-logstore.js";
import { memberLogger } from "../raftnode/logger.js";
import { NodeMetrics } from "../raftnode/metrics.js";
import { RaftNode } from "../raftnode/node.js";
import { TcpTransport } from "../raftnode/tcp-transport.js";
import { parseMemberFlags } from "./flags.js";
import { hostPort, memberId, parseInitialCluster } from "./ids.js";
import { KvStateMachine } from "./kv.js";
import { memberApi } from "./server.js";

export async function runMember(argv: readonly string[]): Promise<void> {
  const flags = parseMemberFlags(argv);
  const cluster = parseInitialCluster(flags.initialCluster);
  if (!cluster.has(flags.name)) throw new Error(`--initial-cluster has no member named "${flags.name}"`);
  const id = memberId(flags.name, flags.initialClusterToken);
  const log = memberLogger(id.toString(16), flags.logLevel);
  const registry = new Registry();
  const metrics = new NodeMetrics(registry);
  const walDir = join(flags.dataDir, "member", "raft");
  mkdirSync(join(flags.dataDir, "member"), { recursive: true });
  const logStore = await LevelDbLogStore.open(walDir);
  const transport = new TcpTransport({
    id,
    listen: hostPort(flags.listenPeerUrl),
    clusterToken: flags.initialClusterToken,
    logger: log,
    metrics: registry,
  });
  const kv = new KvStateMachine();
  const initialCluster = new Map(
    [...cluster].map(([name, url]) => [memberId(name, flags.initialClusterToken), url]),
  );
  const node = new RaftNode({
    id,
    initialCluster,
    initialClusterState: flags.initialClusterState,
    logStore,
    transport,
    clock: realClock,
    stateMachine: kv,
    // The seed only spreads election timeouts; a member's id and start time make it differ per member.
    rand: new SeededRand((id ^ Date.now()) >>> 0),
    heartbeatMs: flags.heartbeatMs,
    electionMs: flags.electionMs,
    snapshotCount: flags.snapshotCount,
    snapshotCatchUpEntries: flags.snapshotCatchUpEntries,
    logger: log,
    metrics,
    unsafeNoFsync: flags.unsafeNoFsync,
  });
  await node.start();
  let stopping = false;
  const api = memberApi(node, kv, flags.name, () => stopping);
  const client = hostPort(flags.listenClientUrl);
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
    `${JSON.stringify({ event: "ready", name: flags.name, id, client: flags.listenClientUrl })}\n`,
  );
}

const isMain = process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/\\/g, "/"));
if (isMain) {
  runMember(process.argv.slice(2)).catch((e: unknown) => {
    process.stderr.write(`member: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
