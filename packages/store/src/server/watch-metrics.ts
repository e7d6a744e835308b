/**
 * The watch hub's gauges: etcd's own names where it has one (mvcc/metrics.go:
 * etcd_debugging_mvcc_watch_stream_total, _watcher_total, _slow_watcher_total), and what the
 * streams hold for their clients in bytes (etcd counts pending events instead; bytes are what the
 * per-stream and per-connection bounds are about). Read at scrape time.
 */
import { Gauge, type Registry } from "prom-client";
import type { WatchHub, WatchHubStats } from "./watch.js";

export function registerWatchMetrics(registry: Registry, hub: WatchHub): void {
  const gauge = (name: string, help: string, field: keyof WatchHubStats) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(hub.stats[field]);
      },
    });
  gauge("etcd_debugging_mvcc_watch_stream_total", "Total number of watch streams.", "streams");
  gauge("etcd_debugging_mvcc_watcher_total", "Total number of watchers.", "watchers");
  gauge("etcd_debugging_mvcc_slow_watcher_total", "Total number of unsynced slow watchers.", "slowWatchers");
  gauge(
    "skiff_watch_queued_bytes",
    "Watch responses written and not yet flushed towards the clients.",
    "queuedBytes",
  );
  gauge(
    "skiff_watch_pending_bytes",
    "Live watch events gathered for streams and not yet written, counted once per watcher.",
    "pendingBytes",
  );
}
