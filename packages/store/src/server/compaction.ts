/** etcd's --auto-compaction-*: periodic (keep this much time of history) or revision (keep N revisions). */
import type { RaftNode } from "../raftnode/node.js";
import type { StoreBackend } from "./backend.js";
import type { StoreOptions } from "./flags.js";
import type { StoreStateMachine } from "./statemachine.js";

/** Starts the leader's compaction timer; returns what stops it. */
export function startAutoCompaction(
  o: Pick<StoreOptions, "autoCompactionRetention" | "autoCompactionMode">,
  node: RaftNode,
  sm: StoreStateMachine,
  backend: StoreBackend,
): () => void {
  const retention = o.autoCompactionRetention;
  if (retention === "0" || retention === "") return () => {};
  let periodMs: number;
  if (o.autoCompactionMode === "revision") periodMs = 5 * 60 * 1000;
  else {
    const m = /^(\d+)(h|m|s)?$/.exec(retention);
    if (m === null) throw new Error(`invalid value "${retention}" for flag --auto-compaction-retention`);
    const unit = m[2] === "s" ? 1000 : m[2] === "m" ? 60_000 : 3_600_000;
    periodMs = Number(m[1]) * unit;
  }
  let previous = 0;
  const timer = setInterval(() => {
    if (!node.isLeader()) return;
    const target = o.autoCompactionMode === "revision" ? sm.mvcc.revision - Number(retention) : previous;
    previous = sm.mvcc.revision;
    if (target > 0 && target > sm.mvcc.compacted)
      void backend.propose({ op: "compact", revision: target }).catch(() => undefined);
  }, periodMs);
  timer.unref();
  return () => clearInterval(timer);
}
