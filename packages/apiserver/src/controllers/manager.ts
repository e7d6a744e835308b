/**
 * The controllers the API server runs in its own process for now (the controller manager issue
 * moves the first three out): namespace, resource quota and service accounts, which act through
 * the loopback client, and kube-apiserver's own `default/kubernetes` Service reconciler, started
 * once the server knows the address and port it serves on. start() after the watch cache is
 * loaded; stop() before the server closes (no sync is left running).
 */
import type { Logger } from "@skiff/component-base";
import type { RequestScope } from "../handlers/scope.js";
import type { QuotaUsage } from "../registry/quota-usage.js";
import { Informers } from "./informer.js";
import { KubernetesServiceController } from "./kubernetes-service.js";
import { type Clock, realClock } from "./loop.js";
import { LoopbackClient } from "./loopback.js";
import { NamespaceController } from "./namespace.js";
import { ResourceQuotaController } from "./resource-quota.js";
import { ServiceAccountsController } from "./service-account.js";

export interface ControllerOptions {
  scope: RequestScope;
  quotaUsage: QuotaUsage;
  /** The `kubernetes` Service's cluster IP (the first of the service range). */
  kubernetesServiceIP: string;
  clock?: Clock;
  log?: Logger;
  /** Resync periods (kube's defaults: 5 min each). */
  namespaceSyncMs?: number;
  quotaSyncMs?: number;
  serviceAccountSyncMs?: number;
  /** How often the `kubernetes` endpoints are checked (kube: 10 s). */
  endpointIntervalMs?: number;
}

export class InProcessControllers {
  readonly client: LoopbackClient;
  readonly namespaces: NamespaceController;
  readonly quotas: ResourceQuotaController;
  readonly serviceAccounts: ServiceAccountsController;
  kubernetesService: KubernetesServiceController | undefined;
  private readonly informers: Informers;
  private readonly clock: Clock;
  private stopped = false;

  constructor(private readonly o: ControllerOptions) {
    this.clock = o.clock ?? realClock;
    this.client = new LoopbackClient(o.scope);
    this.informers = new Informers(o.scope.cache, this.clock);
    const common = { client: this.client, informers: this.informers, clock: this.clock, log: o.log };
    this.namespaces = new NamespaceController({ ...common, resyncMs: o.namespaceSyncMs });
    this.quotas = new ResourceQuotaController({
      ...common,
      cache: o.scope.cache,
      usage: o.quotaUsage,
      resyncMs: o.quotaSyncMs,
    });
    this.serviceAccounts = new ServiceAccountsController({ ...common, resyncMs: o.serviceAccountSyncMs });
  }

  async start(): Promise<void> {
    await this.namespaces.start();
    await this.quotas.start();
    await this.serviceAccounts.start();
  }

  /** Starts the `default/kubernetes` reconciler for the address and port the server serves on. */
  advertise(address: string, port: number): void {
    if (this.stopped || this.kubernetesService !== undefined) return;
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
    this.informers.stop();
    await Promise.all([
      this.namespaces.stop(),
      this.quotas.stop(),
      this.serviceAccounts.stop(),
      this.kubernetesService?.stop(),
    ]);
  }
}
