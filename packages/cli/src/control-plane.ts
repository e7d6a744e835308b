/**
 * `skiff server`: the API server and, unless disabled, the scheduler and the controller manager
 * in the same process (as k3s runs them), each in a worker thread (component-worker.ts) so their
 * work uses the second core instead of the API server's event loop. They reach the API server
 * over HTTPS on loopback with client certificates for system:kube-scheduler and
 * system:kube-controller-manager, exactly as they would from another machine, and elect
 * themselves on their kube-system Leases (a stable identity per data directory, so a restarted
 * server takes its own leases back at once instead of waiting for them to expire). Their metrics
 * are appended to the API server's /metrics.
 */
import { createHash } from "node:crypto";
import { hostname } from "node:os";
import { join, resolve } from "node:path";
import type { KubeObject } from "@skiff/api";
import type { KubeApiServer } from "@skiff/apiserver";
import { KubeClient } from "@skiff/client";
import { type Component, Health, once, Readiness } from "@skiff/component-base";
import type { Registry } from "prom-client";
import type { ComponentWorkerData } from "./component-worker.js";
import { ComponentWorker } from "./component-worker-host.js";

/** The node gateway's port for the API server (the kubelet's APISERVER_GATEWAY_PORT). */
const APISERVER_GATEWAY_PORT = 6443;

export interface ControlPlaneOptions {
  scheduler: boolean;
  controllerManager: boolean;
  /** kube-controller-manager flags (`--kube-controller-manager-arg`, as k3s). */
  controllerManagerArgs?: readonly string[];
  /** Run a node agent for this machine (data in <data-dir>/agent). */
  agent?: boolean;
  /** The agent's flags (`--node-name`, `--kubelet-arg` values). */
  agentArgs?: readonly string[];
  /** The agent's kube-proxy flags (`--kube-proxy-arg` values) and its --disable-* switches. */
  kubeProxyArgs?: readonly string[];
  kubeProxy?: boolean;
  clusterDns?: boolean;
}

const LEASES: Record<"scheduler" | "controller-manager", { name: string; commonName: string }> = {
  scheduler: { name: "kube-scheduler", commonName: "system:kube-scheduler" },
  "controller-manager": { name: "kube-controller-manager", commonName: "system:kube-controller-manager" },
};

export class ControlPlane implements Component {
  readonly name = "kube-apiserver";
  readonly health: Health;
  readonly metrics: Registry;
  readonly stop: () => Promise<void>;
  private readonly readiness = new Readiness();
  readonly workers = new Map<ComponentWorkerData["kind"], ComponentWorker>();
  private stopping = false;
  private nodeAddressTimer: NodeJS.Timeout | undefined;
  private nodeClient: KubeClient | undefined;

  constructor(
    readonly apiserver: KubeApiServer,
    private readonly opts: ControlPlaneOptions,
  ) {
    this.health = apiserver.health ?? new Health();
    this.metrics = apiserver.metrics;
    this.stop = once(() => this.shutdown());
  }

  get ready(): Promise<void> {
    return this.readiness.promise;
  }

  get scheduler(): ComponentWorker | undefined {
    return this.workers.get("scheduler");
  }

  describe(): Record<string, unknown> {
    return {
      ...this.apiserver.describe(),
      scheduler: this.workers.has("scheduler"),
      controllerManager: this.workers.has("controller-manager"),
      agent: this.workers.has("agent"),
    };
  }

  async start(): Promise<void> {
    try {
      await this.apiserver.start();
      await this.apiserver.ready;
      const kinds: Array<"scheduler" | "controller-manager"> = [];
      if (this.opts.controllerManager) kinds.push("controller-manager");
      if (this.opts.scheduler) kinds.push("scheduler");
      await Promise.all(kinds.map((k) => this.startWorker(k)));
      // The agent needs the controller manager's node IPAM for its pod CIDR, not the reverse.
      if (this.opts.agent) await this.startAgent();
      if (kinds.length > 0) {
        const apiserverMetrics = this.metrics.metrics.bind(this.metrics);
        this.metrics.metrics = async () => {
          const texts = await Promise.all([...this.workers.values()].map((w) => w.metricsText()));
          return `${await apiserverMetrics()}${texts.join("")}`;
        };
      }
      this.readiness.resolve();
    } catch (e) {
      this.readiness.reject(e);
      throw e;
    }
  }

