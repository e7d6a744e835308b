/**
 * The embedded store of `skiff server` without --etcd-servers (as k3s embeds its datastore): a
 * single-member Skiff store in this process, data under DIR/store, reached through InProcessEtcd
 * (its etcd v3 handlers called directly). It serves no gRPC listener and its peer listener takes
 * any free port: nothing dials either. The one module of the API server that imports the store.
 */
import { parseStoreFlags, Store } from "@skiff/store";
import { InProcessEtcd } from "./inprocess.js";

export interface EmbeddedStoreOptions {
  /** The member's data directory. */
  dataDir: string;
  logLevel: string;
}

/** The store as a component (start, ready, stop, health, metrics) and a client of it. */
export function embeddedStore(o: EmbeddedStoreOptions): { store: Store; kv: () => InProcessEtcd } {
  const peer = "http://127.0.0.1:0";
  const store = new Store({
    ...parseStoreFlags([]),
    name: "skiff",
    dataDir: o.dataDir,
    listenClientUrls: [],
    advertiseClientUrls: [],
    listenPeerUrls: [peer],
    initialAdvertisePeerUrls: [peer],
    initialCluster: `skiff=${peer}`,
    logLevel: o.logLevel,
    // A single member elects itself within an election timeout: short ones make start-up fast.
    heartbeatMs: 50,
    electionMs: 250,
  });
  return { store, kv: () => new InProcessEtcd(store.etcd) };
}
