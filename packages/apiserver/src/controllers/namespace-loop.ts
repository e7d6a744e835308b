/**
 * A controller loop keyed by namespace name, as the namespace and service accounts controllers
 * are: every namespace is a key at start and at each resync, and a namespace that is added or
 * changes is queued again.
 */
import type { KindDef } from "@skiff/api";
import type { Logger } from "@skiff/component-base";
import type { Informers } from "./informer.js";
import { type Clock, ControllerLoop, type SyncResult } from "./loop.js";
import type { LoopbackClient } from "./loopback.js";

export interface NamespaceLoopOptions {
  name: string;
  client: LoopbackClient;
  informers: Informers;
  clock: Clock;
  /** Default 5 min (kube's --namespace-sync-period). */
  resyncMs?: number;
  log?: Logger;
  sync(namespace: string): Promise<SyncResult>;
}

export class NamespaceLoop {
  readonly loop: ControllerLoop;
  readonly nsKind: KindDef;

  constructor(private readonly o: NamespaceLoopOptions) {
    const nsKind = o.client.kind("", "v1", "namespaces");
    this.nsKind = nsKind;
    this.loop = new ControllerLoop({
      name: o.name,
      sync: (key) => o.sync(key),
      listKeys: async () => (await o.client.list(nsKind, undefined)).map((n) => n.metadata.name as string),
      resyncMs: o.resyncMs ?? 300_000,
      workers: 2,
      clock: o.clock,
      log: o.log,
    });
  }

  /** Queues each namespace added or changed; a broken feed relists every namespace. */
  watchNamespaces(): Promise<void> {
    return this.o.informers.watch(this.nsKind, {
      events: (events) => {
        for (const e of events) if (e.type !== "DELETED") this.loop.add(e.object.metadata.name as string);
      },
      resync: () => void this.loop.relist(),
    });
  }
}
