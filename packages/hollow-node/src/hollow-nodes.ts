/**
 * `skiff hollow-nodes` as a component (component-base): N fake nodes in one process, as kubemark's
 * hollow nodes, for scale tests of the control plane. start() reads the kubeconfig, starts the pod
 * informer and registers every node; `ready` settles once all are registered and the informer has
 * synced. One scheduler tick walks a timer wheel that visits each node once per Lease renew
 * interval. stop() stops the tick and the informer, lets requests in flight finish and, with
 * --delete-nodes-on-exit, deletes the Nodes and Leases (by default they stay, as kubemark's do).
 */
import { configFromKubeconfig, KubeClient } from "@skiff/client";
import {
  type Component,
  Health,
  type Logger,
  newLogger,
  type OpsServer,
  once,
  Readiness,
  serveOps,
} from "@skiff/component-base";
import { Registry } from "prom-client";
import { type Clock, realClock } from "./clock.js";
import { NodeHeartbeats } from "./heartbeats.js";
import { type HollowNode, makeNodes } from "./hollow-node.js";
import { RequestLimiter } from "./limiter.js";
import { HollowMetrics } from "./metrics.js";
import type { NodeShape } from "./node-object.js";
import type { HollowNodesOptions } from "./options.js";
import { PodWorker } from "./pod-worker.js";
import { Wheel } from "./wheel.js";

/** The scheduler tick: how often the wheel is walked. */
const tickMs = 100;

export interface HollowNodesDeps {
  log?: Logger;
  clock?: Clock;
}

export class HollowNodes implements Component {
  readonly name = "hollow-node";
  readonly health = new Health();
  readonly metrics = new Registry();
  readonly stop: () => Promise<void>;
  private readonly readiness = new Readiness();
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly nodes: HollowNode[];
  private readonly byName: ReadonlyMap<string, HollowNode>;
  private client: KubeClient | undefined;
  private limiter: RequestLimiter | undefined;
  private heartbeats: NodeHeartbeats | undefined;
  private pods: PodWorker | undefined;
  private ops: OpsServer | undefined;
  private tick: unknown;
  private stopping = false;
  private starting: Promise<void> | undefined;

  constructor(
    readonly options: HollowNodesOptions,
    deps: HollowNodesDeps = {},
  ) {
    this.log = deps.log ?? newLogger("hollow-node", options.logLevel);
    this.clock = deps.clock ?? realClock;
    this.nodes = makeNodes(options);
    this.byName = new Map(this.nodes.map((n) => [n.name, n]));
    this.stop = once(() => this.shutdown());
    this.health.addReadyz("registered", () => {
      const done = this.heartbeats?.registered ?? 0;
      return done === this.nodes.length ? undefined : `${done} of ${this.nodes.length} nodes registered`;
    });
    this.health.addReadyz("informer-sync", () => (this.pods?.hasSynced() ? undefined : "pods not synced"));
  }

  get ready(): Promise<void> {
    return this.readiness.promise;
  }

  /** The hollow nodes' names, in order. */
  get nodeNames(): string[] {
    return this.nodes.map((n) => n.name);
  }

  /**
   * Stops (or, with resume, restarts) one node's Lease renewals and status posts, as a kubelet
   * cut off from the API server: the node lifecycle controller then sees it go silent. Its pods
   * are still served (their status and the end of their deletion), a simplification.
   */
  pauseHeartbeats(nodeName: string, paused = true): void {
    const n = this.byName.get(nodeName);
    if (n === undefined) throw new Error(`hollow-node: no node ${nodeName}`);
    n.heartbeatsPaused = paused;
    // Back: the status goes with the next renewal, as a kubelet posts a status that changed.
    if (!paused) n.nextStatusAt = 0;
  }

  resumeHeartbeats(nodeName: string): void {
    this.pauseHeartbeats(nodeName, false);
  }

  describe(): Record<string, unknown> {
    return {
      nodes: this.nodes.length,
      first: this.nodes[0]?.name,
      server: this.client?.config.server,
      ...(this.ops === undefined ? {} : { metrics: this.ops.addresses }),
    };
  }

