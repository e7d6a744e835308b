/**
 * `skiff store`: Skiff's own etcd. A durable Raft member (LevelDB log under --data-dir, TCP peer
 * transport) whose state machine is the MVCC store, serving the etcd v3 gRPC API on the client
 * URLs, with etcd's flags. Prints one JSON line {"event":"ready",...} on stdout once it serves;
 * SIGTERM stops it gracefully (a leader hands leadership over first).
 */
import { createHash } from "node:crypto";
import { mkdirSync } from "node:fs";
import { createServer, type Server as HttpServer } from "node:http";
import { join } from "node:path";
import { SeededRand } from "@skiff/raft";
import { Registry } from "prom-client";
import type { EtcdBackend } from "../grpc/backend.js";
import { createEtcdServer } from "../grpc/server.js";
import { hostPort, memberIdFromPeerUrls, parseInitialCluster } from "../member/ids.js";
import { realClock } from "../raftnode/clock.js";
import { LevelDbLogStore } from "../raftnode/leveldb-logstore.js";
import { memberLogger } from "../raftnode/logger.js";
import { NodeMetrics } from "../raftnode/metrics.js";
import { RaftNode } from "../raftnode/node.js";
import { TcpTransport } from "../raftnode/tcp-transport.js";
import { StoreBackend } from "./backend.js";
import { parseStoreFlags } from "./flags.js";
import { tuneV8 } from "./heap.js";
import { StoreStateMachine } from "./statemachine.js";

export interface RunningStore {
  readonly node: RaftNode;
  /** The etcd v3 API handlers, for callers in the same process (the API server's embedded store). */
  readonly etcd: EtcdBackend;
  stop(): Promise<void>;
}

export function clusterIdOf(token: string, initialCluster: string): bigint {
  const h = createHash("sha256")
    .update(`${token}/${initialCluster.split(",").sort().join(",")}`)
    .digest();
  return h.readBigUInt64BE(0) >> 1n;
}

