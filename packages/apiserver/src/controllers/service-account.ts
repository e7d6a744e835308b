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
import type { Clock, ControllerLoop, SyncResult } from "./loop.js";
import type { LoopbackClient } from "./loopback.js";
import { NamespaceLoop } from "./namespace-loop.js";

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
  private readonly keys: NamespaceLoop;
  private readonly nsKind: KindDef;
  private readonly saKind: KindDef;

  constructor(private readonly o: ServiceAccountsControllerOptions) {
    this.keys = new NamespaceLoop({ name: "serviceaccount", ...o, sync: (key) => this.sync(key) });
    this.loop = this.keys.loop;
    this.nsKind = this.keys.nsKind;
    this.saKind = o.client.kind("", "v1", "serviceaccounts");
  }

  async start(): Promise<void> {
    const resync = () => void this.loop.relist();
    await this.keys.watchNamespaces();
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
