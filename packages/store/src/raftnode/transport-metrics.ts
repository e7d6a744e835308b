/**
 * What a transport reports about itself: Prometheus metrics under etcd's names (etcd's
 * rafthttp/metrics.go; its label names To/From/Local/Remote too), plain per-peer numbers for tests
 * and the node loop, and the structured logger it writes to.
 */
import type { NodeId } from "@skiff/raft";
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/** Per-peer counters of one sender, readable without a metrics scrape (tests, status pages). */
export interface PeerStats {
  /** A stream to the peer is up (TCP: the peer answered a ping since the last connect). */
  readonly connected: boolean;
  /** Encoded bytes waiting to be written (TCP) or in flight (simulator). Never above the bound. */
  readonly queuedBytes: number;
  /** Messages dropped because the queue was full, the peer unknown, or the link known down. */
  readonly dropped: number;
  /** Messages handed to the wire. */
  readonly sent: number;
}

/** Optional member of a transport: introspection shared by TCP and the simulator. */
export interface TransportStats {
  /** The per-peer bound on queued bytes (`maxQueueBytes`). */
  readonly maxQueueBytes: number;
  peerStats(id: NodeId): PeerStats | undefined;
}

/** The subset of pino's Logger a transport uses: one line per event, ids as fields. */
export interface TransportLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export const silentLogger: TransportLogger = { debug() {}, info() {}, warn() {} };

/** A member id as etcd prints one (types.ID: hex), in metric labels and log fields alike. */
export const peerLabel = (id: NodeId) => id.toString(16);

/** etcd's buckets for peer round-trip time: 0.1 ms doubling to ~3.3 s. */
const rttBuckets = Array.from({ length: 16 }, (_, i) => 0.0001 * 2 ** i);

export class TransportMetrics {
  readonly sentBytes: Counter<"To">;
  readonly receivedBytes: Counter<"From">;
  readonly sentFailures: Counter<"To">;
  readonly receivedFailures: Counter<"From">;
  readonly dropped: Counter<"peer">;
  readonly rejectedConnections: Counter<"reason">;
  readonly roundTrip: Histogram<"To">;
  readonly activePeers: Gauge<"Local" | "Remote">;
  readonly disconnectedPeers: Counter<"Local" | "Remote">;
  readonly snapshotSendSuccess: Counter<"To">;
  readonly snapshotSendFailures: Counter<"To">;
  readonly snapshotReceiveSuccess: Counter<"From">;
  readonly snapshotReceiveFailures: Counter<"From">;
  readonly queuedBytes: Gauge<"peer">;

  /** queued() is read at scrape time: the queue changes on every message, the gauge need not. */
  constructor(registry: Registry, queued: () => Iterable<readonly [NodeId, number]>) {
    const registers = [registry];
    this.sentBytes = new Counter({
      name: "etcd_network_peer_sent_bytes_total",
      help: "The total number of bytes sent to peers.",
      labelNames: ["To"],
      registers,
    });
    this.receivedBytes = new Counter({
      name: "etcd_network_peer_received_bytes_total",
      help: "The total number of bytes received from peers.",
      labelNames: ["From"],
      registers,
    });
    this.sentFailures = new Counter({
      name: "etcd_network_peer_sent_failures_total",
      help: "The total number of send failures to peers (dropped messages, failed dials, broken streams).",
      labelNames: ["To"],
      registers,
    });
    this.receivedFailures = new Counter({
      name: "etcd_network_peer_received_failures_total",
      help: "The total number of receive failures from peers (invalid frames, spoofed senders).",
      labelNames: ["From"],
      registers,
    });
    this.dropped = new Counter({
      name: "skiff_transport_dropped_messages_total",
      help: "Messages dropped before reaching the wire (queue full, peer unknown or down).",
      labelNames: ["peer"],
      registers,
    });
    this.rejectedConnections = new Counter({
      name: "skiff_transport_rejected_connections_total",
      help: "Inbound peer connections closed by the listener, by reason.",
      labelNames: ["reason"],
      registers,
    });
    this.roundTrip = new Histogram({
      name: "etcd_network_peer_round_trip_time_seconds",
      help: "Round-trip time histogram between peers (ping/pong on each peer stream).",
      labelNames: ["To"],
      buckets: rttBuckets,
      registers,
    });
    this.activePeers = new Gauge({
      name: "etcd_network_active_peers",
      help: "The current number of active peer connections.",
      labelNames: ["Local", "Remote"],
      registers,
    });
    this.disconnectedPeers = new Counter({
      name: "etcd_network_disconnected_peers_total",
      help: "The total number of disconnected peers.",
      labelNames: ["Local", "Remote"],
      registers,
    });
    this.snapshotSendSuccess = new Counter({
      name: "etcd_network_snapshot_send_success",
      help: "Total number of successful snapshot sends.",
      labelNames: ["To"],
      registers,
    });
    this.snapshotSendFailures = new Counter({
      name: "etcd_network_snapshot_send_failures",
      help: "Total number of snapshot send failures.",
      labelNames: ["To"],
      registers,
    });
    this.snapshotReceiveSuccess = new Counter({
      name: "etcd_network_snapshot_receive_success",
      help: "Total number of successful snapshot receives.",
      labelNames: ["From"],
      registers,
    });
    this.snapshotReceiveFailures = new Counter({
      name: "etcd_network_snapshot_receive_failures",
      help: "Total number of snapshot receive failures.",
      labelNames: ["From"],
      registers,
    });
    this.queuedBytes = new Gauge({
      name: "skiff_transport_queued_bytes",
      help: "Encoded message bytes waiting to be written, per peer.",
      labelNames: ["peer"],
      registers,
      collect() {
        this.reset();
        for (const [id, n] of queued()) this.set({ peer: peerLabel(id) }, n);
      },
    });
  }

  /** Forgets a removed peer's series (bounded label sets: members come and go). */
  removePeer(id: NodeId): void {
    const p = peerLabel(id);
    this.sentBytes.remove(p);
    this.sentFailures.remove(p);
    this.roundTrip.remove(p);
    this.snapshotSendSuccess.remove(p);
    this.snapshotSendFailures.remove(p);
    this.dropped.remove(p);
  }
}