export async function startStore(argv: readonly string[]): Promise<RunningStore> {
  const flags = parseStoreFlags(argv);
  const cluster = parseInitialCluster(flags.initialCluster);
  if (!cluster.has(flags.name)) {
    throw new Error(`couldn't find local name "${flags.name}" in the initial cluster configuration`);
  }
  const ownPeerUrl = cluster.get(flags.name) as string;
  const id = memberIdFromPeerUrls([ownPeerUrl], flags.initialClusterToken);
  const log = memberLogger(id.toString(16), flags.logLevel);
  const registry = new Registry();
  const metrics = new NodeMetrics(registry);
  mkdirSync(join(flags.dataDir, "member"), { recursive: true });
  const logStore = await LevelDbLogStore.open(join(flags.dataDir, "member", "raft"));
  const peerListen = hostPort(flags.listenPeerUrls[0] ?? "http://localhost:2380");
  const transport = new TcpTransport({
    id,
    listen: peerListen,
    clusterToken: flags.initialClusterToken,
    logger: log,
    metrics: registry,
  });
  const sm = new StoreStateMachine();
  const initialCluster = new Map(
    [...cluster.values()].map((url) => [memberIdFromPeerUrls([url], flags.initialClusterToken), url]),
  );
  const node = new RaftNode({
    id,
    initialCluster,
    initialClusterState: flags.initialClusterState,
    logStore,
    transport,
    clock: realClock,
    stateMachine: sm,
    rand: new SeededRand((id ^ Date.now()) >>> 0),
    heartbeatMs: flags.heartbeatMs,
    electionMs: flags.electionMs,
    snapshotCount: flags.snapshotCount,
    snapshotCatchUpEntries: flags.snapshotCatchUpEntries,
    logger: log,
    metrics,
    unsafeNoFsync: flags.unsafeNoFsync,
  });
  const backend = new StoreBackend({
    node,
    sm,
    clusterId: clusterIdOf(flags.initialClusterToken, flags.initialCluster),
    clusterToken: flags.initialClusterToken,
    quotaBackendBytes: flags.quotaBackendBytes,
    maxRequestBytes: flags.maxRequestBytes,
    maxTxnOps: flags.maxTxnOps,
    name: flags.name,
    clientURLs: flags.advertiseClientUrls,
    minLeaseTTL: Math.ceil((1.5 * flags.electionMs) / 1000),
    unsafeStaleReads: flags.unsafeStaleReads,
    watchBatchIntervalMs: flags.watchBatchIntervalMs,
  });
  await node.start();
  backend.start();
  const etcd = backend.backend();
  const grpcServer = createEtcdServer(etcd, {
    maxRequestBytes: flags.maxRequestBytes,
    transport: flags.grpcHttp2 === "node" ? "node" : "wire",
  });
  for (const url of flags.listenClientUrls) {
    const { host, port } = hostPort(url);
    await grpcServer.listen(host, port);
  }
  const metricsServers: HttpServer[] = [];
  for (const url of flags.listenMetricsUrls) {
    const { host, port } = hostPort(url);
    const srv = createServer((req, res) => {
      if (req.url === "/metrics") {
        registry.metrics().then((text) => {
          res.writeHead(200, { "content-type": registry.contentType });
          res.end(text);
        });
      } else if (req.url === "/health") {
        const ok = node.leader() !== 0 && node.failed() === undefined;
        res.writeHead(ok ? 200 : 503, { "content-type": "application/json" });
        res.end(JSON.stringify({ health: ok ? "true" : "false" }));
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((resolve) => srv.listen(port, host, () => resolve()));
    metricsServers.push(srv);
  }
  const publishing = new AbortController();
  void backend.publish(publishing.signal);
  const stopCompaction = startAutoCompaction(flags, node, sm, backend);
  return {
    node,
    etcd,
    async stop() {
      publishing.abort();
      stopCompaction();
      await grpcServer.tryShutdown();
      await node.stop({ transfer: true });
      grpcServer.forceShutdown();
      backend.stop();
      for (const s of metricsServers) s.close();
    },
  };
}

/** etcd's --auto-compaction-*: periodic (keep this much time of history) or revision (keep N revisions). */
function startAutoCompaction(
  flags: ReturnType<typeof parseStoreFlags>,
  node: RaftNode,
  sm: StoreStateMachine,
  backend: StoreBackend,
): () => void {
  const retention = flags.autoCompactionRetention;
  if (retention === "0" || retention === "") return () => {};
  let periodMs: number;
  if (flags.autoCompactionMode === "revision") periodMs = 5 * 60 * 1000;
  else {
    const m = /^(\d+)(h|m|s)?$/.exec(retention);
    if (m === null) throw new Error(`invalid value "${retention}" for flag --auto-compaction-retention`);
    const unit = m[2] === "s" ? 1000 : m[2] === "m" ? 60_000 : 3_600_000;
    periodMs = Number(m[1]) * unit;
  }
  let previous = 0;
  const timer = setInterval(() => {
    if (!node.isLeader()) return;
    const target = flags.autoCompactionMode === "revision" ? sm.mvcc.revision - Number(retention) : previous;
    previous = sm.mvcc.revision;
    if (target > 0 && target > sm.mvcc.compacted)
      void backend.propose({ op: "compact", revision: target }).catch(() => undefined);
  }, periodMs);
  timer.unref();
  return () => clearInterval(timer);
}

export async function runStore(argv: readonly string[]): Promise<number> {
  tuneV8();
  const store = await startStore(argv);
  const flags = parseStoreFlags(argv);
  let stopping = false;
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    await store.stop();
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown());
  process.on("SIGINT", () => void shutdown());
  process.stdout.write(
    `${JSON.stringify({ event: "ready", name: flags.name, id: store.node.id, client: flags.advertiseClientUrls })}\n`,
  );
  return new Promise<number>(() => {}); // serves until a signal
}
