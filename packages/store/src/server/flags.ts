/**
 * `skiff store` flags: etcd's names and defaults, so that it can replace the etcd binary in
 * scripts. Unknown flags are an error in etcd's words. Both `--flag value` and `--flag=value` work.
 * One FlagSet gives the parser and `skiff store --help`; the test member (member/main.ts) takes
 * the same flags.
 */
import { FlagError, FlagSet, invalidFlag, listFlag, logLevels } from "@skiff/component-base";

/** A store member's typed options: what `new Store(options)` takes. */
export interface StoreOptions {
  name: string;
  dataDir: string;
  /** Where to serve the etcd v3 gRPC API; empty: no listener (a store embedded in another process). */
  listenClientUrls: string[];
  advertiseClientUrls: string[];
  /** The first is the peer listener; port 0 picks a free port (a single-member cluster only). */
  listenPeerUrls: string[];
  initialAdvertisePeerUrls: string[];
  initialCluster: string;
  initialClusterState: "new" | "existing";
  initialClusterToken: string;
  heartbeatMs: number;
  electionMs: number;
  snapshotCount: number;
  snapshotCatchUpEntries: number;
  quotaBackendBytes: number;
  maxRequestBytes: number;
  maxTxnOps: number;
  autoCompactionRetention: string;
  autoCompactionMode: "periodic" | "revision";
  listenMetricsUrls: string[];
  logLevel: string;
  unsafeNoFsync: boolean;
  /**
   * Which HTTP/2 implementation serves gRPC: Skiff's own ("skiff", grpc/h2wire/) or node:http2
   * ("node", the fallback: more CPU per call).
   */
  grpcHttp2: "skiff" | "node";
  /**
   * The longest a Watch stream with many busy watchers holds live events to send each watcher
   * several revisions per response (ms; 0: every revision at once). See server/watch.ts.
   */
  watchBatchIntervalMs: number;
  /** Test-only broken build: linearizable reads served locally without ReadIndex (jepsen-lite). */
  unsafeStaleReads: boolean;
}

export const storeFlags = new FlagSet(
  {
    name: { type: "string", default: "default", usage: "Human-readable name for this member." },
    "data-dir": { type: "string", usage: 'Path to the data directory (default "<name>.etcd").' },
    "listen-client-urls": {
      type: "string",
      default: "http://localhost:2379",
      usage: "List of URLs to listen on for client traffic (empty: serve no gRPC listener).",
    },
    "advertise-client-urls": {
      type: "string",
      default: "http://localhost:2379",
      usage: "List of this member's client URLs to advertise to the rest of the cluster.",
    },
    "listen-peer-urls": {
      type: "string",
      default: "http://localhost:2380",
      usage:
        "List of URLs to listen on for peer traffic (port 0: any free port, single-member cluster only).",
    },
    "initial-advertise-peer-urls": {
      type: "string",
      default: "http://localhost:2380",
      usage: "List of this member's peer URLs to advertise to the rest of the cluster.",
    },
    "initial-cluster": {
      type: "string",
      usage:
        'Initial cluster configuration for bootstrapping (default "<name>=<initial advertise peer URL>").',
    },
    "initial-cluster-state": {
      type: "string",
      default: "new",
      usage: "Initial cluster state ('new' or 'existing').",
    },
    "initial-cluster-token": {
      type: "string",
      default: "etcd-cluster",
      usage: "Initial cluster token for the etcd cluster during bootstrap.",
    },
    "heartbeat-interval": {
      type: "string",
      default: "100",
      usage: "Time (in milliseconds) of a heartbeat interval.",
    },
    "election-timeout": {
      type: "string",
      default: "1000",
      usage: "Time (in milliseconds) for an election to timeout.",
    },
    // etcd 3.6's default (3.4: 100,000): the Raft log between snapshots is held in memory, and a
    // snapshot of a store on disk costs a flush, not a copy of the data.
    "snapshot-count": {
      type: "string",
      default: "10000",
      usage: "Number of committed transactions to trigger a snapshot to disk.",
    },
    "experimental-snapshot-catchup-entries": {
      type: "string",
      default: "5000",
      usage: "Number of entries for a slow follower to catch up after compacting the raft storage entries.",
    },
    "quota-backend-bytes": {
      type: "string",
      default: "0",
      usage: "Raise alarms when backend size exceeds the given quota (0: the default, 2 GiB).",
    },
    "max-request-bytes": {
      type: "string",
      default: String(1.5 * 1024 * 1024),
      usage: "Maximum client request size in bytes the server will accept.",
    },
    "max-txn-ops": {
      type: "string",
      default: "128",
      usage: "Maximum number of operations permitted in a transaction.",
    },
    "auto-compaction-retention": {
      type: "string",
      default: "0",
      usage:
        "Auto compaction retention (periodic: hours or a duration such as 30m; revision: a count). 0 disables it.",
    },
    "auto-compaction-mode": {
      type: "string",
      default: "periodic",
      usage: "Interpret 'auto-compaction-retention' one of: periodic|revision.",
    },
    "listen-metrics-urls": {
      type: "string",
      default: "",
      usage: "List of URLs to serve /metrics, /health, /livez and /readyz on.",
    },
    "log-level": {
      type: "string",
      default: "info",
      usage: `Configures log level. One of ${logLevels.join(", ")}.`,
    },
    "grpc-http2": {
      type: "string",
      default: "skiff",
      usage: "HTTP/2 implementation that serves gRPC: 'skiff' (Skiff's own) or 'node' (node:http2).",
    },
    "experimental-watch-batch-interval": {
      type: "string",
      default: "100",
      usage:
        "Longest time (ms) a busy Watch stream holds live events to batch them (0: each revision at once).",
    },
    "unsafe-no-fsync": {
      type: "boolean",
      default: false,
      usage: "Disables fsync, unsafe, will cause data loss.",
    },
    "unsafe-stale-reads": {
      type: "boolean",
      default: false,
      usage: "Test only: serve linearizable reads without ReadIndex (a deliberately broken build).",
    },
  },
  "etcd",
);

