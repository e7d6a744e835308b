import { parseArgs } from "node:util";

/** The durable member's flags: etcd's names, so scripts read the same. Unknown flags are an error. */
export interface MemberFlags {
  name: string;
  dataDir: string;
  listenPeerUrl: string;
  listenClientUrl: string;
  initialCluster: string;
  initialClusterState: "new" | "existing";
  initialClusterToken: string;
  heartbeatMs: number;
  electionMs: number;
  snapshotCount: number;
  snapshotCatchUpEntries: number;
  logLevel: string;
  unsafeNoFsync: boolean;
}

export function parseMemberFlags(argv: readonly string[]): MemberFlags {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      name: { type: "string", default: "default" },
      "data-dir": { type: "string" },
      "listen-peer-urls": { type: "string", default: "http://127.0.0.1:2380" },
      "listen-client-urls": { type: "string", default: "http://127.0.0.1:2379" },
      "initial-cluster": { type: "string" },
      "initial-cluster-state": { type: "string", default: "new" },
      "initial-cluster-token": { type: "string", default: "etcd-cluster" },
      "heartbeat-interval": { type: "string", default: "100" },
      "election-timeout": { type: "string", default: "1000" },
      "snapshot-count": { type: "string", default: "10000" },
      "experimental-snapshot-catchup-entries": { type: "string", default: "5000" },
      "log-level": { type: "string", default: "info" },
      "unsafe-no-fsync": { type: "boolean", default: false },
    },
  });
  const num = (flag: string, v: string | undefined) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`--${flag}: "${v}" is not a positive integer`);
    return n;
  };
  const name = values.name as string;
  const state = values["initial-cluster-state"];
  if (state !== "new" && state !== "existing") {
    throw new Error(`--initial-cluster-state: "${state}" must be "new" or "existing"`);
  }
  const listenPeerUrl = values["listen-peer-urls"] as string;
  return {
    name,
    dataDir: values["data-dir"] ?? `${name}.etcd`,
    listenPeerUrl,
    listenClientUrl: values["listen-client-urls"] as string,
    initialCluster: values["initial-cluster"] ?? `${name}=${listenPeerUrl}`,
    initialClusterState: state,
    initialClusterToken: values["initial-cluster-token"] as string,
    heartbeatMs: num("heartbeat-interval", values["heartbeat-interval"]),
    electionMs: num("election-timeout", values["election-timeout"]),
    snapshotCount: num("snapshot-count", values["snapshot-count"]),
    snapshotCatchUpEntries: num(
      "experimental-snapshot-catchup-entries",
      values["experimental-snapshot-catchup-entries"],
    ),
    logLevel: values["log-level"] as string,
    unsafeNoFsync: values["unsafe-no-fsync"] === true,
  };
}
