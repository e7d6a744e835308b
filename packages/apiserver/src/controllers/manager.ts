/**
 * The controller the API server runs in its own process, as kube-apiserver does: the
 * `default/kubernetes` Service reconciler (kube-apiserver owns that Service and its endpoints),
 * acting through the loopback client and started once the server knows the address and port it
 * serves on. The namespace, resource quota, service account and root CA controllers are the
 * controller manager's (@skiff/controllers), as in kube. stop() before the server closes (no
 * sync is left running).
 */
import type { Logger } from "@skiff/component-base";
import type { RequestScope } from "../handlers/scope.js";
import { KubernetesServiceController } from "./kubernetes-service.js";
import { type Clock, realClock } from "./loop.js";
import { LoopbackClient } from "./loopback.js";

export interface ControllerOptions {
  scope: RequestScope;
  /** The `kubernetes` Service's cluster IP (the first of the service range). */
  kubernetesServiceIP: string;
  clock?: Clock;
  log?: Logger;
  /** How often the `kubernetes` endpoints are checked (kube: 10 s). */
  endpointIntervalMs?: number;
}

export class InProcessControllers {
  readonly client: LoopbackClient;
  kubernetesService: KubernetesServiceController | undefined;
  private readonly clock: Clock;
  private stopped = false;

  constructor(private readonly o: ControllerOptions) {
    this.clock = o.clock ?? realClock;
    this.client = new LoopbackClient(o.scope);
  }

  /** Starts the `default/kubernetes` reconciler for the address and port the server serves on; later calls move it. */
  advertise(address: string, port: number): void {
    if (this.stopped) return;
    if (this.kubernetesService !== undefined) {
      this.kubernetesService.readvertise(address, port);
      return;
    }
    this.kubernetesService = new KubernetesServiceController({
      client: this.client,
      clock: this.clock,
      clusterIP: this.o.kubernetesServiceIP,
      address,
      port,
      intervalMs: this.o.endpointIntervalMs,
      log: this.o.log,
    });
    this.kubernetesService.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.kubernetesService?.stop();
  }
}
