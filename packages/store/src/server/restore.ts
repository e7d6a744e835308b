/**
 * `skiff store snapshot restore FILE --name N --data-dir D --initial-cluster ... --initial-cluster-token T
 * --initial-advertise-peer-urls U`: makes a new member data directory from a backup, as
 * `etcdctl snapshot restore` does: the key space (revisions included) comes from the file, the
 * membership from the flags. Every member of the new cluster is restored from the same file; then
 * each starts with `skiff store` and the same --initial-cluster.
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { FlagSet } from "@skiff/component-base";
import { hostPort, memberPlace } from "../cluster/config.js";
import { LevelDbLogStore } from "../raftnode/leveldb-logstore.js";
import { encodeSnapshotData } from "../raftnode/snapshotdata.js";
import { storeFlags } from "./flags.js";
import { decodeSnapshotFile } from "./snapshotfile.js";
import { StoreStateMachine } from "./statemachine.js";

const d = storeFlags.defs;

/** The restore's flags: the store's own (same names, defaults and help) that place a member. */
export const restoreFlags = new FlagSet(
  {
    name: d.name,
    "data-dir": d["data-dir"],
    "initial-cluster": d["initial-cluster"],
    "initial-cluster-token": d["initial-cluster-token"],
    "initial-advertise-peer-urls": d["initial-advertise-peer-urls"],
  },
  "etcd",
);

export async function runSnapshotRestore(argv: readonly string[]): Promise<string> {
  const { values, positionals } = restoreFlags.parse(argv, true);
  const file = positionals[0];
  if (file === undefined || positionals.length > 1)
    throw new Error("snapshot restore expects one snapshot file");
  const name = values.name;
  const dataDir = values["data-dir"] ?? `${name}.etcd`;
  const token = values["initial-cluster-token"];
  const initial = values["initial-cluster"] ?? `${name}=${values["initial-advertise-peer-urls"]}`;
  const { initialCluster: peers } = memberPlace(name, initial, token);
  for (const url of peers.values()) hostPort(url);
  if (existsSync(dataDir)) throw new Error(`data-dir "${dataDir}" exists`);

  const state = decodeSnapshotFile(readFileSync(file));
  // Check that it decodes before writing anything.
  const sm = new StoreStateMachine();
  sm.restore(state);

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
