/**
 * The embedded store of `skiff server` without --etcd-servers (as k3s embeds its datastore): a
 * single-member Skiff store in this process, data under DIR/store, reached through InProcessEtcd
 * (its etcd v3 handlers called directly). It opens no socket at all: no gRPC listener, and no
 * peer listener (an empty --listen-peer-urls gives a one-member cluster no transport), so no
 * other user of the machine can reach it. Its files are the process's own: the directory 0700,
 * every file 0600 (the umask is narrowed to 077 before the store creates any; files left by an
 * older version are narrowed at start). The one module of the API server that imports the store.
 */
import { chmodSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { parseStoreFlags, Store } from "@skiff/store";
import { InProcessEtcd } from "./inprocess.js";

export interface EmbeddedStoreOptions {
  /** The member's data directory. */
  dataDir: string;
  logLevel: string;
}

/**
 * The member's peer URL names it in --initial-cluster (its Raft id derives from it, so it stays
 * what earlier versions used); nothing listens on it.
 */
const PEER_URL = "http://127.0.0.1:0";

/** Directories 0700 and files 0600 under `dir` (what an older version created more openly). */
export function makePrivate(dir: string): void {
  chmodSync(dir, 0o700);
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) makePrivate(p);
    else if (e.isFile()) chmodSync(p, 0o600);
  }
}

/**
 * LevelDB creates its files itself, with the process's umask: 077 makes them 0600. It applies to
 * the whole process (the API server writes nothing others should read); workers cannot set it.
 */
function narrowUmask(): void {
  try {
    process.umask(0o077);
  } catch {
    // In a worker thread: the directory's 0700 still keeps other users out.
  }
}

/** The store as a component (start, ready, stop, health, metrics) and a client of it. */
export function embeddedStore(o: EmbeddedStoreOptions): { store: Store; kv: () => InProcessEtcd } {
  narrowUmask();
  mkdirSync(o.dataDir, { recursive: true, mode: 0o700 });
  makePrivate(o.dataDir);
  const store = new Store({
    ...parseStoreFlags([]),
    name: "skiff",
    dataDir: o.dataDir,
    listenClientUrls: [],
    advertiseClientUrls: [],
    listenPeerUrls: [],
    initialAdvertisePeerUrls: [PEER_URL],
    initialCluster: `skiff=${PEER_URL}`,
    logLevel: o.logLevel,
    // A single member elects itself within an election timeout: short ones make start-up fast.
    heartbeatMs: 50,
    electionMs: 250,
  });
  return { store, kv: () => new InProcessEtcd(store.etcd) };
}
