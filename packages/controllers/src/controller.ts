/**
 * The shape of every controller (client-go's sample controller): event handlers put keys on a
 * deduplicating rate-limited work queue, workers take one key at a time and call `sync(key)`,
 * which reads desired and actual state from the informer caches and makes one step. A sync that
 * throws requeues its key with per-item exponential backoff (never drops it, never exits);
 * one that returns forgets the key's backoff.
 */

import type { KubeObject } from "@skiff/api";
import { type DeletedFinalStateUnknown, keyOf, type RateLimiter, RateLimitingQueue } from "@skiff/client";
import type { Logger } from "@skiff/component-base";
import type { ControllerContext } from "./context.js";

export interface Controller {
  /** kube's controller name, e.g. "deployment-controller". */
  readonly name: string;
  /**
   * Runs `workers` workers (after the manager has synced the informer caches) until `signal`
   * aborts; resolves once every worker has finished its current key.
   */
  run(workers: number, signal: AbortSignal): Promise<void>;
}

export interface QueueControllerOptions {
  /** The work queue's name (the `name` label of workqueue_* metrics), kube's: e.g. "deployment". */
  queueName: string;
  rateLimiter?: RateLimiter<string>;
  /**
   * A key that failed this many times in a row is dropped (forgotten) instead of requeued, as
   * the endpoint controllers' maxRetries; unset: requeued for ever. An event for it queues it again.
   */
  maxRetries?: number;
}

export abstract class QueueController implements Controller {
  readonly queue: RateLimitingQueue<string>;
  protected readonly log: Logger;
  private readonly maxRetries: number;

  constructor(
    readonly name: string,
    protected readonly ctx: ControllerContext,
    opts: QueueControllerOptions,
  ) {
    this.queue = new RateLimitingQueue<string>({
      name: opts.queueName,
      clock: ctx.clock,
      registry: ctx.metrics,
      ...(opts.rateLimiter === undefined ? {} : { rateLimiter: opts.rateLimiter }),
    });
    this.log = ctx.log;
    this.maxRetries = opts.maxRetries ?? Number.POSITIVE_INFINITY;
  }

  /** One step toward the desired state of the object with this key; throw to retry with backoff. */
  abstract sync(key: string): Promise<void>;

  /** Queues an object's namespace/name key. */
  enqueue(obj: KubeObject): void {
    this.queue.add(keyOf(obj));
  }

  /** Queues an object's key after `ms` (e.g. to recheck once minReadySeconds have passed). */
  enqueueAfter(obj: KubeObject, ms: number): void {
    this.queue.addAfter(keyOf(obj), ms);
  }

  async run(workers: number, signal: AbortSignal): Promise<void> {
    const stop = () => this.queue.shutDown();
    if (signal.aborted) stop();
    else signal.addEventListener("abort", stop, { once: true });
    const loops: Promise<void>[] = [];
    for (let i = 0; i < Math.max(1, workers); i++) loops.push(this.worker());
    await Promise.all(loops);
  }

  /** Processes one key; exposed for tests that drive the queue by hand. */
  async processNextWorkItem(): Promise<boolean> {
    const key = await this.queue.get();
    if (key === undefined) return false;
    try {
      await this.sync(key);
      this.queue.forget(key);
    } catch (e) {
      const err = e instanceof Error ? e.message : String(e);
      if (this.queue.numRequeues(key) < this.maxRetries) {
        this.log.warn({ controller: this.name, key, err }, "error syncing; requeuing with backoff");
        this.queue.addRateLimited(key);
      } else {
        this.log.warn({ controller: this.name, key, err }, "retry budget exceeded, dropping the key");
        this.queue.forget(key);
      }
    } finally {
      this.queue.done(key);
    }
    return true;
  }

  private async worker(): Promise<void> {
    while (await this.processNextWorkItem()) {
      // next key
    }
  }
}

/** The object of a delete notification: the object itself, or the tombstone's last known state. */
export function deletedObject<T extends KubeObject>(obj: T, tombstone?: DeletedFinalStateUnknown<T>): T {
  return tombstone?.obj ?? obj;
}
