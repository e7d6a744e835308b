/**
 * The hollow nodes' metrics: heartbeat and pod write outcomes, and client-go's workqueue_* names
 * for the pod queue. Gauges are read when scraped, from the state the component already keeps.
 */
import { Counter, Gauge, type Registry } from "prom-client";

export type Outcome = "success" | "error";

export interface HollowMetricsSources {
  registeredNodes(): number;
  runningPods(): number;
  queueDepth(): number;
  waitingRequests(lane: "node" | "pod"): number;
}

export class HollowMetrics {
  readonly leaseRenewals: Counter<"result">;
  readonly statusReports: Counter<"result">;
  readonly podStatusUpdates: Counter<"result">;
  readonly podDeletions: Counter<"result">;
  readonly queueRetries: Counter<"name">;

  constructor(registry: Registry, s: HollowMetricsSources) {
    const counter = (name: string, help: string) =>
      new Counter({ name, help, labelNames: ["result"] as const, registers: [registry] });
    this.leaseRenewals = counter("hollow_node_lease_renewals_total", "Node Lease creations and renewals.");
    this.statusReports = counter("hollow_node_status_reports_total", "Node status posts.");
    this.podStatusUpdates = counter("hollow_node_pod_status_updates_total", "Pod status patches to Running.");
    this.podDeletions = counter("hollow_node_pod_deletions_total", "Graceful pod deletions finished.");
    this.queueRetries = new Counter({
      name: "workqueue_retries_total",
      help: "Total number of retries handled by workqueue",
      labelNames: ["name"] as const,
      registers: [registry],
    });
    new Gauge({
      name: "hollow_node_registered_nodes",
      help: "Hollow nodes whose Node is registered.",
      registers: [registry],
      collect() {
        this.set(s.registeredNodes());
      },
    });
    new Gauge({
      name: "hollow_node_running_pods",
      help: "Pods the hollow nodes hold a pod IP for.",
      registers: [registry],
      collect() {
        this.set(s.runningPods());
      },
    });
    new Gauge({
      name: "workqueue_depth",
      help: "Current depth of workqueue",
      labelNames: ["name"] as const,
      registers: [registry],
      collect() {
        this.set({ name: "hollow-node-pods" }, s.queueDepth());
      },
    });
    new Gauge({
      name: "hollow_node_api_requests_waiting",
      help: "API requests waiting for --concurrency or --kube-api-qps, by lane.",
      labelNames: ["lane"] as const,
      registers: [registry],
      collect() {
        this.set({ lane: "node" }, s.waitingRequests("node"));
        this.set({ lane: "pod" }, s.waitingRequests("pod"));
      },
    });
  }
}
