/**
 * The fabric's routes controller: an informer on Nodes and, on every change, one sync of the
 * node namespace's routes to every other node's pod CIDR (network/fabric.ts). Level-triggered,
 * as flannel's host-gw route manager and kube-controller-manager's route controller: each sync
 * reads every Node from the cache, so a missed event costs nothing; changes arriving together
 * are coalesced into one sync (a short debounce), syncs never overlap, and a failed sync is
 * retried with exponential backoff (client-go's DefaultControllerRateLimiter's per-item shape).
 * A periodic resync repairs routes removed behind the controller's back.
 */
import type { Node } from "@skiff/api";
import { type ClientInterface, Informer } from "@skiff/client";
import type { FabricNode } from "../network/fabric.js";
import type { NetworkLogger } from "../network/logger.js";

/** What the controller drives: NodeFabric, or a fake in unit tests. */
export interface RouteSyncer {
  syncRoutes(nodes: readonly FabricNode[]): Promise<void>;
}

export interface RouteControllerOptions {
  client: ClientInterface;
  fabric: RouteSyncer;
  logger: NetworkLogger;
  /** How long changes are gathered before a sync; default 100 ms. */
  debounceMs?: number;
  /** A full sync this often even without changes; default 30 s (0: never). */
  resyncPeriodMs?: number;
  /** Retry delays after a failed sync: initial and maximum, ms (default 200 and 10 000). */
  backoff?: { initialMs?: number; maxMs?: number };
}

/** A Node as the fabric sees it: spec.podCIDR (the first IPv4 of podCIDRs) and its InternalIP. */
export function fabricNodeOf(node: Node): FabricNode {
  const cidrs = node.spec?.podCIDRs ?? (node.spec?.podCIDR === undefined ? [] : [node.spec.podCIDR]);
  const podCIDR = cidrs.find((c) => !c.includes(":"));
  const internalIP = node.status?.addresses?.find(
    (a) => a.type === "InternalIP" && !a.address.includes(":"),
  )?.address;
  return { name: node.metadata.name, podCIDR, internalIP };
}

export class RouteController {
  private readonly informer: Informer<Node>;
  private readonly o: RouteControllerOptions;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  /** A change arrived during a sync: sync again after it. */
  private dirty = false;
  private failures = 0;
  private stopped = false;
  private started = false;
  /** Completed syncs (for tests and describe()). */
  syncs = 0;

  constructor(opts: RouteControllerOptions) {
    this.o = opts;
    const onChange = () => {
      // Until the first list is complete a sync would remove the routes of nodes not listed yet.
      if (this.informer.hasSynced()) this.schedule(this.o.debounceMs ?? 100);
    };
    this.informer = new Informer<Node>(opts.client.resource<Node>("v1", "nodes"), {
      resyncPeriodMs: opts.resyncPeriodMs ?? 30_000,
      onAdd: onChange,
      onUpdate: (oldNode, newNode) => {
        // Status heartbeats change neither the pod CIDR nor the address: only act on those (or a resync).
        if (oldNode !== newNode && sameFabricNode(fabricNodeOf(oldNode), fabricNodeOf(newNode))) return;
        onChange();
      },
      onDelete: onChange,
      onError: (e) => opts.logger.warn({ err: String(e) }, "nodes informer"),
    });
  }

  /** Starts the informer; the first sync follows the first complete list. Once only. */
  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.informer.start();
    void this.informer.waitForSync().then((ok) => {
      if (ok) this.schedule(0);
    });
  }

  /** Stops the informer and any pending sync; resolves when a sync under way has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    await this.informer.stop();
    await this.running;
  }

  private schedule(delayMs: number): void {
    if (this.stopped || this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.running !== undefined) this.dirty = true;
      else this.running = this.sync().finally(() => this.afterSync());
    }, delayMs);
  }

  private afterSync(): void {
    this.running = undefined;
    if (this.dirty) {
      this.dirty = false;
      this.schedule(0);
    }
  }

  private async sync(): Promise<void> {
    const nodes = this.informer.list().map(fabricNodeOf);
    try {
      await this.o.fabric.syncRoutes(nodes);
      this.failures = 0;
      this.syncs++;
    } catch (e) {
      this.failures++;
      const initial = this.o.backoff?.initialMs ?? 200;
      const delay = Math.min(this.o.backoff?.maxMs ?? 10_000, initial * 2 ** (this.failures - 1));
      this.o.logger.warn({ err: String(e), retryInMs: delay }, "fabric routes sync failed");
      this.schedule(delay);
    }
  }
}

function sameFabricNode(a: FabricNode, b: FabricNode): boolean {
  return a.podCIDR === b.podCIDR && a.internalIP === b.internalIP;
}
