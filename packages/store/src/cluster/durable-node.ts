/**
 * A durable member's RaftNode as `skiff store` and the test member both run it: LevelDB log under
 * <data-dir>/member/raft (the data directory 0700, as etcd's), TCP peer transport on the first
 * --listen-peer-urls (none at all when that list is empty and the cluster has this one member: the
 * API server's embedded store), wall clock, etcd's metrics, a logger with the member id, and a
 * seed that differs per member and start.
 */
import { chmodSync, mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "@skiff/component-base";
import { SeededRand } from "@skiff/raft";
import type { Registry } from "prom-client";
import { realClock } from "../raftnode/clock.js";
import { LevelDbLogStore } from "../raftnode/leveldb-logstore.js";
import { LocalTransport } from "../raftnode/local-transport.js";
import { memberLogger } from "../raftnode/logger.js";
import { NodeMetrics } from "../raftnode/metrics.js";
import { RaftNode } from "../raftnode/node.js";
import type { StateMachine } from "../raftnode/statemachine.js";
import { TcpTransport } from "../raftnode/tcp-transport.js";
import type { Transport } from "../raftnode/transport.js";
import type { StoreOptions } from "../server/flags.js";
import { listenAddress, memberPlace } from "./config.js";

/** The flags a durable member's RaftNode is built from. */
export type DurableNodeOptions = Pick<
  StoreOptions,
  | "name"
  | "dataDir"
  | "listenPeerUrls"
  | "initialCluster"
  | "initialClusterState"
  | "initialClusterToken"
  | "heartbeatMs"
  | "electionMs"
  | "snapshotCount"
  | "snapshotCatchUpEntries"
  | "logLevel"
  | "unsafeNoFsync"
>;

export interface DurableNode {
  /** Built, not started: the caller starts and stops it (stop closes the log and the transport). */
  readonly node: RaftNode;
  readonly logger: Logger;
}

/**
 * Opens the member's log and builds its node; `registry` receives the node's and the transport's
 * metrics. Throws before opening anything when the name is not in --initial-cluster.
 */
export async function openDurableNode(
  o: DurableNodeOptions,
  stateMachine: StateMachine,
  registry: Registry,
): Promise<DurableNode> {
  const place = memberPlace(o.name, o.initialCluster, o.initialClusterToken);
  const alone = o.listenPeerUrls.length === 0 && place.initialCluster.size === 1;
  const listen = listenAddress(o.listenPeerUrls[0] ?? "http://localhost:2380");
  const logger = memberLogger(place.id.toString(16), o.logLevel);
  const metrics = new NodeMetrics(registry);
  // etcd's fileutil.PrivateDirMode: the data is no other user's to read.
  mkdirSync(join(o.dataDir, "member"), { recursive: true, mode: 0o700 });
  for (const dir of [o.dataDir, join(o.dataDir, "member")]) {
    const st = statSync(dir);
    // Only a directory of ours that is not shared (sticky, as /tmp) is narrowed.
    const ours = typeof process.getuid !== "function" || st.uid === process.getuid();
    if (ours && (st.mode & 0o1000) === 0 && (st.mode & 0o077) !== 0) chmodSync(dir, 0o700);
  }
  const logStore = await LevelDbLogStore.open(join(o.dataDir, "member", "raft"));
  try {
    const transport: Transport = alone
      ? new LocalTransport()
      : new TcpTransport({
          id: place.id,
          listen,
          clusterToken: o.initialClusterToken,
          logger,
          metrics: registry,
        });
    const node = new RaftNode({
      id: place.id,
      initialCluster: place.initialCluster,
      initialClusterState: o.initialClusterState,
      logStore,
      transport,
      clock: realClock,
      stateMachine,
      // The seed only spreads election timeouts; a member's id and start time make it differ per member.
      rand: new SeededRand((place.id ^ Date.now()) >>> 0),
      heartbeatMs: o.heartbeatMs,
      electionMs: o.electionMs,
      snapshotCount: o.snapshotCount,
      snapshotCatchUpEntries: o.snapshotCatchUpEntries,
      logger,
      metrics,
      unsafeNoFsync: o.unsafeNoFsync,
    });
    return { node, logger };
  } catch (e) {
    await logStore.close();
    throw e;
  }
}
