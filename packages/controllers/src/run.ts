/**
 * Runs a set of controllers on one context (what the manager does once it leads): build them all
 * (each registers its informers), start the shared informers, wait for every cache, then run each
 * controller's workers until the signal aborts.
 */

import { concurrencyOf } from "./config.js";
import type { ControllerContext } from "./context.js";
import type { Controller } from "./controller.js";
import type { ControllerDescriptor } from "./registry.js";

export interface StartedControllers {
  readonly controllers: ReadonlyMap<string, Controller>;
  /** Resolves when every controller's workers have stopped (after the signal aborts). */
  readonly done: Promise<void>;
}

export async function startControllers(
  ctx: ControllerContext,
  descriptors: readonly ControllerDescriptor[],
  signal: AbortSignal,
): Promise<StartedControllers> {
  const controllers = new Map<string, Controller>();
  const workers = new Map<string, number>();
  for (const d of descriptors) {
    const c = d.init(ctx);
    if (c === undefined) {
      ctx.log.info({ controller: d.name }, "controller not started");
      continue;
    }
    controllers.set(d.name, c);
    workers.set(d.name, d.concurrencyKey === undefined ? 1 : concurrencyOf(ctx.config, d.concurrencyKey));
  }
  ctx.informers.start();
  await ctx.informers.waitForCacheSync(signal);
  const runs: Promise<void>[] = [];
  for (const [name, c] of controllers) {
    if (signal.aborted) break;
    ctx.log.info({ controller: name }, "starting controller");
    runs.push(c.run(workers.get(name) ?? 1, signal));
  }
  return { controllers, done: Promise.all(runs).then(() => undefined) };
}
