/**
 * kube-scheduler's metrics (pkg/scheduler/metrics), with upstream names and labels, on a
 * prom-client registry that the component serves on /metrics.
 */
import { Counter, Histogram, type Registry } from "prom-client";

const attemptBuckets = [
  0.0001, 0.0002, 0.0004, 0.0008, 0.0016, 0.0032, 0.0064, 0.0128, 0.0256, 0.0512, 0.1024, 0.2048, 0.4096,
  0.8192, 1.6384, 3.2768, 6.5536, 13.1072, 26.2144,
];

export class SchedulerMetrics {
  readonly scheduleAttempts: Counter<"result" | "profile">;
  readonly attemptDuration: Histogram<"result" | "profile">;
  readonly e2eDuration: Histogram<"result" | "profile">;
  readonly podSchedulingSli: Histogram<"attempts">;
  readonly preemptionAttempts: Counter;
  readonly preemptionVictims: Histogram;
  readonly bindingDuration: Histogram;

  constructor(readonly registry: Registry) {
    const registers = [registry];
    this.scheduleAttempts = new Counter({
      name: "scheduler_schedule_attempts_total",
      help: "Number of attempts to schedule pods, by the result. 'unschedulable' means a pod could not be scheduled, while 'error' means an internal scheduler problem.",
      labelNames: ["result", "profile"],
      registers,
    });
    this.attemptDuration = new Histogram({
      name: "scheduler_scheduling_attempt_duration_seconds",
      help: "Scheduling attempt latency in seconds (scheduling algorithm + binding)",
      labelNames: ["result", "profile"],
      buckets: attemptBuckets,
      registers,
    });
    this.e2eDuration = new Histogram({
      name: "scheduler_e2e_scheduling_duration_seconds",
      help: "E2e scheduling latency in seconds (scheduling algorithm + binding). This metric is replaced by scheduling_attempt_duration_seconds.",
      labelNames: ["result", "profile"],
      buckets: attemptBuckets,
      registers,
    });
    this.podSchedulingSli = new Histogram({
      name: "scheduler_pod_scheduling_sli_duration_seconds",
      help: "E2e latency for a pod being scheduled, from the time the pod enters the scheduling queue and might involve multiple scheduling attempts.",
      labelNames: ["attempts"],
      buckets: [
        0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92, 163.84,
        327.68, 655.36,
      ],
      registers,
    });
    this.preemptionAttempts = new Counter({
      name: "scheduler_preemption_attempts_total",
      help: "Total preemption attempts in the cluster till now",
      registers,
    });
    this.preemptionVictims = new Histogram({
      name: "scheduler_preemption_victims",
      help: "Number of selected preemption victims",
      buckets: [1, 2, 4, 8, 16, 32, 64],
      registers,
    });
    this.bindingDuration = new Histogram({
      name: "scheduler_binding_duration_seconds",
      help: "Binding latency in seconds",
      buckets: [
        0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192,
      ],
      registers,
    });
  }

  observeAttempt(result: "scheduled" | "unschedulable" | "error", profile: string, seconds: number): void {
    this.scheduleAttempts.inc({ result, profile });
    this.attemptDuration.observe({ result, profile }, seconds);
    this.e2eDuration.observe({ result, profile }, seconds);
  }
}
