/**
 * `skiff server`: the API server and, unless --disable-scheduler, the scheduler in the same
 * process (as k3s runs them), the scheduler in a worker thread (scheduler-worker.ts) so that its
 * cycles use the second core instead of the API server's event loop. It reaches the API server
 * over HTTPS on loopback with a client certificate for system:kube-scheduler, exactly as it would
 * from another machine, and elects itself on the kube-system/kube-scheduler Lease (a stable
 * identity per data directory, so a restarted server takes its own lease back at once instead of
 * waiting for it to expire). Its metrics are appended to the API server's /metrics.
 */
import { createHash } from "node:crypto";
import { hostname } from "node:os";
import { resolve } from "node:path";
import type { KubeApiServer } from "@skiff/apiserver";
import { type Component, Health, once, Readiness } from "@skiff/component-base";
import type { Registry } from "prom-client";
import { SchedulerWorker } from "./scheduler-worker-host.js";

export class ControlPlane implements Component {
  readonly name = "kube-apiserver";
  readonly health: Health;
  readonly metrics: Registry;
  readonly stop: () => Promise<void>;
  private readonly readiness = new Readiness();
  scheduler: SchedulerWorker | undefined;

  constructor(
    readonly apiserver: KubeApiServer,
    private readonly opts: { scheduler: boolean },
  ) {
    this.health = apiserver.health ?? new Health();
    this.metrics = apiserver.metrics;
    this.stop = once(() => this.shutdown());
  }

  get ready(): Promise<void> {
    return this.readiness.promise;
  }

  describe(): Record<string, unknown> {
    return { ...this.apiserver.describe(), scheduler: this.scheduler !== undefined };
  }

  async start(): Promise<void> {
    try {
      await this.apiserver.start();
      await this.apiserver.ready;
      if (this.opts.scheduler) {
        await this.startScheduler();
        const apiserverMetrics = this.metrics.metrics.bind(this.metrics);
        this.metrics.metrics = async () =>
          `${await apiserverMetrics()}${(await this.scheduler?.metricsText()) ?? ""}`;
      }
      this.readiness.resolve();
    } catch (e) {
      this.readiness.reject(e);
      throw e;
    }
  }

  /**
   * Starts the scheduler's worker; one that loses its lease has stopped scheduling (kube-scheduler
   * exits then and is restarted), so a new one campaigns again.
   */
  private async startScheduler(): Promise<void> {
    const id = createHash("sha256")
      .update(resolve(this.apiserver.options.dataDir))
      .digest("hex")
      .slice(0, 12);
    const worker = await SchedulerWorker.start({
      client: this.apiserver.loopbackClientConfig({ commonName: "system:kube-scheduler" }),
      leaderElection: {
        leaseDurationMs: 15_000,
        renewDeadlineMs: 10_000,
        retryPeriodMs: 2_000,
        namespace: "kube-system",
        name: "kube-scheduler",
        identity: `${hostname()}_${id}`,
      },
    });
    this.scheduler = worker;
    void worker.lost.then(async () => {
      if (this.stopping) return;
      await worker.stop();
      if (!this.stopping) await this.startScheduler().catch(() => undefined);
    });
  }

  private stopping = false;

  private async shutdown(): Promise<void> {
    this.stopping = true;
    await this.scheduler?.stop();
    await this.apiserver.stop();
  }
}
