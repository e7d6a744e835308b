/**
 * `skiff store`: Skiff's own etcd. A durable Raft member (LevelDB log under --data-dir, TCP peer
 * transport) whose state machine is the MVCC store, serving the etcd v3 gRPC API on the client
 * URLs, with etcd's flags. As a component (component-base): `start()` opens and binds, `ready`
 * settles once the member knows a leader, `stop()` drains (a leader hands leadership over first).
 * The same class runs as its own process (`runStore`) and inside the API server (no client
 * listener, peer port 0).
 */

import { join } from "node:path";
import {
  type Component,
  Health,
  type OpsRoute,
  type OpsServer,
  once,
  Readiness,
  runComponent,
  serveOps,
} from "@skiff/component-base";
import { Registry } from "prom-client";
import { MvccDisk } from "../backend/mvcc-disk.js";
import { clusterIdOf, listenAddress } from "../cluster/config.js";
import { openDurableNode } from "../cluster/durable-node.js";
import type { EtcdBackend } from "../grpc/backend.js";
import type { GrpcH2Server } from "../grpc/h2server.js";
import { createEtcdServer } from "../grpc/server.js";
import type { RaftNode } from "../raftnode/node.js";
import { StoreBackend } from "./backend.js";
import { startAutoCompaction } from "./compaction.js";
import { parseStoreFlags, type StoreOptions } from "./flags.js";
import { tuneV8 } from "./heap.js";
import { StoreStateMachine } from "./statemachine.js";
import { registerWatchMetrics } from "./watch-metrics.js";

/** How often `ready` looks for a leader until it has one. */
const leaderPollMs = 10;

export class Store implements Component {
  readonly name = "etcd";
  readonly health = new Health();
  /** etcd's metrics (etcd_server_*, etcd_disk_*, etcd_network_*), served on --listen-metrics-urls. */
  readonly metrics = new Registry();
  readonly stop: () => Promise<void>;
  private readonly readiness = new Readiness();
  private readonly publishing = new AbortController();
  private starting: Promise<void> | undefined;
  private node: RaftNode | undefined;
  private nodeStarted = false;
  private backend: StoreBackend | undefined;
  private sm: StoreStateMachine | undefined;
  private api: EtcdBackend | undefined;
  private grpc: GrpcH2Server | undefined;
  private ops: OpsServer | undefined;
  private stopCompaction: (() => void) | undefined;
  private leaderPoll: NodeJS.Timeout | undefined;

  constructor(readonly options: StoreOptions) {
    this.health.addLivez("raft", () => this.node?.failed()?.message);
    this.health.addReadyz("leader", () => (this.hasLeader() ? undefined : "no leader"));
    this.stop = once(() => this.shutdown());
  }

  get ready(): Promise<void> {
    return this.readiness.promise;
  }

  /** The etcd v3 API handlers, for callers in the same process (the API server's embedded store). */
  get etcd(): EtcdBackend {
    if (this.api === undefined) throw new Error("the store is not started");
    return this.api;
  }

  start(): Promise<void> {
    if (this.starting !== undefined) throw new Error("store: start() called twice");
    this.starting = this.open();
    return this.starting;
  }

  describe(): Record<string, unknown> {
    return { name: this.options.name, id: this.node?.id, client: this.options.advertiseClientUrls };
  }

  private hasLeader(): boolean {
    return this.node !== undefined && this.node.leader() !== 0 && this.node.failed() === undefined;
  }

  private async open(): Promise<void> {
    const o = this.options;
    const sm = new StoreStateMachine();
    this.sm = sm;
    const { node } = await openDurableNode(o, sm, this.metrics);
    // The key space on LevelDB beside the Raft log (etcd's member/snap/db beside member/wal).
    await sm.attachDisk(await MvccDisk.open(join(o.dataDir, "member", "mvcc")));
    this.node = node;
    const backend = new StoreBackend({
      node,
      sm,
      clusterId: clusterIdOf(o.initialClusterToken, o.initialCluster),
      clusterToken: o.initialClusterToken,
      quotaBackendBytes: o.quotaBackendBytes,
      maxRequestBytes: o.maxRequestBytes,
      maxTxnOps: o.maxTxnOps,
      name: o.name,
      clientURLs: o.advertiseClientUrls,
      minLeaseTTL: Math.ceil((1.5 * o.electionMs) / 1000),
      unsafeStaleReads: o.unsafeStaleReads,
      watchBatchIntervalMs: o.watchBatchIntervalMs,
    });
    this.backend = backend;
    registerWatchMetrics(this.metrics, backend.watch);
    await node.start();
    this.nodeStarted = true;
    backend.start();
    this.api = backend.backend();
    if (o.listenClientUrls.length > 0) {
      this.grpc = createEtcdServer(this.api, {
        maxRequestBytes: o.maxRequestBytes,
        transport: o.grpcHttp2 === "node" ? "node" : "wire",
      });
      for (const url of o.listenClientUrls) {
        const { host, port } = listenAddress(url);
        await this.grpc.listen(host, port);
      }
    }
    if (o.listenMetricsUrls.length > 0) {
      this.ops = await serveOps(o.listenMetricsUrls.map(listenAddress), {
        health: this.health,
        metrics: this.metrics,
        routes: new Map([["/health", this.etcdHealth]]),
      });
    }
    void backend.publish(this.publishing.signal);
    this.stopCompaction = startAutoCompaction(o, node, sm, backend);
    this.awaitLeader(node);
  }

  /** etcd's /health: {"health":"true"} once the member has a leader and has not failed. */
  private readonly etcdHealth: OpsRoute = (_req, res) => {
    const ok = this.hasLeader();
    res.writeHead(ok ? 200 : 503, { "content-type": "application/json" });
    res.end(JSON.stringify({ health: ok ? "true" : "false" }));
  };

  private awaitLeader(node: RaftNode): void {
    const check = () => {
      const failed = node.failed();
      if (failed !== undefined) this.readiness.reject(failed);
      else if (node.leader() !== 0) this.readiness.resolve();
      else return;
      clearInterval(this.leaderPoll);
    };
    this.leaderPoll = setInterval(check, leaderPollMs);
    this.leaderPoll.unref();
    check();
  }

  /** Stops taking requests, hands leadership over, lets what is in flight finish, then closes. */
  private async shutdown(): Promise<void> {
    await this.starting?.catch(() => undefined);
    clearInterval(this.leaderPoll);
    if (!this.readiness.settled)
      this.readiness.reject(new Error("the store stopped before it knew a leader"));
    this.publishing.abort();
    this.stopCompaction?.();
    await this.grpc?.tryShutdown();
    await this.node?.stop({ transfer: this.nodeStarted });
    this.grpc?.forceShutdown();
    this.backend?.stop();
    await this.sm?.close();
    await this.ops?.close();
  }
}

/** The `skiff store` command: serves until SIGTERM or SIGINT; resolves to the exit code. */
export async function runStore(argv: readonly string[]): Promise<number> {
  const options = parseStoreFlags(argv);
  tuneV8();
  return runComponent(new Store(options));
}