function positive(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw invalidFlag(flag, v, "must be a positive integer");
  return n;
}

export function parseStoreFlags(argv: readonly string[]): StoreOptions {
  const { values } = storeFlags.parse(argv);
  const name = values.name;
  const state = values["initial-cluster-state"];
  if (state !== "new" && state !== "existing") throw invalidFlag("initial-cluster-state", state);
  const mode = values["auto-compaction-mode"];
  if (mode !== "periodic" && mode !== "revision") throw invalidFlag("auto-compaction-mode", mode);
  const http2 = values["grpc-http2"];
  if (http2 !== "skiff" && http2 !== "node") throw invalidFlag("grpc-http2", http2);
  const logLevel = values["log-level"];
  if (!(logLevels as readonly string[]).includes(logLevel))
    throw invalidFlag("log-level", logLevel, `must be one of ${logLevels.join(", ")}`);
  const peerUrls = listFlag(values["initial-advertise-peer-urls"]);
  const quota = Number(values["quota-backend-bytes"]);
  if (!Number.isInteger(quota) || quota < 0)
    throw invalidFlag("quota-backend-bytes", values["quota-backend-bytes"]);
  const batchFlag = values["experimental-watch-batch-interval"];
  const batch = Number(batchFlag);
  if (!Number.isInteger(batch) || batch < 0 || batch > 10_000)
    throw invalidFlag(
      "experimental-watch-batch-interval",
      batchFlag,
      "must be an integer from 0 to 10000 (ms)",
    );
  const heartbeatMs = positive("heartbeat-interval", values["heartbeat-interval"]);
  const electionMs = positive("election-timeout", values["election-timeout"]);
  if (electionMs < 5 * heartbeatMs) {
    throw new FlagError(
      `--election-timeout[${electionMs}ms] should be at least as 5 times as --heartbeat-interval[${heartbeatMs}ms]`,
    );
  }
  return {
    name,
    dataDir: values["data-dir"] ?? `${name}.etcd`,
    listenClientUrls: listFlag(values["listen-client-urls"]),
    advertiseClientUrls: listFlag(values["advertise-client-urls"]),
    listenPeerUrls: listFlag(values["listen-peer-urls"]),
    initialAdvertisePeerUrls: peerUrls,
    initialCluster: values["initial-cluster"] ?? `${name}=${peerUrls[0] ?? "http://localhost:2380"}`,
    initialClusterState: state,
    initialClusterToken: values["initial-cluster-token"],
    heartbeatMs,
    electionMs,
    snapshotCount: positive("snapshot-count", values["snapshot-count"]),
    snapshotCatchUpEntries: positive(
      "experimental-snapshot-catchup-entries",
      values["experimental-snapshot-catchup-entries"],
    ),
    // etcd: 0 means the default quota (2 GiB).
    quotaBackendBytes: quota === 0 ? 2 * 1024 * 1024 * 1024 : quota,
    maxRequestBytes: positive("max-request-bytes", values["max-request-bytes"]),
    maxTxnOps: positive("max-txn-ops", values["max-txn-ops"]),
    autoCompactionRetention: values["auto-compaction-retention"],
    autoCompactionMode: mode,
    listenMetricsUrls: listFlag(values["listen-metrics-urls"]),
    logLevel,
    grpcHttp2: http2,
    watchBatchIntervalMs: batch,
    unsafeNoFsync: values["unsafe-no-fsync"],
    unsafeStaleReads: values["unsafe-stale-reads"],
  };
}
