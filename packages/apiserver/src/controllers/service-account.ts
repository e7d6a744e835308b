/**
 * The service accounts controller (kube-controller-manager's serviceaccounts controller,
 * pkg/controller/serviceaccount/serviceaccounts_controller.go), in the API server process until
 * the controller manager exists: every Active namespace has a `default` ServiceAccount, created
 * through the normal API, and made again when it is deleted. Terminating namespaces are left
 * alone (a create there is refused anyway).
 */
import type { KindDef } from "@skiff/api";
import type { Logger } from "@skiff/component-base";
import { StatusError } from "../status.js";
import type { Informers } from "./informer.js";
import { type Clock, ControllerLoop, type SyncResult } from "./loop.js";
import type { LoopbackClient } from "./loopback.js";

export const DEFAULT_SERVICE_ACCOUNT = "default";

export interface ServiceAccountsControllerOptions {
  client: LoopbackClient;
  informers: Informers;
  clock: Clock;
  resyncMs?: number;
  log?: Logger;
}

export class ServiceAccountsController {
  readonly loop: ControllerLoop;
  private readonly nsKind: KindDef;
  private readonly saKind: KindDef;

  constructor(private readonly o: ServiceAccountsControllerOptions) {
    this.nsKind = o.client.kind("", "v1", "namespaces");
    this.saKind = o.client.kind("", "v1", "serviceaccounts");
    this.loop = new ControllerLoop({
      name: "serviceaccount",
      sync: (key) => this.sync(key),
      listKeys: async () =>
        (await o.client.list(this.nsKind, undefined)).map((n) => n.metadata.name as string),
      resyncMs: o.resyncMs ?? 300_000,
      workers: 2,
      clock: o.clock,
      log: o.log,
    });
  }

  async start(): Promise<void> {
    const resync = () => void this.loop.relist();
    await this.o.informers.watch(this.nsKind, {
      events: (events) => {
        for (const e of events) if (e.type !== "DELETED") this.loop.add(e.object.metadata.name as string);
      },
      resync,
    });
    await this.o.informers.watch(this.saKind, {
      events: (events) => {
        for (const e of events)
          if (e.type === "DELETED" && e.object.metadata.name === DEFAULT_SERVICE_ACCOUNT)
            this.loop.add(e.object.metadata.namespace as string);
      },
      resync,
    });
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  private async sync(name: string): Promise<SyncResult> {
    const { client } = this.o;
    const ns = await client.find(this.nsKind, undefined, name);
    if (ns === undefined || (ns.status as { phase?: string } | undefined)?.phase !== "Active")
      return undefined;
    if ((await client.find(this.saKind, name, DEFAULT_SERVICE_ACCOUNT)) !== undefined) return undefined;
    try {
      await client.create(this.saKind, name, {
        apiVersion: "v1",
        kind: "ServiceAccount",
        metadata: { name: DEFAULT_SERVICE_ACCOUNT, namespace: name },
      });
    } catch (e) {
      if (e instanceof StatusError && e.reason === "AlreadyExists") return undefined;
      // A namespace that started terminating meanwhile: nothing to do (kube: NamespaceTerminatingCause).
      if (e instanceof StatusError && e.details?.causes?.some((c) => c.reason === "NamespaceTerminating"))
        return undefined;
      throw e;
    }
    return undefined;
  }
}
