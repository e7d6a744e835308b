/**
 * The node lifecycle controller's metrics, with kube's names (pkg/controller/nodelifecycle/
 * metrics.go, subsystem node_collector): zone size, health and unhealthy nodes per zone, and
 * the NoExecute taintings ("evictions") per zone.
 */
import { Counter, Gauge, type Registry } from "prom-client";

export interface NodeLifecycleMetrics {
  zoneHealth: Gauge<"zone">;
  zoneSize: Gauge<"zone">;
  unhealthyNodes: Gauge<"zone">;
  evictionsTotal: Counter<"zone">;
}

/** The metrics on `registry`, registered once per registry (a second controller shares them). */
export function nodeLifecycleMetrics(registry: Registry): NodeLifecycleMetrics {
  const gauge = (name: string, help: string): Gauge<"zone"> =>
    (registry.getSingleMetric(name) as Gauge<"zone"> | undefined) ??
    new Gauge({ name, help, labelNames: ["zone"], registers: [registry] });
  const evictions = "node_collector_evictions_total";
  return {
    zoneHealth: gauge("node_collector_zone_health", "Gauge measuring percentage of healthy nodes per zone."),
    zoneSize: gauge("node_collector_zone_size", "Gauge measuring number of registered Nodes per zones."),
    unhealthyNodes: gauge(
      "node_collector_unhealthy_nodes_in_zone",
      "Gauge measuring number of not Ready Nodes per zones.",
    ),
    evictionsTotal:
      (registry.getSingleMetric(evictions) as Counter<"zone"> | undefined) ??
      new Counter({
        name: evictions,
        help: "Number of Node evictions that happened since current instance of NodeController started.",
        labelNames: ["zone"],
        registers: [registry],
      }),
  };
}
