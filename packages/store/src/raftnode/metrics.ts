import { Counter, Gauge, Histogram, Registry } from "prom-client";

/** The node's Prometheus metrics, with etcd's names (so etcd dashboards and alerts carry over). */
export class NodeMetrics {
  readonly registry: Registry;
  readonly hasLeader: Gauge;
  readonly isLeader: Gauge;
  readonly leaderChanges: Counter;
  readonly proposalsCommitted: Counter;
  readonly proposalsApplied: Counter;
  readonly proposalsPending: Gauge;
  readonly proposalsFailed: Counter;
  readonly fsyncDuration: Histogram;
  readonly snapshotsSaved: Counter;
  readonly snapshotsInstalled: Counter;
  readonly readIndexRounds: Counter;

  constructor(registry = new Registry()) {
    this.registry = registry;
    const r = [registry];
    this.hasLeader = new Gauge({
      name: "etcd_server_has_leader",
      help: "Whether or not a leader exists. 1 is existence, 0 is not.",
      registers: r,
    });
    this.isLeader = new Gauge({
      name: "etcd_server_is_leader",
      help: "Whether or not this member is a leader. 1 if is, 0 otherwise.",
      registers: r,
    });
    this.leaderChanges = new Counter({
      name: "etcd_server_leader_changes_seen_total",
      help: "The number of leader changes seen.",
      registers: r,
    });
    this.proposalsCommitted = new Counter({
      name: "etcd_server_proposals_committed_total",
      help: "The total number of consensus proposals committed.",
      registers: r,
    });
    this.proposalsApplied = new Counter({
      name: "etcd_server_proposals_applied_total",
      help: "The total number of consensus proposals applied.",
      registers: r,
    });
    this.proposalsPending = new Gauge({
      name: "etcd_server_proposals_pending",
      help: "The current number of pending proposals to commit.",
      registers: r,
    });
    this.proposalsFailed = new Counter({
      name: "etcd_server_proposals_failed_total",
      help: "The total number of failed proposals seen.",
      registers: r,
    });
    this.fsyncDuration = new Histogram({
      name: "etcd_disk_wal_fsync_duration_seconds",
      help: "The latency distributions of fsync called by WAL.",
      buckets: [
        0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192,
      ],
      registers: r,
    });
    this.snapshotsInstalled = new Counter({
      name: "skiff_raft_snapshots_installed_total",
      help: "Snapshots received from the leader and installed.",
      registers: r,
    });
    this.snapshotsSaved = new Counter({
      name: "skiff_raft_snapshots_saved_total",
      help: "Snapshots taken by this member.",
      registers: r,
    });
    this.readIndexRounds = new Counter({
      name: "skiff_raft_read_index_rounds_total",
      help: "ReadIndex rounds this member started; each serves every linearizable read queued before it.",
      registers: r,
    });
  }
}
