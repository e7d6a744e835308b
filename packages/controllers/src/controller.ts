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
    await runWorkers(this.queue, Math.max(1, workers), signal, () => this.processNextWorkItem());
  }

  /** Processes one key; exposed for tests that drive the queue by hand. */
  processNextWorkItem(): Promise<boolean> {
    return processNextWorkItem(
      this.queue,
      (key) => this.sync(key),
      (key, e, dropped) => {
        const err = e instanceof Error ? e.message : String(e);
        if (dropped)
          this.log.warn({ controller: this.name, key, err }, "retry budget exceeded, dropping the key");
        else this.log.warn({ controller: this.name, key, err }, "error syncing; requeuing with backoff");
      },
      this.maxRetries,
    );
  }
}

/**
 * client-go's processNextWorkItem, for a controller's main queue and the extra ones some have
 * (orphan pods, stale conditions, missing usage): one key through `sync`; its backoff forgotten
 * when the sync returns, the key requeued with backoff when it throws (`onError` says why, in the
 * controller's words), or forgotten once it has failed `maxRetries` times in a row. False once
 * the queue is shut down and drained.
 */
export async function processNextWorkItem(
  queue: RateLimitingQueue<string>,
  sync: (key: string) => Promise<void>,
  onError: (key: string, err: unknown, dropped: boolean) => void,
  maxRetries = Number.POSITIVE_INFINITY,
): Promise<boolean> {
  const key = await queue.get();
  if (key === undefined) return false;
  try {
    await sync(key);
    queue.forget(key);
  } catch (e) {
    const dropped = queue.numRequeues(key) >= maxRetries;
    onError(key, e, dropped);
    if (dropped) queue.forget(key);
    else queue.addRateLimited(key);
  } finally {
    queue.done(key);
  }
  return true;
}

/**
 * `workers` loops of `processNext` until it returns false (kube's `go wait.Until(worker, ...)`
 * per worker), with the queue shut down when `signal` aborts so that they end; resolves once
 * every loop has finished its current item.
 */
export async function runWorkers(
  queue: { shutDown(): void },
  workers: number,
  signal: AbortSignal,
  processNext: () => Promise<boolean>,
): Promise<void> {
  const stop = () => queue.shutDown();
  if (signal.aborted) stop();
  else signal.addEventListener("abort", stop, { once: true });
  const loop = async () => {
    while (await processNext()) {
      // next item
    }
  };
  await Promise.all(Array.from({ length: workers }, loop));
}

/** The object of a delete notification: the object itself, or the tombstone's last known state. */
export function deletedObject<T extends KubeObject>(obj: T, tombstone?: DeletedFinalStateUnknown<T>): T {
  return tombstone?.obj ?? obj;
}