  /**
   * Starts a component's worker; one that loses its lease has stopped working (the upstream
   * binary exits then and is restarted), so a new one campaigns again.
   */
  private async startWorker(kind: "scheduler" | "controller-manager"): Promise<void> {
    const id = createHash("sha256")
      .update(resolve(this.apiserver.options.dataDir))
      .digest("hex")
      .slice(0, 12);
    const lease = LEASES[kind];
    const worker = await ComponentWorker.start({
      kind,
      client: this.apiserver.loopbackClientConfig({ commonName: lease.commonName }),
      leaderElection: {
        leaseDurationMs: 15_000,
        renewDeadlineMs: 10_000,
        retryPeriodMs: 2_000,
        namespace: "kube-system",
        name: lease.name,
        identity: `${hostname()}_${id}`,
      },
      args: kind === "controller-manager" ? [...(this.opts.controllerManagerArgs ?? [])] : [],
    });
    this.workers.set(kind, worker);
    void worker.lost.then(async () => {
      if (this.stopping) return;
      await worker.stop();
      if (!this.stopping) await this.startWorker(kind).catch(() => undefined);
    });
  }

  /**
   * This machine's node agent, with a client certificate for system:node:<name> in
   * system:nodes and a serving certificate from the cluster CA (the API server's kubelet client
   * certificate is checked against that CA).
   */
  private async startAgent(): Promise<void> {
    const { parseAgentFlags } = await import("@skiff/kubelet");
    const args = [
      "--data-dir",
      join(resolve(this.apiserver.options.dataDir), "agent"),
      ...(this.opts.agentArgs ?? []),
    ];
    const { nodeName, hostNetwork } = parseAgentFlags(args, { embedded: true });
    const worker = await ComponentWorker.start({
      kind: "agent",
      client: this.apiserver.loopbackClientConfig({
        commonName: `system:node:${nodeName}`,
        organizations: ["system:nodes"],
      }),
      args,
      agent: {
        servingCert: this.apiserver.kubeletServingCert(["127.0.0.1", nodeName]),
        kubeProxyArgs: [...(this.opts.kubeProxyArgs ?? [])],
        kubeProxy: this.opts.kubeProxy ?? true,
        clusterDns: this.opts.clusterDns ?? true,
      },
    });
    this.workers.set("agent", worker);
    if (!hostNetwork) this.followNodeAddress(nodeName);
  }

  /**
   * Pods reach this API server through their node: the `kubernetes` Service's endpoint is the
   * embedded node's address and the port its gateway relays to this server (kube-apiserver
   * advertises the address of the machine it runs on, which is this node's). Followed every
   * 10 s (kube's endpoint reconciler interval), since the node's address comes from its pod CIDR.
   */
  private followNodeAddress(nodeName: string): void {
    const client = new KubeClient(this.apiserver.loopbackClientConfig({ commonName: "system:apiserver" }));
    this.nodeClient = client;
    const nodes = client.resource<KubeObject>("v1", "nodes");
    let advertised = "";
    const check = async () => {
      const node = await nodes.get(nodeName).catch(() => undefined);
      const status = node?.status as { addresses?: Array<{ type: string; address: string }> } | undefined;
      const ip = status?.addresses?.find((a) => a.type === "InternalIP")?.address;
      if (ip === undefined || ip === "" || ip === advertised) return;
      advertised = ip;
      this.apiserver.advertise(ip, APISERVER_GATEWAY_PORT);
    };
    const tick = () => {
      if (this.stopping) return;
      void check().finally(() => {
        if (!this.stopping) this.nodeAddressTimer = setTimeout(tick, advertised === "" ? 1000 : 10_000);
      });
    };
    tick();
  }

  private async shutdown(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.nodeAddressTimer);
    await Promise.all([...this.workers.values()].map((w) => w.stop()));
    await this.nodeClient?.close();
    await this.apiserver.stop();
  }
}
