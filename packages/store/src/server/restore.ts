/**
 * `skiff store snapshot restore FILE --name N --data-dir D --initial-cluster ... --initial-cluster-token T
 * --initial-advertise-peer-urls U`: makes a new member data directory from a backup, as
 * `etcdctl snapshot restore` does: the key space (revisions included) comes from the file, the
 * membership from the flags. Every member of the new cluster is restored from the same file; then
 * each starts with `skiff store` and the same --initial-cluster.
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { hostPort, memberIdFromPeerUrls, parseInitialCluster } from "../member/ids.js";
import { LevelDbLogStore } from "../raftnode/leveldb-logstore.js";
import { encodeSnapshotData } from "../raftnode/snapshotdata.js";
import { decodeSnapshotFile } from "./snapshotfile.js";
import { StoreStateMachine } from "./statemachine.js";

export async function runSnapshotRestore(argv: readonly string[]): Promise<string> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: true,
    options: {
      name: { type: "string", default: "default" },
      "data-dir": { type: "string" },
      "initial-cluster": { type: "string" },
      "initial-cluster-token": { type: "string", default: "etcd-cluster" },
      "initial-advertise-peer-urls": { type: "string", default: "http://localhost:2380" },
    },
  });
  const file = positionals[0];
  if (file === undefined || positionals.length > 1)
    throw new Error("snapshot restore expects one snapshot file");
  const name = values.name as string;
  const dataDir = values["data-dir"] ?? `${name}.etcd`;
  const token = values["initial-cluster-token"] as string;
  const initial = values["initial-cluster"] ?? `${name}=${values["initial-advertise-peer-urls"]}`;
  const cluster = parseInitialCluster(initial);
  if (!cluster.has(name))
    throw new Error(`couldn't find local name "${name}" in the initial cluster configuration`);
  for (const url of cluster.values()) hostPort(url);
  if (existsSync(dataDir)) throw new Error(`data-dir "${dataDir}" exists`);

  const state = decodeSnapshotFile(readFileSync(file));
  // Check that it decodes before writing anything.
  const sm = new StoreStateMachine();
  sm.restore(state);

  const peers = new Map([...cluster.values()].map((url) => [memberIdFromPeerUrls([url], token), url]));
  mkdirSync(join(dataDir, "member"), { recursive: true });
  const log = await LevelDbLogStore.open(join(dataDir, "member", "raft"));
  // The log starts with a snapshot at index 1, term 1, of the restored state and the new members.
  await log.save(
    {
      entries: [],
      hardState: { term: 1, vote: 0, commit: 1 },
      snapshot: {
        metadata: {
          index: 1,
          term: 1,
          confState: { voters: [...peers.keys()].sort((a, b) => a - b), learners: [] },
        },
        data: encodeSnapshotData({ peers, requests: [] }, state),
      },
    },
    true,
  );
  await log.close();
  return `restored snapshot to ${dataDir} (revision ${sm.mvcc.revision}, ${peers.size} members)`;
}