  start(): Promise<void> {
    if (this.starting !== undefined) throw new Error("hollow-node: start() called twice");
    this.starting = this.open();
    return this.starting;
  }

  private async open(): Promise<void> {
    const o = this.options;
    const client = new KubeClient(configFromKubeconfig(o.kubeconfig));
    this.client = client;
    const limiter = new RequestLimiter({
      qps: o.kubeApiQps,
      burst: o.kubeApiBurst,
      concurrency: o.concurrency,
      clock: this.clock,
    });
    this.limiter = limiter;
    const metrics = new HollowMetrics(this.metrics, {
      registeredNodes: () => this.heartbeats?.registered ?? 0,
      runningPods: () => this.pods?.running ?? 0,
      queueDepth: () => this.pods?.queueDepth ?? 0,
      waitingRequests: (lane) => limiter.waiting(lane),
    });
    const shape: NodeShape = {
      capacity: {
        cpu: o.cpu,
        memory: o.memory,
        pods: String(o.pods),
        "ephemeral-storage": o.ephemeralStorage,
      },
      zones: o.zones,
    };
    this.heartbeats = new NodeHeartbeats(this.nodes, client, limiter, this.clock, this.log, metrics, {
      shape,
      leaseDurationSeconds: o.nodeLeaseDurationSeconds,
      statusReportFrequencyMs: o.nodeStatusReportFrequencyMs,
    });
    this.pods = new PodWorker(this.byName, client, limiter, this.clock, this.log, metrics, {
      workers: o.concurrency,
    });
    if (o.metricsBindAddress !== undefined) {
      const at = o.metricsBindAddress.lastIndexOf(":");
      const host = o.metricsBindAddress.slice(0, at).replace(/^\[|\]$/g, "");
      const port = Number(o.metricsBindAddress.slice(at + 1));
      this.ops = await serveOps([{ host, port }], { health: this.health, metrics: this.metrics });
    }
    this.pods.start();
    this.startTicker(this.clock.monotonic());
    const began = this.clock.monotonic();
    this.log.info({ nodes: this.nodes.length, server: client.config.server }, "registering hollow nodes");
    const registered = this.heartbeats.registerAll();
    const pods = this.pods;
    void Promise.all([registered, pods.waitForSync()]).then(([, synced]) => {
      if (!synced || this.stopping) return;
      this.log.info(
        { nodes: this.nodes.length, ms: Math.round(this.clock.monotonic() - began) },
        "hollow nodes registered",
      );
      this.readiness.resolve();
    });
  }

  /** One timer for all nodes: each tick visits the nodes whose slot of the wheel came. */
  private startTicker(t0: number): void {
    const wheel = new Wheel<HollowNode>(this.options.leaseRenewIntervalMs, tickMs, t0);
    for (const n of this.nodes) wheel.add(n, n.index / this.nodes.length);
    const heartbeats = this.heartbeats as NodeHeartbeats;
    const step = () => {
      if (this.stopping) return;
      wheel.advance(this.clock.monotonic(), (n) => heartbeats.visit(n));
      this.tick = this.clock.setTimeout(step, tickMs);
    };
    this.tick = this.clock.setTimeout(step, tickMs);
  }

  private async shutdown(): Promise<void> {
    this.stopping = true;
    await this.starting?.catch(() => undefined);
    if (this.tick !== undefined) this.clock.clearTimeout(this.tick);
    if (!this.readiness.settled)
      this.readiness.reject(new Error("hollow-node stopped before its nodes were ready"));
    // Waiting writes are dropped; those in flight finish.
    this.limiter?.close();
    await this.pods?.stop();
    await this.limiter?.idle();
    if (this.options.deleteNodesOnExit && this.client !== undefined && this.heartbeats !== undefined) {
      const o = this.options;
      const limiter = new RequestLimiter({
        qps: o.kubeApiQps,
        burst: o.kubeApiBurst,
        concurrency: o.concurrency,
        clock: this.clock,
      });
      await this.heartbeats.deleteAll(limiter);
      this.log.info({ nodes: this.nodes.length }, "hollow nodes deleted");
    }
    await this.ops?.close();
    await this.client?.close();
  }
}
