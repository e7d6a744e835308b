/**
 * A control-plane component of `skiff server` in a worker thread (the scheduler, the controller
 * manager): its work runs on its own core instead of between the API server's requests
 * (measured in docs/benchmarks.md). It talks to the API server over HTTPS like any client; the
 * parent asks it to stop and for its metrics text, and hears when it loses its lease.
 */
import { parentPort, workerData } from "node:worker_threads";
import type { Component } from "@skiff/component-base";
import type { Registry } from "prom-client";

export interface LeaderElectionData {
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  namespace: string;
  name: string;
  identity: string;
}

export interface ComponentWorkerData {
  kind: "scheduler" | "controller-manager" | "agent";
  client: { server: string; ca: string; cert: string; key: string };
  /** The scheduler's and the controller manager's Lease (the agent elects nothing). */
  leaderElection?: LeaderElectionData;
  /** The component's own flags (`--kube-controller-manager-arg`, `--kubelet-arg` values), parsed in the worker. */
  args: string[];
  /** The embedded agent's identity: its serving certificate, signed by the cluster CA. */
  agent?: {
    servingCert: { cert: string; key: string };
    /** kube-proxy's flags (--kube-proxy-arg values) and the node agent's --disable-* switches. */
    kubeProxyArgs: string[];
    kubeProxy: boolean;
    clusterDns: boolean;
  };
}

export type FromWorker =
  | { type: "ready" }
  | { type: "failed"; message: string }
  | { type: "lost" }
  | { type: "metrics"; id: number; text: string }
  | { type: "stopped" };

export type ToWorker = { type: "stop" } | { type: "metrics"; id: number };

interface Built {
  component: Component & { metrics: Registry };
  lost: Promise<void>;
}

async function build(data: ComponentWorkerData): Promise<Built> {
  if (data.kind === "agent") {
    const [{ parseAgentFlags }, { nodeAgent }] = await Promise.all([
      import("@skiff/kubelet"),
      import("./node-agent.js"),
    ]);
    // The server names the node and its data directory; --kubelet-arg values come last and win.
    const o = parseAgentFlags(data.args, { embedded: true });
    const c = await nodeAgent({
      kubelet: { ...o, client: data.client, clientCA: data.client.ca, servingCert: data.agent?.servingCert },
      kubeProxyArgs: data.agent?.kubeProxyArgs ?? [],
      kubeProxy: data.agent?.kubeProxy ?? true,
      clusterDns: data.agent?.clusterDns ?? true,
    });
    return { component: c, lost: new Promise(() => undefined) };
  }
  const le = data.leaderElection;
  if (le === undefined) throw new Error(`${data.kind}: no leader election settings`);
  if (data.kind === "scheduler") {
    const { parseSchedulerConfig, SchedulerComponent } = await import("@skiff/scheduler");
    const c = new SchedulerComponent({
      client: data.client,
      config: parseSchedulerConfig(undefined),
      leaderElection: le,
    });
    return { component: c, lost: c.lost };
  }
  const { ControllerManagerComponent, parseControllerManagerArgs } = await import("@skiff/controllers");
  const o = parseControllerManagerArgs(data.args);
  const c = new ControllerManagerComponent({
    client: data.client,
    controllers: o.controllers,
    config: { ...o.config, rootCaPem: o.config.rootCaPem === "" ? data.client.ca : o.config.rootCaPem },
    leaderElection: { ...le, ...o.leaderElection, identity: le.identity },
  });
  return { component: c, lost: c.lost };
}

const port = parentPort;
if (port === null) throw new Error("component-worker: not in a worker thread");
const data = workerData as ComponentWorkerData;
const post = (m: FromWorker) => port.postMessage(m);
try {
  const { component, lost } = await build(data);
  port.on("message", (m: ToWorker) => {
    if (m.type === "metrics")
      void component.metrics.metrics().then((text) => post({ type: "metrics", id: m.id, text }));
    else if (m.type === "stop")
      void component.stop().finally(() => {
        post({ type: "stopped" });
        port.close();
      });
  });
  void lost.then(() => post({ type: "lost" }));
  await component.start();
  await component.ready;
  post({ type: "ready" });
} catch (e) {
  post({ type: "failed", message: e instanceof Error ? e.message : String(e) });
}
