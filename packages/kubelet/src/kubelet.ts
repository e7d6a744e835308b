/**
 * The kubelet (`skiff agent`): one node's agent. It registers the Node, renews its Lease, and
 * runs the pods bound to it on containerd through `ctr`, each in its own network namespace wired
 * by the CNI bridge plugin inside the node's namespace `skiff-<node>` (or the host's with
 * --host-network), with probes, logs, exec and the kubelet's HTTPS API for the API server.
 * Stopping it leaves running pods running (as a kubelet restart does): a new agent adopts them.
 */
import { type Component, Health, once, Readiness } from "@skiff/component-base";
import { Registry } from "prom-client";
import type { AgentOptions } from "./options.js";

export class Kubelet implements Component {
  readonly name = "kubelet";
  readonly health = new Health();
  readonly metrics = new Registry();
  readonly stop: () => Promise<void>;
  private readonly readiness = new Readiness();

  constructor(readonly options: AgentOptions) {
    this.stop = once(() => this.shutdown());
  }

  get ready(): Promise<void> {
    return this.readiness.promise;
  }

  describe(): Record<string, unknown> {
    return { node: this.options.nodeName, dataDir: this.options.dataDir };
  }

  async start(): Promise<void> {
    this.readiness.reject(new Error("kubelet: not wired yet"));
  }

  private async shutdown(): Promise<void> {}
}
