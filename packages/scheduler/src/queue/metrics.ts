/**
 * The scheduling queue's metrics, named as kube-scheduler's (pkg/scheduler/metrics):
 * scheduler_pending_pods{queue} and scheduler_queue_incoming_pods_total{queue,event}.
 */
import { Counter, Gauge, Registry } from "prom-client";

export type QueueName = "active" | "backoff" | "unschedulable" | "gated";

export interface PendingCounts {
  active: number;
  backoff: number;
  unschedulable: number;
  gated: number;
}

export class QueueMetrics {
  private readonly incoming: Counter<"queue" | "event">;

  /** pending() is read at scrape time, so the gauge never drifts from the queue. */
  constructor(registry: Registry | undefined, pending: () => PendingCounts) {
    const registers = [registry ?? new Registry()];
    new Gauge({
      name: "scheduler_pending_pods",
      help: "Number of pending pods, by the queue type. 'active' means number of pods in activeQ; 'backoff' means number of pods in backoffQ; 'unschedulable' means number of pods in unschedulablePods that the scheduler attempted to schedule and failed; 'gated' is the number of unschedulable pods that the scheduler never attempted to schedule because they are gated.",
      labelNames: ["queue"],
      registers,
      collect() {
        const p = pending();
        for (const q of ["active", "backoff", "unschedulable", "gated"] as const)
          this.set({ queue: q }, p[q]);
      },
    });
    this.incoming = new Counter({
      name: "scheduler_queue_incoming_pods_total",
      help: "Number of pods added to scheduling queues by event and queue type.",
      labelNames: ["queue", "event"],
      registers,
    });
  }

  podIncoming(queue: QueueName, event: string): void {
    this.incoming.inc({ queue, event });
  }
}
