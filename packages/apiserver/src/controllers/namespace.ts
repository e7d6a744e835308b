/**
 * The namespace controller (kube-controller-manager's, pkg/controller/namespace), in the API
 * server process until the controller manager exists. For each namespace with a
 * deletionTimestamp: make sure its phase is Terminating, delete its content through the normal
 * API (namespace-deleter.ts), and once nothing remains remove the `kubernetes` finalizer through
 * namespaces/finalize (which removes the namespace when no other finalizer is left). Content
 * still going away (graceful pods, finalizers) brings the namespace back after half kube's
 * estimate; errors are retried with backoff; every namespace is looked at again each resync
 * (kube's --namespace-sync-period, 5 min) and at start, so a deletion cut short by a restart
 * resumes. A delete in a terminating namespace also brings it back at once (kube waits for the
 * estimate).
 */
import type { KindDef, KubeObject } from "@skiff/api";
import type { Logger } from "@skiff/component-base";
import { StatusError } from "../status.js";
import type { Informers } from "./informer.js";
import type { Clock, ControllerLoop, SyncResult } from "./loop.js";
import type { LoopbackClient } from "./loopback.js";
import { FINALIZER_KUBERNETES, NamespaceDeleter } from "./namespace-deleter.js";
import { NamespaceLoop } from "./namespace-loop.js";

type Json = Record<string, unknown>;

export interface NamespaceControllerOptions {
  client: LoopbackClient;
  informers: Informers;
  clock: Clock;
  resyncMs?: number;
  log?: Logger;
}

export class NamespaceController {
  readonly loop: ControllerLoop;
  private readonly keys: NamespaceLoop;
  private readonly nsKind: KindDef;
  private readonly deleter: NamespaceDeleter;
  /** Namespaces seen terminating: a delete of content in one of them brings it back. */
  private readonly terminating = new Set<string>();

  constructor(private readonly o: NamespaceControllerOptions) {
    this.keys = new NamespaceLoop({ name: "namespace", ...o, sync: (key) => this.sync(key) });
    this.loop = this.keys.loop;
    this.nsKind = this.keys.nsKind;
    this.deleter = new NamespaceDeleter(o.client, () => o.clock.now());
  }

  async start(): Promise<void> {
    await this.keys.watchNamespaces();
    for (const k of this.o.client.kinds) {
      if (!k.namespaced) continue;
      await this.o.informers.watch(k, {
        events: (events) => {
          for (const e of events) {
            const ns = e.object.metadata.namespace;
            if (e.type === "DELETED" && ns !== undefined && this.terminating.has(ns)) this.loop.add(ns);
          }
        },
        resync: () => undefined,
      });
    }
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** kube's namespacedResourcesDeleter.Delete. */
  private async sync(name: string): Promise<SyncResult> {
    const { client } = this.o;
    let ns = await client.find(this.nsKind, undefined, name);
    if (ns === undefined || ns.metadata.deletionTimestamp === undefined) {
      this.terminating.delete(name);
      return undefined;
    }
    this.terminating.add(name);
    if ((ns.status as Json | undefined)?.phase !== "Terminating")
      ns = await client.update(
        this.nsKind,
        { ...ns, status: { ...(ns.status as Json), phase: "Terminating" } },
        "status",
      );
    if (finalizersOf(ns).length === 0) return undefined;
    const estimate = await this.deleter.deleteAllContent(ns);
    if (estimate > 0) return { requeueAfterMs: (estimate / 2) * 1000 };
    // Empty: remove our finalizer (retrying on conflict, as kube's retryOnConflictError).
    for (;;) {
      const spec = {
        ...(ns.spec as Json),
        finalizers: finalizersOf(ns).filter((f) => f !== FINALIZER_KUBERNETES),
      };
      try {
        await client.update(this.nsKind, { ...ns, spec }, "finalize");
        return undefined;
      } catch (e) {
        if (e instanceof StatusError && e.code === 404) return undefined;
        if (!(e instanceof StatusError && e.code === 409)) throw e;
      }
      const latest = await client.find(this.nsKind, undefined, name);
      if (latest === undefined) return undefined;
      if (latest.metadata.uid !== ns.metadata.uid)
        throw new Error("namespace uid has changed across retries");
      ns = latest;
    }
  }
}

const finalizersOf = (ns: KubeObject) =>
  ((ns.spec as Json | undefined)?.finalizers as string[] | undefined) ?? [];
