/**
 * `skiff store` flags: etcd's names and defaults, so that it can replace the etcd binary in
 * scripts. Unknown flags are an error. Both `--flag value` and `--flag=value` work.
 */
import { parseArgs } from "node:util";

export interface StoreFlags {
  name: string;
  dataDir: string;
  listenClientUrls: string[];
  advertiseClientUrls: string[];
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

const spec = {
  name: { type: "string", default: "default" },
  "data-dir": { type: "string" },
  "listen-client-urls": { type: "string", default: "http://localhost:2379" },
  "advertise-client-urls": { type: "string", default: "http://localhost:2379" },
  "listen-peer-urls": { type: "string", default: "http://localhost:2380" },
  "initial-advertise-peer-urls": { type: "string", default: "http://localhost:2380" },
  "initial-cluster": { type: "string" },
  "initial-cluster-state": { type: "string", default: "new" },
  "initial-cluster-token": { type: "string", default: "etcd-cluster" },
  "heartbeat-interval": { type: "string", default: "100" },
  "election-timeout": { type: "string", default: "1000" },
  "snapshot-count": { type: "string", default: "100000" },
  "experimental-snapshot-catchup-entries": { type: "string", default: "5000" },
  "quota-backend-bytes": { type: "string", default: "0" },
  "max-request-bytes": { type: "string", default: String(1.5 * 1024 * 1024) },
  "max-txn-ops": { type: "string", default: "128" },
  "auto-compaction-retention": { type: "string", default: "0" },
  "auto-compaction-mode": { type: "string", default: "periodic" },
  "listen-metrics-urls": { type: "string", default: "" },
  "log-level": { type: "string", default: "info" },
  "grpc-http2": { type: "string", default: "skiff" },
  "experimental-watch-batch-interval": { type: "string", default: "100" },
  "unsafe-no-fsync": { type: "boolean", default: false },
  "unsafe-stale-reads": { type: "boolean", default: false },
} as const;

export const storeFlagNames = Object.keys(spec);

function positive(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0)
    throw new Error(`invalid value "${v}" for flag --${flag}: must be a positive integer`);
  return n;
}

const list = (v: string): string[] =>
  v
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);

export function parseStoreFlags(argv: readonly string[]): StoreFlags {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: [...argv], options: spec, strict: true, allowPositionals: false }));
  } catch (e) {
    const m = /Unknown option '([^']+)'/.exec((e as Error).message);
    throw new Error(m ? `flag provided but not defined: ${m[1]}` : (e as Error).message);
  }
  const s = (k: keyof typeof spec) => values[k] as string;
  const name = s("name");
  const state = s("initial-cluster-state");
  if (state !== "new" && state !== "existing")
    throw new Error(`invalid value "${state}" for flag --initial-cluster-state`);
  const mode = s("auto-compaction-mode");
  if (mode !== "periodic" && mode !== "revision")
    throw new Error(`invalid value "${mode}" for flag --auto-compaction-mode`);
  const http2 = s("grpc-http2");
  if (http2 !== "skiff" && http2 !== "node")
    throw new Error(`invalid value "${http2}" for flag --grpc-http2`);
  const peerUrls = list(s("initial-advertise-peer-urls"));
  const quota = Number(s("quota-backend-bytes"));
  if (!Number.isInteger(quota) || quota < 0)
    throw new Error(`invalid value "${s("quota-backend-bytes")}" for flag --quota-backend-bytes`);
  const batch = Number(s("experimental-watch-batch-interval"));
  if (!Number.isInteger(batch) || batch < 0 || batch > 10_000)
    throw new Error(
      `invalid value "${s("experimental-watch-batch-interval")}" for flag --experimental-watch-batch-interval: must be an integer from 0 to 10000 (ms)`,
    );
  const heartbeatMs = positive("heartbeat-interval", s("heartbeat-interval"));
  const electionMs = positive("election-timeout", s("election-timeout"));
  if (electionMs < 5 * heartbeatMs) {
    throw new Error(
      `--election-timeout[${electionMs}ms] should be at least as 5 times as --heartbeat-interval[${heartbeatMs}ms]`,
    );
  }
  return {
    name,
    dataDir: (values["data-dir"] as string | undefined) ?? `${name}.etcd`,
    listenClientUrls: list(s("listen-client-urls")),
    advertiseClientUrls: list(s("advertise-client-urls")),
    listenPeerUrls: list(s("listen-peer-urls")),
    initialAdvertisePeerUrls: peerUrls,
    initialCluster:
      (values["initial-cluster"] as string | undefined) ??
      `${name}=${peerUrls[0] ?? "http://localhost:2380"}`,
    initialClusterState: state,
    initialClusterToken: s("initial-cluster-token"),
    heartbeatMs,
    electionMs,
    snapshotCount: positive("snapshot-count", s("snapshot-count")),
    snapshotCatchUpEntries: positive(
      "experimental-snapshot-catchup-entries",
      s("experimental-snapshot-catchup-entries"),
    ),
    // etcd: 0 means the default quota (2 GiB).
    quotaBackendBytes: quota === 0 ? 2 * 1024 * 1024 * 1024 : quota,
    maxRequestBytes: positive("max-request-bytes", s("max-request-bytes")),
    maxTxnOps: positive("max-txn-ops", s("max-txn-ops")),
    autoCompactionRetention: s("auto-compaction-retention"),
    autoCompactionMode: mode,
    listenMetricsUrls: list(s("listen-metrics-urls")),
    logLevel: s("log-level"),
    grpcHttp2: http2,
    watchBatchIntervalMs: batch,
    unsafeNoFsync: values["unsafe-no-fsync"] === true,
    unsafeStaleReads: values["unsafe-stale-reads"] === true,
  };
}
