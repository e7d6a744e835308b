/**
 * The namespace controller (kube's pkg/controller/namespace/namespace_controller.go): a namespace
 * with a deletionTimestamp is queued (after a short grace period, for the API servers' lifecycle
 * admission to see the deletion too), and each pass of the deleter (deleter.ts) empties it
 * through the API; content still going away brings it back after half kube's estimate plus one
 * second, an error with the rate limiter's backoff (5 ms doubling to 60 s, 10 qps overall, as
 * kube's nsControllerRateLimiter). Every namespace is looked at again each
 * --namespace-sync-period. Beyond kube, the deletion of a pod in a terminating namespace queues
 * the namespace at once (pods being the usual wait, and the shared pod informer being there
 * anyway), instead of waiting out the pods' grace-period estimate.
 */

import type { Clock } from "@skiff/client";
import {
  BucketRateLimiter,
  type Informer,
  ItemExponentialFailureRateLimiter,
  MaxOfRateLimiter,
  type RateLimiter,
  type TimerHandle,
} from "@skiff/client";
import type { ControllerContext } from "../context.js";
import { deletedObject, QueueController } from "../controller.js";
import type { NamespaceDeleterApi } from "./api.js";
import { NamespacedResourcesDeleter, ResourcesRemainingError } from "./deleter.js";
import type { Namespace } from "./types.js";

/**
 * kube's namespaceDeletionGracePeriod (5 s there): how long a namespace event waits, so that
 * every API server's NamespaceLifecycle admission refuses new content before the namespace is
 * emptied. Skiff's API servers read namespaces from a watch cache that follows the store within
 * milliseconds, so a shorter wait gives the same guarantee.
 */
export const NAMESPACE_DELETION_GRACE_PERIOD_MS = 1000;

export interface NamespaceControllerOptions {
  api: NamespaceDeleterApi;
  /** Default NAMESPACE_DELETION_GRACE_PERIOD_MS. */
  deletionGracePeriodMs?: number;
  /** Default "kubernetes". */
  finalizerToken?: string;
  /** Resources emptied at once by one pass. */
  parallelism?: number;
}

/** kube's nsControllerRateLimiter: retry at least every minute, 10 qps (burst 100) overall. */
export function nsControllerRateLimiter(clock: Clock): RateLimiter<string> {
  return new MaxOfRateLimiter<string>(
    new ItemExponentialFailureRateLimiter<string>(5, 60_000),
    new BucketRateLimiter<string>(10, 100, clock),
  );
}

export class NamespaceController extends QueueController {
  readonly deleter: NamespacedResourcesDeleter;
  private readonly namespaces: Informer<Namespace>;
  private readonly gracePeriodMs: number;

  constructor(ctx: ControllerContext, o: NamespaceControllerOptions) {
    super("namespace-controller", ctx, {
      queueName: "namespace",
      rateLimiter: nsControllerRateLimiter(ctx.clock),
    });
    this.gracePeriodMs = o.deletionGracePeriodMs ?? NAMESPACE_DELETION_GRACE_PERIOD_MS;
    this.deleter = new NamespacedResourcesDeleter({
      client: ctx.client,
      api: o.api,
      clock: ctx.clock,
      ...(o.finalizerToken === undefined ? {} : { finalizerToken: o.finalizerToken }),
      ...(o.parallelism === undefined ? {} : { parallelism: o.parallelism }),
    });
    this.namespaces = ctx.informers.informerFor<Namespace>("v1", "namespaces");
    this.namespaces.addEventHandler({
      onAdd: (ns) => this.enqueueNamespace(ns),
      onUpdate: (_old, ns) => this.enqueueNamespace(ns),
    });
    ctx.informers.informerFor("v1", "pods").addEventHandler({
      onDelete: (pod, tombstone) => {
        const name = deletedObject(pod, tombstone).metadata.namespace;
        const ns = name === undefined ? undefined : this.namespaces.get(name);
        if (ns?.metadata.deletionTimestamp !== undefined) this.queue.add(name as string);
      },
    });
  }

  /** kube's enqueueNamespace: only namespaces being deleted, after the grace period. */
  enqueueNamespace(ns: Namespace): void {
    if (ns.metadata.deletionTimestamp === undefined) return;
    this.queue.addAfter(ns.metadata.name as string, this.gracePeriodMs);
  }

  /** Runs the workers, and the resync of every namespace each --namespace-sync-period. */
  override async run(workers: number, signal: AbortSignal): Promise<void> {
    const period = this.ctx.config.namespaceSyncPeriodMs;
    let timer: TimerHandle | undefined;
    const resync = () => {
      for (const ns of this.namespaces.list()) this.enqueueNamespace(ns);
      timer = this.ctx.clock.setTimeout(resync, period);
    };
    if (period > 0) timer = this.ctx.clock.setTimeout(resync, period);
    try {
      await super.run(workers, signal);
    } finally {
      if (timer !== undefined) this.ctx.clock.clearTimeout(timer);
    }
  }

  /** kube's syncNamespaceFromKey; content remaining comes back after estimate/2 + 1 s. */
  async sync(key: string): Promise<void> {
    if (this.namespaces.get(key) === undefined) return;
    try {
      await this.deleter.delete(key);
    } catch (e) {
      if (!(e instanceof ResourcesRemainingError)) throw e;
      this.log.debug(
        { controller: this.name, namespace: key, estimate: e.estimate },
        "content remaining in namespace",
      );
      this.queue.addAfter(key, (Math.floor(e.estimate / 2) + 1) * 1000);
    }
  }
}
