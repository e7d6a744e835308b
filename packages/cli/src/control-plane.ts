/**
 * `skiff server`: the API server and, unless --disable-scheduler, the scheduler in the same
 * process (as k3s runs them). The scheduler reaches the API server over HTTPS on loopback with a
 * client certificate for system:kube-scheduler, exactly as it would from another machine, and
 * elects itself on the kube-system/kube-scheduler Lease (a stable identity per data directory,
 * so a restarted server takes its own lease back at once instead of waiting for it to expire).
 */
import { createHash } from "node:crypto";
import { hostname } from "node:os";
import { resolve } from "node:path";
import { type KubeApiServer, startServer } from "@skiff/apiserver";
import { type Component, Health, once, Readiness } from "@skiff/component-base";
import { parseSchedulerConfig, SchedulerComponent } from "@skiff/scheduler";
import type { Registry } from "prom-client";

export class ControlPlane implements Component {
  readonly name = "kube-apiserver";
  readonly health: Health;
  readonly metrics: Registry;
  readonly stop: () => Promise<void>;
  private readonly readiness = new Readiness();
  scheduler: SchedulerComponent | undefined;

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
        const id = createHash("sha256")
          .update(resolve(this.apiserver.options.dataDir))
          .digest("hex")
          .slice(0, 12);
        this.scheduler = new SchedulerComponent({
          client: this.apiserver.loopbackClientConfig({ commonName: "system:kube-scheduler" }),
          config: parseSchedulerConfig(undefined),
          leaderElection: {
            leaseDurationMs: 15_000,
            renewDeadlineMs: 10_000,
            retryPeriodMs: 2_000,
            namespace: "kube-system",
            name: "kube-scheduler",
            identity: `${hostname()}_${id}`,
          },
          metrics: this.metrics,
        });
        await this.scheduler.start();
        await this.scheduler.ready;
      }
      this.readiness.resolve();
    } catch (e) {
      this.readiness.reject(e);
      throw e;
    }
  }

  private async shutdown(): Promise<void> {
    await this.scheduler?.stop();
    await this.apiserver.stop();
  }
}

export { startServer };
