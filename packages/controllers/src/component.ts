/**
 * kube-controller-manager as a component (component-base): with leader election (the default) it
 * campaigns for the kube-system/kube-controller-manager Lease and, once it leads, builds the
 * enabled controllers on one context (shared informers, event broadcaster), starts the
 * informers, waits for their caches and runs the workers. Writes are fenced by the client's write
 * guard: after the renew deadline without a renewal none leaves this process, so two managers
 * never act at once. Losing the lease stops every controller and ends the component, as
 * kube-controller-manager exits on "leaderelection lost".
 */
import { type ClientConfig, KubeClient, LeaderElector } from "@skiff/client";
import { type Component, Health, type Logger, newLogger, once, Readiness } from "@skiff/component-base";
import { Registry } from "prom-client";
import type { ControllerManagerConfig } from "./config.js";
import { type ControllerContext, newControllerContext } from "./context.js";
import type { Controller } from "./controller.js";
import type { ControllerManagerLeaderElection } from "./options.js";
import { type ControllerDescriptor, controllerDescriptors, enabledControllers } from "./registry.js";
import { startControllers } from "./run.js";

export interface ControllerManagerOptions {
  client: ClientConfig;
  /** --controllers, e.g. ["*"] or ["*", "-ttl-after-finished-controller"]. */
  controllers: readonly string[];
  config: ControllerManagerConfig;
  /** Undefined: no leader election (the controllers run as soon as their caches sync). */
  leaderElection?: ControllerManagerLeaderElection;
  logger?: Logger;
  /** Where the controllers' and work queues' metrics go. */
  metrics?: Registry;
  /** The descriptors to choose from (default: every controller). */
  descriptors?: readonly ControllerDescriptor[];
}

export class ControllerManagerComponent implements Component {
  readonly name = "kube-controller-manager";
  readonly health = new Health();
  readonly metrics: Registry;
  readonly stop: () => Promise<void>;
  private readonly readiness = new Readiness();
  private readonly log: Logger;
  private client: KubeClient | undefined;
  private elector: LeaderElector | undefined;
  private running:
    | { ac: AbortController; ctx: ReturnType<typeof newControllerContext>; done?: Promise<void> }
    | undefined;
  private lostResolve!: () => void;
  /** Resolves when leadership is lost (the command then exits non-zero). */
  readonly lost = new Promise<void>((r) => {
    this.lostResolve = r;
  });
  leaseLost = false;
  private stopping = false;
  /** The running controllers by name (after the caches synced). */
  controllers: ReadonlyMap<string, Controller> = new Map();

  constructor(readonly options: ControllerManagerOptions) {
    this.log = options.logger ?? newLogger("kube-controller-manager", "info");
    this.metrics = options.metrics ?? new Registry();
    this.stop = once(() => this.shutdown());
  }

  get ready(): Promise<void> {
    return this.readiness.promise;
  }

  /** The context of the running controllers (undefined until this instance leads). */
  get context(): ControllerContext | undefined {
    return this.running?.ctx;
  }

  isLeader(): boolean {
    return this.options.leaderElection === undefined
      ? this.running !== undefined
      : (this.elector?.isLeader() ?? false);
  }

  describe(): Record<string, unknown> {
    return {
      server: this.options.client.server,
      controllers: this.enabled().map((d) => d.name),
      leaderElect: this.options.leaderElection !== undefined,
    };
  }

  private enabled(): ControllerDescriptor[] {
    return enabledControllers(this.options.controllers, this.options.descriptors ?? controllerDescriptors);
  }

  async start(): Promise<void> {
    try {
      const o = this.options;
      const guard = () => this.elector?.assertLeader();
      this.client = new KubeClient(
        o.leaderElection === undefined ? o.client : { ...o.client, writeGuard: guard },
      );
      const le = o.leaderElection;
      if (le === undefined) {
        await this.run(new AbortController());
      } else {
        this.elector = new LeaderElector({
          lock: { namespace: le.namespace, name: le.name },
          client: this.client,
          ...(le.identity === undefined ? {} : { identity: le.identity }),
          leaseDurationMs: le.leaseDurationMs,
          renewDeadlineMs: le.renewDeadlineMs,
          retryPeriodMs: le.retryPeriodMs,
          releaseOnCancel: true,
          registry: this.metrics,
          logger: this.log,
          callbacks: {
            onStartedLeading: (signal) => {
              this.log.info(
                { identity: this.elector?.identity },
                "successfully acquired lease, starting controllers",
              );
              const ac = new AbortController();
              signal.addEventListener("abort", () => ac.abort(), { once: true });
              void this.run(ac).catch((e) =>
                this.log.error(
                  { err: e instanceof Error ? e.message : String(e) },
                  "controllers failed to start",
                ),
              );
            },
            onStoppedLeading: () => {
              if (this.stopping) return;
              this.leaseLost = true;
              this.log.error({ identity: this.elector?.identity }, "leaderelection lost");
              void this.stopControllers();
              this.lostResolve();
            },
          },
        });
        void this.elector.run();
      }
      this.readiness.resolve();
    } catch (e) {
      this.readiness.reject(e);
      throw e;
    }
  }

  /** Builds and runs the enabled controllers until `ac` aborts. */
  private async run(ac: AbortController): Promise<void> {
    const client = this.client as KubeClient;
    const ctx = newControllerContext({
      client,
      config: this.options.config,
      log: this.log,
      metrics: this.metrics,
    });
    const running: NonNullable<typeof this.running> = { ac, ctx };
    this.running = running;
    const started = await startControllers(ctx, this.enabled(), ac.signal);
    this.controllers = started.controllers;
    running.done = started.done;
  }

  private async stopControllers(): Promise<void> {
    const r = this.running;
    if (r === undefined) return;
    this.running = undefined;
    r.ac.abort();
    await r.done;
    await r.ctx.informers.shutdown();
    await r.ctx.broadcaster.shutdown();
  }

  private async shutdown(): Promise<void> {
    this.stopping = true;
    await this.stopControllers();
    await this.elector?.stop();
    await this.client?.close();
  }
}
