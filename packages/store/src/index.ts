export type { EtcdBackend } from "./grpc/backend.js";
export { type Clock, realClock } from "./raftnode/clock.js";
export { RaftNodeError } from "./raftnode/errors.js";
export { LevelDbLogStore } from "./raftnode/leveldb-logstore.js";
export { memberLogger } from "./raftnode/logger.js";
export {
  CorruptionError,
  type LogStore,
  type LogUpdate,
  type PersistedState,
  StorageWriteError,
} from "./raftnode/logstore.js";
export { NodeMetrics } from "./raftnode/metrics.js";
export { RaftNode, type RaftNodeOptions } from "./raftnode/node.js";
export type { StateMachine } from "./raftnode/statemachine.js";
export { TcpTransport, type TcpTransportOptions } from "./raftnode/tcp-transport.js";
export type { Transport, TransportHandler } from "./raftnode/transport.js";
export { parseStoreFlags, type StoreOptions, storeFlags } from "./server/flags.js";
export { restoreFlags, runSnapshotRestore } from "./server/restore.js";
export { runStore, Store } from "./server/store.js";
